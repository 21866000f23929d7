"""Expiry events roi sees (once, end of treatment), the right signer, the client's share requests.

Revision ID: 0007_signer
Revises: 0006
Create Date: 2026-11-30 00:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_signer'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expiry_event_kind', sa.Enum('after_first_disclosure', 'end_of_treatment', 'other', name='expiryeventkind', native_enum=False, length=30), nullable=True))
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discharged_on', sa.Date(), nullable=True))
    # releases written before the kinds existed carry a hand-recorded event, if any
    op.execute("UPDATE consents SET expiry_event_kind = 'other' WHERE expiry_event IS NOT NULL")


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('discharged_on')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_column('expiry_event_kind')
