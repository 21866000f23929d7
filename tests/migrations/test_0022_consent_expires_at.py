"""Migration 0022 fixes the end of every signed release with an "expires on" day at that day's
midnight in its practice's time zone; drafts and releases with only an event get none."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.actor import Role
from roi.clock import now
from roi.consent.library import FormLibrary
from roi.consent.models import Consent
from roi.extensions import db
from tests.consent.conftest import FORMS, Referral
from tests.factories import make_client_user, make_user
from tests.migrations.test_0007_emergency import migration_app

__all__ = ["migration_app"]


def test_signed_releases_end_at_midnight_where_their_practice_is(migration_app):
    with migration_app.app_context():
        # Given a practice in California with a signed release ending on a day, a draft ending
        # on it, and a signed release that lasts until the end of treatment
        upgrade()
        session = db.session()
        therapist = make_user(session, Role.CLINICIAN)
        therapist.user.organization.time_zone = "America/Los_Angeles"
        psychiatrist = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
        client, person = make_client_user(session, therapist, birth_date=date(1990, 1, 2))
        recipient = session.scalar(select(Provider).where(Provider.user_id == psychiatrist.user.id))
        referral = Referral(
            therapist, psychiatrist, person, client.id, recipient.id, FormLibrary.load(FORMS)
        )
        ends = now().date() + timedelta(days=30)
        dated = referral.signed(session, expires_on=ends).id
        draft = referral.draft(session, expires_on=ends).id
        open_ended = referral.signed(
            session, expires_on=None, expiry_event="the end of treatment"
        ).id
        session.close()
        # When the schema goes back to before 0022, losing the instants, and up again
        downgrade(revision="0021_restriction_marks")
        upgrade()
        # Then the signed one ends at that day's midnight in California, the others have none
        found = dict(db.session().execute(select(Consent.id, Consent.expires_at)).all())
        midnight = datetime.combine(ends, time.min, tzinfo=ZoneInfo("America/Los_Angeles"))
        assert found == {dated: midnight, draft: None, open_ended: None}
