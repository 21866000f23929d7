"""Message drafts: a message kept while its author creates the release it needs (sealed).

Revision ID: 0015_message_drafts
Revises: 0014_language
Create Date: 2026-11-30 04:00:00

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0015_message_drafts'
down_revision = '0014_language'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'message_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('recipient_provider_id', sa.Integer(), nullable=True),
        sa.Column('reply_to_id', sa.Integer(), nullable=True),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('purpose', sa.String(length=60), nullable=False),
        sa.Column('subject_sealed', sa.LargeBinary(), nullable=False),
        sa.Column('body_sealed', sa.LargeBinary(), nullable=False),
        sa.Column('saved_at', roi.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_message_drafts_client_id_clients')),
        sa.ForeignKeyConstraint(['recipient_provider_id'], ['providers.id'], name=op.f('fk_message_drafts_recipient_provider_id_providers')),
        sa.ForeignKeyConstraint(['reply_to_id'], ['messages.id'], name=op.f('fk_message_drafts_reply_to_id_messages')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_drafts_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_drafts')),
        sa.UniqueConstraint('user_id', 'client_id', name=op.f('uq_message_drafts_user_id')),
        sa.UniqueConstraint('uuid', name=op.f('uq_message_drafts_uuid')),
    )
    with op.batch_alter_table('message_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_drafts_client_id'), ['client_id'], unique=False)


def downgrade():
    with op.batch_alter_table('message_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_drafts_client_id'))
    op.drop_table('message_drafts')
