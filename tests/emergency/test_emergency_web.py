"""The emergency send in the clinician's browser (no JavaScript): choose the basis, state the
nature and the receiving personnel, confirm what will be recorded; the recipient reads the banner.
"""

from __future__ import annotations

from sqlalchemy import func, select

from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.messaging.models import EmergencyDisclosure, Message
from tests.factories import make_user
from tests.helpers import csrf_token, login_as, logout
from tests.web.test_messages_web import compose

NATURE = "Client disclosed an overdose an hour ago and is in the emergency department."
PERSONNEL = "Dr. Samuel Okafor, on-call psychiatrist"


def emergency_fields(**changes):
    return {
        "categories": ["medications"],
        "emergency": "y",
        "emergency_basis": "medical_emergency",
        "emergency_nature": NATURE,
        "emergency_recipient_personnel": PERSONNEL,
        "emergency_confirmed": "y",
        **changes,
    }


def stored(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_the_compose_page_offers_the_emergency_and_says_what_is_recorded(client, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    page = client.get("/clinician/messages/new").get_data(as_text=True)
    assert "This is an emergency" in page
    assert "42 CFR 2.51" in page
    assert "45 CFR 164.512(j)" in page
    assert "What will be recorded" in page


def test_an_unconfirmed_or_incomplete_emergency_is_not_sent(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    unconfirmed = compose(client, referral, **emergency_fields(emergency_confirmed=None))
    assert unconfirmed.status_code == 422
    assert "Confirm the emergency" in unconfirmed.get_data(as_text=True)
    incomplete = compose(
        client,
        referral,
        **emergency_fields(emergency_nature="", emergency_recipient_personnel=""),
    )
    assert incomplete.status_code == 422
    page = incomplete.get_data(as_text=True)
    assert "State the nature of the emergency." in page
    assert "Name the personnel who receive the information." in page
    assert stored(session, Message) == 0


def test_an_emergency_goes_out_and_the_recipient_reads_the_banner(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    sent = compose(client, referral, **emergency_fields())
    assert sent.status_code == 302, sent.get_data(as_text=True)
    assert stored(session, EmergencyDisclosure) == 1
    message_id = session.scalar(select(Message.id))
    logout(client)
    login_as(client, referral.psychiatrist.email, referral.psychiatrist.password)
    inbox = client.get("/clinician/messages").get_data(as_text=True)
    assert 'class="badge badge-emergency"' in inbox
    page = client.get(f"/clinician/messages/{message_id}").get_data(as_text=True)
    assert "Emergency disclosure, without the client" in page
    assert "42 CFR 2.51" in page
    assert NATURE in page
    assert PERSONNEL in page


def test_above_the_rate_the_page_says_so_with_429(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    for _ in range(3):
        assert compose(client, referral, **emergency_fields()).status_code == 302
    refused = compose(client, referral, **emergency_fields())
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    assert "Compliance has been alerted" in refused.get_data(as_text=True)


def test_the_practice_sets_its_own_rate(client, session, referral):
    # Given the practice's administrator lowers the rate to one a day
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    login_as(client, admin.email, admin.password)
    page = client.get("/admin/settings")
    assert "Emergency disclosures one clinician may send in 24 hours" in page.get_data(as_text=True)
    kept = {"state": "", "mfa_required": "y", "csrf_token": csrf_token(page)}
    bad = client.post("/admin/settings", data={**kept, "emergency_sends_per_day": "0"})
    assert bad.status_code == 422
    saved = client.post("/admin/settings", data={**kept, "emergency_sends_per_day": "1"})
    assert saved.status_code == 302
    logout(client)
    # Then the second emergency send of the day is refused
    login_as(client, referral.therapist.email, referral.therapist.password)
    assert compose(client, referral, **emergency_fields()).status_code == 302
    assert compose(client, referral, **emergency_fields()).status_code == 429
    session.rollback()
    assert session.scalar(
        select(AuditEntry.detail).where(AuditEntry.action == Action.ORGANIZATION_UPDATED)
    ) == {"setting": "emergency_sends_per_day", "value": 1}
