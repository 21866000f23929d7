"""Migration 0020 gives requests freed before it what the rows now keep: which withdrawal freed
them and the fee dropped, from their `accounting.freed` audit entries."""

from __future__ import annotations

from datetime import timedelta

from flask_migrate import downgrade, upgrade

from roi.actor import Role
from roi.clock import now
from roi.compliance import requests
from roi.compliance.models import AccountingRequest, Channel
from roi.extensions import db
from tests.factories import make_client_user, make_user
from tests.migrations.test_0007_emergency import migration_app

__all__ = ["migration_app"]


def test_requests_freed_before_0020_get_their_withdrawal_and_dropped_fee(migration_app):
    with migration_app.app_context():
        # Given a request freed by the withdrawal of the free one, with a fee of $25.00
        upgrade()
        session = db.session()
        therapist = make_user(session, Role.CLINICIAN)
        officer = make_user(session, Role.COMPLIANCE)
        client, _ = make_client_user(session, therapist)
        requests.set_repeat_fee(session, officer.actor, 2500)
        free, quoted = (
            requests.record(
                session,
                officer.actor,
                requests.NewRequest(
                    client_id=client.id,
                    received_on=now().date() - timedelta(days=days_ago),
                    channel=Channel.WRITTEN,
                ),
            )
            for days_ago in (20, 10)
        )
        requests.withdraw(session, officer.actor, free.id)
        free_id, quoted_id = free.id, quoted.id
        session.close()
        # When the schema goes back to before 0020, losing the columns, and up again
        downgrade(revision="0019_outside_part2")
        upgrade()
        # Then the audit log gives them back
        found = db.session().get(AccountingRequest, quoted_id)
        assert (found.free, found.freed_by_id, found.fee_dropped_cents) == (True, free_id, 2500)
