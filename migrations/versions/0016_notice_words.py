"""Notices keep their words as a catalogue message, so a page in another language shows them in it.

Revision ID: 0016_notice_words
Revises: 0015_message_drafts
Create Date: 2026-11-30 05:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016_notice_words'
down_revision = '0015_message_drafts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('words', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications') as batch:
        batch.drop_column('words')
