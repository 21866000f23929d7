"""Migration 0021 gives every client of the day their restriction mark: set for a client who has
asked for a restriction, unset for the others."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from roi.actor import Role
from roi.consent import restrictions
from roi.consent.library import FormLibrary
from roi.consent.models import RestrictionMark
from roi.extensions import db
from tests.consent.conftest import FORMS
from tests.factories import make_client_user, make_user
from tests.migrations.test_0007_emergency import migration_app

__all__ = ["migration_app"]


def test_clients_get_their_restriction_marks(migration_app):
    with migration_app.app_context():
        # Given a client who asked for a restriction and one who did not
        upgrade()
        session = db.session()
        therapist = make_user(session, Role.CLINICIAN)
        restricted, restricted_user = make_client_user(session, therapist)
        unrestricted, _ = make_client_user(session, therapist)
        restrictions.request(
            session,
            restricted_user.actor,
            FormLibrary.load(FORMS),
            restricted.id,
            restrictions.NewRestriction(None, ("diagnosis",), "Not my diagnosis, please."),
        )
        ids = restricted.id, unrestricted.id
        session.close()
        # When the schema goes back to before 0021, losing the marks, and up again
        downgrade(revision="0020_accounting_freed")
        upgrade()
        # Then each client has theirs
        marks = dict(
            db.session()
            .execute(select(RestrictionMark.client_id, RestrictionMark.restricted))
            .all()
        )
        assert marks == {ids[0]: True, ids[1]: False}
