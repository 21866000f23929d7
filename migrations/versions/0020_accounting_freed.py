"""An accounting request made free by the withdrawal of the free one keeps which one freed it and
the fee it carried until then, so its page, the client's portal and the API can say so (and that
a fee the client had agreed to is owed back). Requests freed before this revision get both from
their `accounting.freed` audit entries.

Revision ID: 0020_accounting_freed
Revises: 0019_outside_part2
Create Date: 2026-12-01 08:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_accounting_freed'
down_revision = '0019_outside_part2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounting_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('freed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fee_dropped_cents', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_accounting_requests_freed_by_id_accounting_requests'),
            'accounting_requests',
            ['freed_by_id'],
            ['id'],
        )
    entries = sa.table(
        'audit_entries', sa.column('action', sa.String), sa.column('detail', sa.JSON)
    )
    requests = sa.table(
        'accounting_requests',
        sa.column('id', sa.Integer),
        sa.column('freed_by_id', sa.Integer),
        sa.column('fee_dropped_cents', sa.Integer),
    )
    connection = op.get_bind()
    freed = connection.execute(
        sa.select(entries.c.detail).where(entries.c.action == 'accounting.freed')
    ).scalars()
    for detail in list(freed):
        connection.execute(
            requests.update()
            .where(requests.c.id == detail['accounting_request_id'])
            .values(
                freed_by_id=detail['withdrawn_request_id'],
                fee_dropped_cents=detail.get('fee_cents'),
            )
        )


def downgrade():
    with op.batch_alter_table('accounting_requests', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_accounting_requests_freed_by_id_accounting_requests'),
            type_='foreignkey',
        )
        batch_op.drop_column('fee_dropped_cents')
        batch_op.drop_column('freed_by_id')
