"""Signers' requests for their links are kept for the worker to answer.

Revision ID: 0017_link_requests
Revises: 0016_notice_words
Create Date: 2026-11-30 20:30:00

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0017_link_requests'
down_revision = '0016_notice_words'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'link_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('created_at', roi.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('request_sealed', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_requests')),
        sa.UniqueConstraint('uuid', name=op.f('uq_link_requests_uuid')),
    )


def downgrade():
    op.drop_table('link_requests')
