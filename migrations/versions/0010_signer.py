"""Expiry events roi sees (once, end of treatment), the right signer, the client's share requests.

Revision ID: 0010_signer
Revises: 0009_accounts_admin
Create Date: 2026-11-30 00:40:00

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0010_signer'
down_revision = '0009_accounts_admin'
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
    # Columns of existing tables are added and dropped in place (ALTER TABLE, SQLite 3.35+), not
    # by batch mode's rebuild: rebuilding a table that other tables' rows reference breaks them.
    op.add_column('organizations', sa.Column('state', sa.String(length=2), nullable=True))
    op.create_table('share_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('provider_name', sa.String(length=200), nullable=True),
    sa.Column('provider_address', sa.Text(), nullable=True),
    sa.Column('note_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.Enum('open', 'prepared', name='sharerequeststatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('prepared_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_share_requests_client_id_clients')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_share_requests_organization_id_organizations')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_share_requests_provider_id_providers')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_share_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_requests')),
    sa.UniqueConstraint('uuid', name=op.f('uq_share_requests_uuid'))
    )
    with op.batch_alter_table('share_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_requests_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_requests_organization_id'), ['organization_id'], unique=False)
    op.add_column('consents', sa.Column('expiry_event_kind', sa.Enum('after_first_disclosure', 'end_of_treatment', 'other', name='expiryeventkind', native_enum=False, length=30), nullable=True))
    op.add_column('consents', sa.Column('share_request_id', sa.Integer(), nullable=True))
    op.add_column('consents', sa.Column('required_signer', sa.Enum('client', 'representative', 'client_or_representative', name='requiredsigner', native_enum=False, length=30), nullable=True))
    op.add_column('clients', sa.Column('discharged_on', sa.Date(), nullable=True))
    op.add_column('clients', sa.Column('own_care_consent', sa.Boolean(), nullable=False, server_default=sa.false()))
    # releases written before the kinds existed carry a hand-recorded event, if any
    op.execute("UPDATE consents SET expiry_event_kind = 'other' WHERE expiry_event IS NOT NULL")


def downgrade():
    for table, column in (
        ('clients', 'own_care_consent'),
        ('clients', 'discharged_on'),
        ('consents', 'required_signer'),
        ('consents', 'share_request_id'),
        ('consents', 'expiry_event_kind'),
        ('organizations', 'state'),
    ):
        op.drop_column(table, column)
    with op.batch_alter_table('share_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_requests_organization_id'))
        batch_op.drop_index(batch_op.f('ix_share_requests_client_id'))
    op.drop_table('share_requests')
    with op.batch_alter_table('client_representatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_representatives_client_id'))
    op.drop_table('client_representatives')
