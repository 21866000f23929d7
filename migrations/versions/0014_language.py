"""Languages and time zones: the language a person or client picked and the one a release is
written in; the practice's time zone and a person's or client's own.

Revision ID: 0014_language
Revises: 0013_paper
Create Date: 2026-11-30 03:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_language'
down_revision = '0013_paper'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))


def downgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
        batch_op.drop_column('language')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
        batch_op.drop_column('language')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
