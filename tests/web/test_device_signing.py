"""In-office signing (issue 12 item 1): "Hand to client" turns the clinician's browser into a
client-only view of one release; the client confirms their date of birth, reads and signs; only
the clinician's password and second factor hand it back; an idle minute locks it."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import time_machine
from sqlalchemy import select

from roi.accounts.models import Organization
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.consent import lifecycle, representation
from roi.consent.models import Consent, ConsentStatus, DeviceHandover
from roi.web.security import DEVICE_ENDPOINTS
from tests.authenticator import TEST_CLIENT, SoftAuthenticator, add_passkey
from tests.factories import (
    make_client,
    make_user,
    release_waiting_for_signature,
    stand_in_documents,
)
from tests.helpers import (
    api_token,
    bearer,
    csrf_token,
    fresh_totp_code,
    login_as,
    routes_reached,
)

DEVICE = "/device"
BIRTH_DATE = date(1990, 5, 17)


def pending(session, clinician, **client: object) -> Consent:
    """A release waiting for the signature of a client of `clinician`'s practice."""
    record = make_client(session, clinician, **client)  # type: ignore[arg-type]
    return release_waiting_for_signature(session, clinician, record)


def hand_over(client, clinician, consent_id: int, *, signed_in: bool = False):
    if not signed_in:
        login_as(client, clinician.email, clinician.password)
    detail = client.get(f"/clinician/consents/{consent_id}")
    return client.post(
        f"/clinician/consents/{consent_id}/hand-to-client",
        data={"csrf_token": csrf_token(detail)},
    )


def post_device(client, action: str, data: dict[str, str]):
    token = csrf_token(client.get(f"{DEVICE}/hand-back"))
    return client.post(action, data={**data, "csrf_token": token})


def confirm_birth_date(client, day: date = BIRTH_DATE):
    return post_device(client, f"{DEVICE}/identity", {"birth_date": day.isoformat()})


def sign(client, **changes: str):
    fields = {"relationship": "self", "signer_name": "Jordan Avery", "agree": "y", **changes}
    return post_device(client, f"{DEVICE}/sign", fields)


def hand_back(client, session, clinician, *, password: str | None = None, code: str | None = ""):
    page = client.get(f"{DEVICE}/hand-back")
    data = {
        "password": clinician.password if password is None else password,
        "code": fresh_totp_code(session, clinician.email) if code == "" else (code or ""),
        "csrf_token": csrf_token(page),
    }
    return client.post(f"{DEVICE}/hand-back", data=data)


def hand_back_with_passkey(
    client,
    clinician,
    authenticator: SoftAuthenticator,
    origin: str = TEST_CLIENT.origin,
    password: str | None = None,
):
    """The hand-back form sent as static/js/passkeys.js sends it: the password typed, and the
    passkey's answer to the challenge the page carries."""
    page = client.get(f"{DEVICE}/hand-back")
    options = re.search(r'data-options="([^"]+)"', page.get_data(as_text=True))
    assert options, "the hand-back page carries no passkey challenge"
    data = {
        "password": clinician.password if password is None else password,
        "code": "",
        "credential": authenticator.answer(html.unescape(options[1]), origin=origin),
        "csrf_token": csrf_token(page),
    }
    return client.post(f"{DEVICE}/hand-back", data=data)


def audited(session, action: Action) -> list[AuditEntry]:
    session.rollback()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_handed_over_browser_reaches_only_the_device_pages(app, client, session, clinician):
    # Given a release waiting for a signature, and its clinician signed in
    consent = pending(session, clinician)
    login_as(client, clinician.email, clinician.password)
    detail = client.get(f"/clinician/consents/{consent.id}").get_data(as_text=True)
    assert "Hand to client" in detail
    # When the clinician hands the device to the client
    response = hand_over(client, clinician, consent.id, signed_in=True)
    assert response.headers["Location"].endswith(DEVICE)
    # Then the device shows the date-of-birth step, with no navigation
    page = client.get(DEVICE).get_data(as_text=True)
    assert "confirm it is you" in page
    assert "primary-nav" not in page
    assert "Sign out" not in page
    assert clinician.user.name not in page

    # And every other route, typed in, leads back to the device view (API calls are refused)
    def refused(url, response):
        if url.startswith("/api/"):
            return response.status_code == 403
        return response.status_code == 302 and response.headers["Location"].endswith(DEVICE)

    assert routes_reached(client, DEVICE_ENDPOINTS | {"static"}, refused) == {}
    assert client.get("/no/such/page").headers["Location"].endswith(DEVICE)
    # And the hand-over is on record
    [entry] = audited(session, Action.CONSENT_HANDED_TO_CLIENT)
    assert entry.consent_id == consent.id
    assert entry.actor_id == clinician.user.id


