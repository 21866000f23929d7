"""The instant a signed release's "expires on" day ends it: 00:00 of that day in its practice's
time zone, fixed at signing (it was 00:00 UTC, the afternoon before in the Americas). Releases
signed before now get theirs from their practice's time zone of today.

Revision ID: 0022_consent_expires_at
Revises: 0021_restriction_marks
Create Date: 2026-12-01 14:00:00

"""
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022_consent_expires_at'
down_revision = '0021_restriction_marks'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    op.add_column('consents', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    consents = sa.table(
        'consents',
        sa.column('id', sa.Integer),
        sa.column('organization_id', sa.Integer),
        sa.column('expires_on', sa.Date),
        sa.column('signed_at', sa.DateTime(timezone=True)),
        sa.column('expires_at', sa.DateTime(timezone=True)),
    )
    organizations = sa.table(
        'organizations', sa.column('id', sa.Integer), sa.column('time_zone', sa.String)
    )
    connection = op.get_bind()
    update = (
        consents.update()
        .where(consents.c.id == sa.bindparam('consent_id'))
        .values(expires_at=sa.bindparam('ends'))
    )
    page = (
        sa.select(consents.c.id, consents.c.expires_on, organizations.c.time_zone)
        .join(organizations, organizations.c.id == consents.c.organization_id)
        .where(consents.c.expires_on.is_not(None), consents.c.signed_at.is_not(None))
        .order_by(consents.c.id)
        .limit(BATCH)
    )
    last = 0
    while True:  # a page at a time: a practice group may hold a million releases
        signed = connection.execute(page.where(consents.c.id > last)).all()
        if not signed:
            return
        rows = [{'consent_id': id_, 'ends': _ends(day, zone)} for id_, day, zone in signed]
        connection.execute(update, rows)
        last = signed[-1].id


def _ends(day, zone):
    # as roi.consent.models.expiry_instant (a migration keeps its own copy of what it runs)
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone or 'UTC')).astimezone(UTC)


def downgrade():
    with op.batch_alter_table('consents') as batch:
        batch.drop_column('expires_at')
