"""Expiry events roi sees (once, end of treatment), the right signer, the client's share requests.

Revision ID: 0007_signer
Revises: 0006
Create Date: 2026-11-30 00:40:00

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0007_signer'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_representatives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('guardian', 'other', name='representativekind', native_enum=False, length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('document_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('document_type', sa.String(length=40), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_representatives_client_id_clients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_client_representatives_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_representatives')),
    sa.UniqueConstraint('uuid', name=op.f('uq_client_representatives_uuid'))
    )
    with op.batch_alter_table('client_representatives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_representatives_client_id'), ['client_id'], unique=False)
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=2), nullable=True))
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expiry_event_kind', sa.Enum('after_first_disclosure', 'end_of_treatment', 'other', name='expiryeventkind', native_enum=False, length=30), nullable=True))
        batch_op.add_column(sa.Column('required_signer', sa.Enum('client', 'representative', 'client_or_representative', name='requiredsigner', native_enum=False, length=30), nullable=True))
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discharged_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('own_care_consent', sa.Boolean(), nullable=False, server_default=sa.false()))
    # releases written before the kinds existed carry a hand-recorded event, if any
    op.execute("UPDATE consents SET expiry_event_kind = 'other' WHERE expiry_event IS NOT NULL")


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('own_care_consent')
        batch_op.drop_column('discharged_on')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_column('required_signer')
        batch_op.drop_column('expiry_event_kind')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('state')
    with op.batch_alter_table('client_representatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_representatives_client_id'))
    op.drop_table('client_representatives')
