"""Each client's restriction mark: whether they have asked for any restriction, kept where a send
locks it, so a send about a client who has none reads no restriction. Clients of today get theirs
now; new ones with their first send or restriction.

Revision ID: 0021_restriction_marks
Revises: 0020_accounting_freed
Create Date: 2026-12-01 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021_restriction_marks'
down_revision = '0020_accounting_freed'
branch_labels = None
depends_on = None


def upgrade():
    marks = op.create_table(
        'restriction_marks',
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('restricted', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ['client_id'], ['clients.id'], name=op.f('fk_restriction_marks_client_id_clients')
        ),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_restriction_marks')),
    )
    clients = sa.table('clients', sa.column('id', sa.Integer))
    restrictions = sa.table('restrictions', sa.column('client_id', sa.Integer))
    asked = sa.select(restrictions.c.client_id).where(
        restrictions.c.client_id == clients.c.id
    ).exists()
    op.execute(
        marks.insert().from_select(['client_id', 'restricted'], sa.select(clients.c.id, asked))
    )


def downgrade():
    op.drop_table('restriction_marks')
