"""A passkey as the second factor, in Chromium with its virtual authenticator (CDP WebAuthn):
added from the account page, then used at the second step of the next sign-in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from tests.browser_plugin import password_step
from tests.helpers import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_passkey_is_added_and_signs_in(app, live_url, context, page, session, clinician):
    # Given Chromium with a virtual platform authenticator, on http://localhost (a passkey's
    # relying party must be a domain name, not an IP address)
    base = live_url.replace("127.0.0.1", "localhost")
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    # And a clinician signed in with their password and authenticator code
    password_step(page, base, clinician.email, clinician.password)
    page.get_by_label("Code").fill(totp_code(app, clinician.email))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    # When they add a passkey from their account page
    page.goto(f"{base}/account/security")
    page.get_by_role("link", name="Passkeys").click()
    page.get_by_label("Name of this passkey").fill("Office laptop")
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    assert "Your passkey is added" in page.content()
    assert "Office laptop" in page.content()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
    assert len(credentials["credentials"]) == 1
    # And sign out, then sign in again with the password
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")
    password_step(page, base, clinician.email, clinician.password)
    assert page.url == f"{base}/login/second-factor"
    # Then the passkey completes the sign-in
    with page.expect_navigation(url=f"{base}/clinician/"):
        page.get_by_role("button", name="Use a passkey").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Good to see you")
    session.rollback()
    kinds = [
        (entry.action, (entry.detail or {}).get("kind"))
        for entry in session.scalars(
            select(AuditEntry).where(
                AuditEntry.action.in_([Action.AUTH_MFA_ENROLLED, Action.AUTH_MFA_VERIFIED])
            )
        )
    ]
    assert ("auth.mfa_enrolled", "passkey") in kinds
    assert ("auth.mfa_verified", "passkey") in kinds
    # When the passkey is cloned with its counter turned back (SECURITY A11)
    authenticator = {"authenticatorId": added["authenticatorId"]}
    (original,) = cdp.send("WebAuthn.getCredentials", authenticator)["credentials"]
    cdp.send("WebAuthn.clearCredentials", authenticator)
    cdp.send(
        "WebAuthn.addCredential", {**authenticator, "credential": {**original, "signCount": 0}}
    )
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")
    password_step(page, base, clinician.email, clinician.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Use a passkey").click()
    # Then the clone's answer is refused, and the refusal is audited
    assert page.url == f"{base}/login/second-factor/passkey"
    assert "not correct" in page.content()
    session.rollback()
    failed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUTH_MFA_FAILED)
    ).all()
    assert [(entry.detail or {}).get("kind") for entry in failed] == ["passkey"]
