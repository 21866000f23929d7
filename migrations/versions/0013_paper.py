"""Paper trail: revocations received outside roi (the day received, the sealed scan), and
emailed links to a signed release (the signer's copy, revoking it) beside signing links.

Revision ID: 0013_paper
Revises: 0012_inoffice
Create Date: 2026-11-30 00:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_paper'
down_revision = '0012_inoffice'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_revocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('document_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('document_content_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('confirmed_on', sa.Date(), nullable=True))
    with op.batch_alter_table('signing_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.Enum('sign', 'signed', name='linkpurpose', native_enum=False, length=10), server_default='sign', nullable=False))


def downgrade():
    with op.batch_alter_table('signing_invitations', schema=None) as batch_op:
        batch_op.drop_column('purpose')

    with op.batch_alter_table('consent_revocations', schema=None) as batch_op:
        batch_op.drop_column('confirmed_on')
        batch_op.drop_column('document_content_type')
        batch_op.drop_column('document_sealed')
        batch_op.drop_column('received_on')
