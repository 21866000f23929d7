"""A link request that fails is put off, twice as long each time, instead of taken every pass.

Revision ID: 0018_link_request_retries
Revises: 0017_link_requests
Create Date: 2026-12-01 01:10:00

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0018_link_request_retries'
down_revision = '0017_link_requests'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('link_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(
            sa.Column('next_attempt_at', roi.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('link_requests', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
