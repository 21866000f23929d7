"""In-office signing: a release handed to the client on the clinician's device.

Revision ID: 0012_inoffice
Revises: 0011_emergency
Create Date: 2026-11-30 01:30:00

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0012_inoffice'
down_revision = '0011_emergency'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('clinician_user_id', sa.Integer(), nullable=False),
    sa.Column('started_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('birth_date_failures', sa.Integer(), nullable=False),
    sa.Column('birth_date_confirmed_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_because', sa.String(length=20), nullable=True),
    sa.Column('signed_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinician_user_id'], ['users.id'], name=op.f('fk_device_handovers_clinician_user_id_users')),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], name=op.f('fk_device_handovers_consent_id_consents')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_device_handovers_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_handovers'))
    )
    op.create_index(op.f('ix_device_handovers_consent_id'), 'device_handovers', ['consent_id'], unique=False)
    op.create_index(op.f('ix_device_handovers_session_id'), 'device_handovers', ['session_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_device_handovers_session_id'), table_name='device_handovers')
    op.drop_index(op.f('ix_device_handovers_consent_id'), table_name='device_handovers')
    op.drop_table('device_handovers')
