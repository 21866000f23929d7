"""A passkey as the second factor, in Chromium with its virtual authenticator (CDP WebAuthn):
added from the account page, then used at the second step of the next sign-in."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlencode

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from tests.authenticator import add_passkey
from tests.browser_plugin import password_step
from tests.helpers import totp_code
from tests.web.test_device_signing import pending

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _with_a_virtual_authenticator(context, page):
    """Chromium's CDP session and a virtual platform authenticator that says yes to everything."""
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
    return cdp, added


def test_a_passkey_is_added_and_signs_in(app, live_url, context, page, session, clinician):
    # Given Chromium with a virtual platform authenticator, on http://localhost (a passkey's
    # relying party must be a domain name, not an IP address)
    base = live_url.replace("127.0.0.1", "localhost")
    cdp, added = _with_a_virtual_authenticator(context, page)
    # And a clinician signed in with their password and authenticator code
    # When they add a passkey from their account page
    _sign_in_and_add_a_passkey(app, page, base, clinician)
    assert "Your passkey is added" in page.content()
    assert "Office laptop" in page.content()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
    assert len(credentials["credentials"]) == 1
    # And adding one again from the same authenticator says it already holds one
    page.get_by_label("Name of this passkey").fill("Office laptop again")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_have_text(
        "This device or security key already holds a passkey for your account."
    )
    # And sign out, then sign in again with the password
    _back_at_the_second_step(page, base, clinician)
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
    _back_at_the_second_step(page, base, clinician)
    with page.expect_navigation():
        page.get_by_role("button", name="Use a passkey").click()
    # Then the clone's answer is refused, and the refusal is audited
    assert page.url == f"{base}/login/second-factor/passkey"
    assert "Your passkey was not accepted. Try it again." in page.content()
    session.rollback()
    failed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUTH_MFA_FAILED)
    ).all()
    assert [((entry.detail or {}).get("kind"), entry.reasons) for entry in failed] == [
        ("passkey", ["passkey_counter_went_back"])
    ]


def test_an_answer_relayed_from_another_site_is_refused(
    app, live_url, context, page, session, clinician
):
    # Given a clinician with a passkey, at the second step of signing in
    base = live_url.replace("127.0.0.1", "localhost")
    _with_a_virtual_authenticator(context, page)
    _sign_in_and_add_a_passkey(app, page, base, clinician)
    _back_at_the_second_step(page, base, clinician)
    # When the authenticator's real answer reaches roi saying the browser was on another site
    # (what a relaying site would forward; SECURITY A11), with the page's session and CSRF token
    page.route(f"{base}/login/second-factor/passkey", _with_origin("https://evil.example"))
    with page.expect_navigation():
        page.get_by_role("button", name="Use a passkey").click()
    # Then it is refused: still the second step, not signed in
    assert page.url == f"{base}/login/second-factor/passkey"
    assert "Your passkey was not accepted. Try it again." in page.content()
    page.goto(f"{base}/clinician/")
    assert "Good to see you" not in page.content()
    # And the refusal is audited with its reason
    session.rollback()
    outcomes = [
        (entry.action, (entry.detail or {}).get("kind"), entry.reasons)
        for entry in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_([Action.AUTH_MFA_VERIFIED, Action.AUTH_MFA_FAILED]))
            .order_by(AuditEntry.seq)
        )
    ]
    # (the first is the authenticator code before the passkey was added)
    assert outcomes[1:] == [("auth.mfa_failed", "passkey", ["passkey_wrong_origin"])]


def test_the_clinician_takes_the_device_back_with_their_passkey(
    app, live_url, context, page, session, clinician
):
    # Given a clinician with a passkey, signed in, who handed their screen to a client
    base = live_url.replace("127.0.0.1", "localhost")
    _with_a_virtual_authenticator(context, page)
    _sign_in_and_add_a_passkey(app, page, base, clinician)
    consent = pending(session, clinician)
    page.goto(f"{base}/clinician/consents/{consent.id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Hand to client").click()
    page.get_by_role("link", name="Hand back to clinician").first.click()
    # When they type their password and use their passkey instead of a code
    page.get_by_label("Clinician's password").fill(clinician.password)
    with page.expect_navigation(url=f"{base}/clinician/consents/{consent.id}"):
        page.get_by_role("button", name="Take the device back with a passkey").click()
    # Then the device is theirs again
    assert "You have the device back." in page.content()
    session.rollback()
    [entry] = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.CONSENT_HANDED_BACK)
    ).all()
    assert entry.consent_id == consent.id


