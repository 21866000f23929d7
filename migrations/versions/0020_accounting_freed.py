"""An accounting request made free by the withdrawal of the free one keeps which one freed it and
the fee it carried until then, so its page, the client's portal and the API can say so (and that
a fee the client had agreed to is owed back).

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


def downgrade():
    with op.batch_alter_table('accounting_requests', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_accounting_requests_freed_by_id_accounting_requests'),
            type_='foreignkey',
        )
        batch_op.drop_column('fee_dropped_cents')
        batch_op.drop_column('freed_by_id')
