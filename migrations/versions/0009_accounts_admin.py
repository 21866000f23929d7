"""Password links (reset and invitation), the browser of each session for "Your sessions", and
directory entries an admin can disable.

Revision ID: 0009_accounts_admin
Revises: 0008_disclosures
Create Date: 2026-11-30 00:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0009_accounts_admin'
down_revision = '0008_disclosures'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('password_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('created_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_links_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_links')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_password_links_token_sha256'))
    )
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_links_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=True))

    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('active')

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('user_agent')

    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_links_user_id'))

    op.drop_table('password_links')