def test_an_api_call_with_the_handed_over_session_cookie_is_refused(
    app, client, session, clinician
):
    # Given a token the clinician holds, and their browser handed to the client
    consent = pending(session, clinician)
    token = api_token(client, clinician.email, clinician.password)
    hand_over(client, clinician, consent.id)
    # When a call carries the handed-over session's cookie, it is refused, token or not
    refused = client.get("/api/v1/clients", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.get_json()["error"]
    # while the same token from elsewhere (no cookie) still works
    assert app.test_client().get("/api/v1/clients", headers=bearer(token)).status_code == 200


def test_the_client_confirms_their_birth_date_and_three_wrong_tries_lock_the_device(
    client, session, clinician
):
    consent = pending(session, clinician, birth_date=BIRTH_DATE)
    hand_over(client, clinician, consent.id)
    # A wrong date is refused, saying how many tries are left; the release is not shown
    wrong = confirm_birth_date(client, date(1990, 5, 18))
    assert wrong.status_code == 422
    assert "2 tries left" in wrong.get_data(as_text=True)
    assert "Sign this release" not in client.get(DEVICE).get_data(as_text=True)
    assert len(audited(session, Action.SIGNING_IDENTITY_FAILED)) == 1
    last = confirm_birth_date(client, date(1991, 5, 17))
    assert "The date of birth does not match. One try left." in last.get_data(as_text=True)
    # The third wrong try locks the view: the right date no longer opens it
    confirm_birth_date(client, date(1989, 1, 1))
    assert "This screen is locked" in client.get(DEVICE).get_data(as_text=True)
    confirm_birth_date(client)
    assert "This screen is locked" in client.get(DEVICE).get_data(as_text=True)
    assert client.get(f"/clinician/consents/{consent.id}").headers["Location"].endswith(DEVICE)
    # Only the clinician's hand-back leaves it
    back = hand_back(client, session, clinician)
    assert back.headers["Location"].endswith(f"/clinician/consents/{consent.id}")
    assert client.get(f"/clinician/consents/{consent.id}").status_code == 200


def test_the_client_signs_in_person_and_the_evidence_names_the_clinician(
    client, session, clinician
):
    consent = pending(session, clinician, birth_date=BIRTH_DATE)
    hand_over(client, clinician, consent.id)
    confirm_birth_date(client)
    page = client.get(DEVICE).get_data(as_text=True)
    assert "Sign this release" in page
    assert "Diagnosis and a treatment summary since 2025." in page
    assert 'src="/static/js/signature.js"' in page
    with stand_in_documents():
        signed = sign(client)
    assert signed.headers["Location"].endswith(DEVICE)
    assert "the release is signed" in client.get(DEVICE).get_data(as_text=True)
    session.rollback()
    stored = session.get(Consent, consent.id)
    assert stored.status is ConsentStatus.ACTIVE
    assert stored.signature.identity_method == "in_person"
    evidence = lifecycle.evidence_of(stored.signature)
    assert evidence["identity_method"] == "in_person"
    assert evidence["handed_over_by"] == clinician.user.id
    assert clinician.user.name in evidence["assurance"]
    assert audited(session, Action.SIGNING_IDENTITY_VERIFIED)
    [entry] = audited(session, Action.CONSENT_SIGNED)
    assert entry.detail["identity_method"] == "in_person"
    assert entry.detail["handed_over_by"] == clinician.user.id
    # Signed once: the device offers no second signature
    assert sign(client, signer_name="Someone").headers["Location"].endswith(DEVICE)
    assert len(audited(session, Action.CONSENT_SIGNED)) == 1


def test_the_signer_rule_refuses_the_wrong_signer_on_the_device(client, session, clinician):
    # Given a Washington practice and a client who is 12
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    representation.set_practice_state(session, admin.actor, "WA")
    today = now().date()
    child = today.replace(year=today.year - 12, day=1)
    consent = pending(session, clinician, birth_date=child)
    hand_over(client, clinician, consent.id)
    confirm_birth_date(client, child)
    # When the child signs as the client, the rule refuses it, named
    refused = sign(client, signer_name="Mia Avery")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "The client cannot sign this release alone" in text
    assert "164.502(g)(3)" in text
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.PENDING_SIGNATURE
    assert audited(session, Action.CONSENT_SIGNATURE_REFUSED)
    # And the parent, on the same device, may sign
    with stand_in_documents():
        sign(
            client,
            relationship="parent",
            signer_name="Ana Avery",
            representative_authority="Mother of Mia, who is 12",
        )
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.ACTIVE


def test_handing_back_needs_the_password_and_the_second_factor(client, session, clinician):
    consent = pending(session, clinician)
    hand_over(client, clinician, consent.id)
    # A wrong password, or no code, keeps the device with the client
    assert hand_back(client, session, clinician, password="wrong password").status_code == 401
    assert hand_back(client, session, clinician, code=None).status_code == 401
    assert hand_back(client, session, clinician, code="000000").status_code == 401
    assert client.get("/clinician/").headers["Location"].endswith(DEVICE)
    assert not audited(session, Action.CONSENT_HANDED_BACK)
    # The password and a fresh code hand it back
    back = hand_back(client, session, clinician)
    assert back.headers["Location"].endswith(f"/clinician/consents/{consent.id}")
    assert client.get("/clinician/").status_code == 200
    [entry] = audited(session, Action.CONSENT_HANDED_BACK)
    assert entry.actor_id == clinician.user.id
    assert entry.consent_id == consent.id
    # The device pages are closed again
    assert client.get(DEVICE).headers["Location"].endswith("/")


def test_without_a_second_factor_the_password_alone_hands_back(client, session):
    # Given a practice that does not require a second factor, and a clinician who has none
    clinician = make_user(session, Role.CLINICIAN, second_factor=False)
    practice = session.get(Organization, clinician.user.organization_id)
    practice.mfa_required_for_staff = False
    session.commit()
    consent = pending(session, clinician)
    hand_over(client, clinician, consent.id)
    # The hand-back asks for no code, and the password alone takes the device back
    assert "Code from the authenticator app" not in client.get(f"{DEVICE}/hand-back").get_data(
        as_text=True
    )
    assert hand_back(client, session, clinician, password="wrong", code=None).status_code == 401
    back = hand_back(client, session, clinician, code=None)
    assert back.headers["Location"].endswith(f"/clinician/consents/{consent.id}")


def test_wrong_hand_back_passwords_are_throttled_like_sign_in(app, client, session, clinician):
    consent = pending(session, clinician)
    hand_over(client, clinician, consent.id)
    limit = app.config["ROI_SETTINGS"].throttle_account_limit
    statuses = [
        hand_back(client, session, clinician, password="wrong", code=None).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[-1] == 429
    # even the right password waits now
    assert hand_back(client, session, clinician).status_code == 429
    assert client.get("/clinician/").headers["Location"].endswith(DEVICE)


def test_an_idle_minute_locks_the_device_view(client, session, clinician):
    consent = pending(session, clinician, birth_date=BIRTH_DATE)
    hand_over(client, clinician, consent.id)
    confirm_birth_date(client)
    with time_machine.travel(now() + timedelta(seconds=59), tick=False):
        assert "Sign this release" in client.get(DEVICE).get_data(as_text=True)
    with time_machine.travel(now() + timedelta(seconds=59 + 61), tick=False):
        page = client.get(DEVICE).get_data(as_text=True)
        assert "This screen is locked" in page
        assert "Sign this release" not in page
        sign(client)
        session.rollback()
        assert session.get(Consent, consent.id).status is ConsentStatus.PENDING_SIGNATURE
        # the lock only offers the hand-back, which opens the clinician's session again
        back = hand_back(client, session, clinician)
        assert back.headers["Location"].endswith(f"/clinician/consents/{consent.id}")
    [entry] = audited(session, Action.CONSENT_HANDED_BACK)
    assert entry.detail["locked_because"] == "idle"


def test_another_practices_release_cannot_be_handed_over(
    client, session, clinician, other_clinician
):
    theirs = pending(session, other_clinician)
    login_as(client, clinician.email, clinician.password)
    token = csrf_token(client.get("/clinician/"))
    response = client.post(
        f"/clinician/consents/{theirs.id}/hand-to-client", data={"csrf_token": token}
    )
    assert response.status_code == 404
    session.rollback()
    assert session.scalars(select(DeviceHandover)).all() == []
    assert client.get("/clinician/").status_code == 200


def test_only_a_pending_release_can_be_handed_over(client, session, clinician):
    consent = pending(session, clinician)
    lifecycle.void(session, clinician.actor, consent.id)
    response = hand_over(client, clinician, consent.id)
    assert response.headers["Location"].endswith(f"/clinician/consents/{consent.id}")
    assert client.get("/clinician/").status_code == 200
    assert audited(session, Action.CONSENT_HANDED_TO_CLIENT) == []


def test_the_client_reads_and_signs_in_spanish_and_the_clinician_gets_their_language_back(
    client, session, clinician
):
    # Given a release handed to a client who reads Spanish
    consent = pending(session, clinician, birth_date=BIRTH_DATE)
    hand_over(client, clinician, consent.id)
    # When they switch the device to Spanish (the switch sends keep=no; a forged one without it
    # is no different)
    for keep in ({"keep": "no"}, {}):
        switched = post_device(client, "/language", {"language": "es", "next": DEVICE, **keep})
        assert switched.headers["Location"] == DEVICE
    # Then the device speaks Spanish
    page = client.get(DEVICE).get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Le damos la bienvenida" in page
    confirm_birth_date(client)
    page = client.get(DEVICE).get_data(as_text=True)
    assert "En resumen" in page
    assert "Firmar esta autorización" in page
    # And the release they sign is the Spanish one
    with stand_in_documents():
        sign(client, signer_name="Lucía Ortega")
    session.rollback()
    assert session.get(Consent, consent.id).language == "es"
    # And the clinician's own account keeps its language (none picked: the browser's, English)
    assert session.get(type(clinician.user), clinician.user.id).language is None
    # When the clinician takes the device back, the pages are in their language again
    back = hand_back(client, session, clinician)
    assert back.headers["Location"].endswith(f"/clinician/consents/{consent.id}")
    mine = client.get(f"/clinician/consents/{consent.id}").get_data(as_text=True)
    assert '<html lang="en">' in mine


def test_a_clinician_whose_only_second_factor_is_a_passkey_takes_the_device_back_with_it(
    client, session
):
    # Given a practice that does not require a second factor, and a clinician whose only one is
    # a passkey (no authenticator app, so no code to type)
    clinician = make_user(session, Role.CLINICIAN, second_factor=False)
    session.get(Organization, clinician.user.organization_id).mfa_required_for_staff = False
    session.commit()
    consent = pending(session, clinician)
    hand_over(client, clinician, consent.id)  # signed in with the password (no passkey yet)
    session.rollback()
    authenticator = add_passkey(session, clinician.user.id)
    # Then the hand-back asks for their passkey, not for a code they cannot give
    page = client.get(f"{DEVICE}/hand-back").get_data(as_text=True)
    assert "Code from the authenticator app" not in page
    assert "Take the device back with a passkey" in page
    # And the password alone (Enter in its box) asks for the passkey, counting no failed try
    alone = hand_back(client, session, clinician, code=None)
    assert alone.status_code == 422
    assert "Use your passkey to take the device back." in alone.get_data(as_text=True)
    assert not audited(session, Action.AUTH_MFA_FAILED)
    # And a passkey's answer signed on another site keeps the device with the client, audited
    relayed = hand_back_with_passkey(client, clinician, authenticator, "https://evil.example")
    assert relayed.status_code == 401
    assert "Your passkey was not accepted." in relayed.get_data(as_text=True)
    assert client.get("/clinician/").headers["Location"].endswith(DEVICE)
    assert not audited(session, Action.CONSENT_HANDED_BACK)
    assert [entry.reasons for entry in audited(session, Action.AUTH_MFA_FAILED)] == [
        ["passkey_wrong_origin"]
    ]
    # When the password comes with the passkey's answer, the device is theirs again
    back = hand_back_with_passkey(client, clinician, authenticator)
    assert back.headers["Location"].endswith(f"/clinician/consents/{consent.id}")
    [verified] = audited(session, Action.AUTH_MFA_VERIFIED)
    assert verified.detail == {"kind": "passkey"}


def test_a_passkey_takes_the_device_back_instead_of_a_code(client, session, clinician):
    # Given a clinician with an authenticator app and a passkey, who handed the device over
    consent = pending(session, clinician)
    hand_over(client, clinician, consent.id)
    session.rollback()
    authenticator = add_passkey(session, clinician.user.id)
    # Then the hand-back offers both
    page = client.get(f"{DEVICE}/hand-back").get_data(as_text=True)
    assert "Code from the authenticator app" in page
    assert "Or use your passkey instead of a code." in page
    # When a passkey's answer comes with a wrong password, the page does not send it again:
    # the right password and a code then take the device back
    wrong = hand_back_with_passkey(client, clinician, authenticator, password="wrong")
    assert wrong.status_code == 401
    assert 'name="credential" type="hidden" value=""' in wrong.get_data(as_text=True)
    assert hand_back(client, session, clinician).status_code == 302
    # And, handed over again, the password with the passkey's answer and no code takes it back
    hand_over(client, clinician, consent.id, signed_in=True)
    back = hand_back_with_passkey(client, clinician, authenticator)
    assert back.headers["Location"].endswith(f"/clinician/consents/{consent.id}")


def test_an_answer_from_someone_without_a_passkey_is_no_second_factor(client, session, clinician):
    # Given a clinician with an authenticator app and no passkey, who handed the device over
    consent = pending(session, clinician)
    hand_over(client, clinician, consent.id)
    page = client.get(f"{DEVICE}/hand-back")
    # When the password comes with a made-up passkey answer and no code
    response = client.post(
        f"{DEVICE}/hand-back",
        data={
            "password": clinician.password,
            "credential": '{"id": "x", "type": "public-key"}',
            "csrf_token": csrf_token(page),
        },
    )
    # Then the device stays with the client, and the page asks for the code
    assert response.status_code == 401
    assert "That code is not correct" in response.get_data(as_text=True)
    assert client.get("/clinician/").headers["Location"].endswith(DEVICE)
