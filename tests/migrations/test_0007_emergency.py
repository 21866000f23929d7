"""Migration 0007 on a database with data: messages with attachments and the organizations that
everyone references survive the upgrade and the downgrade (SQLite rebuilds both tables)."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from roi import create_app
from roi.accounts.models import Organization, Provider
from roi.actor import Role
from roi.extensions import db
from roi.messaging import service
from roi.messaging.models import Attachment, Message
from tests.conftest import TEST_ARGON2
from tests.consent.conftest import Referral, library
from tests.factories import make_client_user, make_user

__all__ = ["library"]


@pytest.fixture
def migration_app(empty_database_url, instance_path):
    app = create_app(
        {
            "instance_path": instance_path,
            "database_url": empty_database_url,
            "secret_key": "test",
            "argon2": TEST_ARGON2,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def counts(session) -> tuple[int, int, int]:
    session.rollback()
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Organization, Message, Attachment)
    )


def test_messages_and_attachments_survive_0007_both_ways(migration_app, library):
    with migration_app.app_context():
        # Given a migrated instance with a message and its attachment
        upgrade()
        session = db.session()
        therapist = make_user(session, Role.CLINICIAN, name="Dana Whitfield")
        psychiatrist = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
        client, person = make_client_user(session, therapist)
        recipient_id = session.scalar(
            select(Provider.id).where(Provider.user_id == psychiatrist.user.id)
        )
        referral = Referral(therapist, psychiatrist, person, client.id, recipient_id, library)
        referral.signed(session)
        service.send(
            session,
            therapist.actor,
            library,
            service.Outgoing(
                client_id=client.id,
                recipient_provider_id=recipient_id,
                categories=("diagnosis",),
                purpose="treatment",
                subject="Update",
                body="Plan attached.",
                attachments=(service.NewAttachment("plan.txt", "text/plain", b"the plan"),),
            ),
        )
        before = counts(session)
        session.close()
        # When the schema goes back to 0006 and up again
        downgrade(revision="0006")
        upgrade()
        # Then every row is still there
        assert counts(db.session()) == before == (2, 1, 1)