def test_a_browser_without_the_webauthn_json_helpers_adds_and_uses_a_passkey(
    app, live_url, context, page, clinician
):
    # Given a browser with WebAuthn but without its JSON helpers (as before Chrome 129, Firefox
    # 119 and Safari 18), with a virtual platform authenticator
    base = live_url.replace("127.0.0.1", "localhost")
    page.add_init_script(WITHOUT_JSON_HELPERS)
    _with_a_virtual_authenticator(context, page)
    # When a clinician adds a passkey from their account page
    _sign_in_and_add_a_passkey(app, page, base, clinician)
    assert page.evaluate("typeof PublicKeyCredential.parseRequestOptionsFromJSON") == "undefined"
    # Then it is added
    assert "Your passkey is added" in page.content()
    # And it completes their next sign-in
    _back_at_the_second_step(page, base, clinician)
    with page.expect_navigation(url=f"{base}/clinician/"):
        page.get_by_role("button", name="Use a passkey").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Good to see you")


def test_a_browser_without_passkeys_says_so_at_the_second_step(live_url, page, session, clinician):
    # Given a clinician with a passkey, signing in on a browser without WebAuthn
    add_passkey(session, clinician.user.id)
    page.add_init_script("delete window.PublicKeyCredential;")
    base = live_url.replace("127.0.0.1", "localhost")
    # When they reach the second step
    password_step(page, base, clinician.email, clinician.password)
    # Then the page says the browser cannot use them, and offers no passkey button
    expect(page.locator("[data-passkey-status]")).to_have_text(
        "This browser cannot use passkeys: use a code, or another browser."
    )
    expect(page.get_by_role("button", name="Use a passkey")).to_be_hidden()
    expect(page.get_by_label("Code")).to_be_visible()


#: a browser with WebAuthn but without its JSON helpers
WITHOUT_JSON_HELPERS = """
delete PublicKeyCredential.parseCreationOptionsFromJSON;
delete PublicKeyCredential.parseRequestOptionsFromJSON;
delete PublicKeyCredential.prototype.toJSON;
"""

#: keeps what became of the browser's passkey ceremony, for the assertion's message
RECORD_CEREMONY = """
const create = navigator.credentials.create.bind(navigator.credentials);
navigator.credentials.create = (options) => {
  window.passkeyCeremony = "asked";
  return create(options).then((credential) => {
    window.passkeyCeremony = "made";
    return credential;
  }, (error) => {
    window.passkeyCeremony = `refused: ${error.name}: ${error.message}`;
    throw error;
  });
};
"""


def _sign_in_and_add_a_passkey(app, page, base: str, clinician) -> None:
    """Sign in with password and authenticator code, then add a passkey on the account page."""
    page.add_init_script(RECORD_CEREMONY)
    password_step(page, base, clinician.email, clinician.password)
    page.get_by_label("Code").fill(totp_code(app, clinician.email))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    page.goto(f"{base}/account/security")
    page.get_by_role("link", name="Passkeys").click()
    page.get_by_label("Name of this passkey").fill("Office laptop")
    try:
        with page.expect_navigation():
            page.get_by_role("button", name="Add a passkey").click()
    except PlaywrightTimeoutError:
        # once in many runs the ceremony here never led to the post: say how far it got (never
        # asked, still waiting, refused and why, or made and posted to a server that did not
        # answer)
        status = page.locator("[data-passkey-status]").text_content()
        ceremony = page.evaluate("window.passkeyCeremony")
        raise AssertionError(f"no passkey page after: {ceremony!r}, {status!r}") from None


def _back_at_the_second_step(page, base: str, clinician) -> None:
    """Sign out, then give the password again: the page asks for the second step."""
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")
    password_step(page, base, clinician.email, clinician.password)


def _with_origin(origin: str):
    """A Playwright route handler that rewrites the origin in the posted answer's clientDataJSON,
    leaving the rest of the form (CSRF token) and the request (session cookie) as they are."""

    def rewrite(route) -> None:
        form = dict(parse_qsl(route.request.post_data or ""))
        answer = json.loads(form["credential"])
        encoded = answer["response"]["clientDataJSON"]
        client_data = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        client_data["origin"] = origin
        answer["response"]["clientDataJSON"] = (
            base64.urlsafe_b64encode(json.dumps(client_data).encode()).rstrip(b"=").decode()
        )
        form["credential"] = json.dumps(answer)
        route.continue_(post_data=urlencode(form))

    return rewrite
