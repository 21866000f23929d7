"""Second factors: authenticator secrets, recovery codes, passkeys, half-signed-in sessions, and the
practice setting "second factor required for staff" (on for existing practices too).

Revision ID: 0007_mfa
Revises: 0006
Create Date: 2026-11-30 00:45:00

"""
import sqlalchemy as sa
from alembic import op

import roi.db


# revision identifiers, used by Alembic.
revision = '0007_mfa'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('totp_credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('confirmed_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.Integer(), nullable=True),
    sa.Column('created_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_credentials_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_credentials')),
    sa.UniqueConstraint('uuid', name=op.f('uq_totp_credentials_uuid'))
    )
    with op.batch_alter_table('totp_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_totp_credentials_user_id'), ['user_id'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_recovery_codes_code_sha256'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    op.create_table('passkey_credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', roi.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', roi.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_passkey_credentials_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_credentials')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_passkey_credentials_credential_id'))
    )
    with op.batch_alter_table('passkey_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkey_credentials_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mfa_required_for_staff', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_step', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('second_step_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('passkey_challenge', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('passkey_challenge')
        batch_op.drop_column('second_step_failures')
        batch_op.drop_column('second_step')

    # Not a batch operation: on SQLite that copies the table, and dropping the old copy of a
    # table others point at fails while foreign keys are enforced. SQLite 3.35+ drops a column.
    op.execute('ALTER TABLE organizations DROP COLUMN mfa_required_for_staff')

    with op.batch_alter_table('passkey_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkey_credentials_user_id'))
    op.drop_table('passkey_credentials')

    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')

    with op.batch_alter_table('totp_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_totp_credentials_user_id'))
    op.drop_table('totp_credentials')
