"""Every emailed link starts with ROI_BASE_URL, whatever Host a request carried (SECURITY D6);
the link paths the domain writes are the app's real routes."""

from __future__ import annotations

from flask import url_for

from roi.mail import links
from tests.helpers import bearer, csrf_token, delivered_mail
from tests.web.test_consent_api import create, setup  # noqa: F401 - `setup` is a fixture

POISONED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
BASE = "https://roi.example.test"


def test_link_paths_are_the_routes_of_the_app(app):
    with app.test_request_context():
        assert links.signing("abc-_1") == url_for("signing.start", token="abc-_1")
        assert links.messages() == url_for("clinician.messages")
        assert links.sign_in() == url_for("auth.login")
        assert links.password_reset("abc-_1") == url_for("auth.password_reset_link", token="abc-_1")


def test_a_poisoned_host_never_reaches_a_mail(client, setup, clinician):  # noqa: F811
    # Given a release sent, signed, used for a message and revoked, every call with a forged Host
    consent = create(client, setup)
    sent = client.post(
        f"/api/v1/consents/{consent['id']}/send",
        headers={**bearer(setup["clinician"]), **POISONED},
    )
    assert sent.status_code == 200, sent.get_json()
    signed = client.post(
        f"/api/v1/consents/{consent['id']}/signature",
        headers={**bearer(setup["client"]), **POISONED},
        json={"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True},
    )
    assert signed.status_code == 200, signed.get_json()
    message = client.post(
        "/api/v1/messages",
        headers={**bearer(setup["clinician"]), **POISONED},
        json={
            "client_id": setup["client_id"],
            "recipient_provider_id": setup["recipient_id"],
            "categories": ["diagnosis"],
            "purpose": "treatment",
            "subject": "Referral",
            "body": "Details follow.",
        },
    )
    assert message.status_code == 201, message.get_json()
    revoked = client.post(
        f"/api/v1/consents/{consent['id']}/revocation",
        headers={**bearer(setup["client"]), **POISONED},
        json={},
    )
    assert revoked.status_code == 200, revoked.get_json()
    # And a password reset asked for with the same forged Host
    visitor = client.application.test_client()
    token = csrf_token(visitor.get("/password-reset", headers=POISONED))
    reset = visitor.post(
        "/password-reset",
        data={"email": clinician.email, "csrf_token": token},
        headers=POISONED,
    )
    assert reset.status_code == 200
    # Then the invitation, the signer's copy link, the message notice, the revocation notices
    # and the reset link all link to the base URL
    mails = delivered_mail(client.application)
    subjects = " | ".join(str(m["Subject"]) for m in mails)
    for expected in (
        "waiting for your signature",
        "your copy",
        "new message",
        "was revoked",
        "Reset your",
    ):
        assert expected in subjects
    for sent_mail in mails:
        text = sent_mail.as_string()
        assert "evil.example" not in text
        assert f"{BASE}/" in text
