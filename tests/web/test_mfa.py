"""The second factor on the web and the API (SECURITY A4, A5, A6, A10): the password opens a
half-signed-in session that can do nothing but give a code; staff set one up first."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pyotp
import time_machine
from sqlalchemy import select

from roi.accounts import passkeys
from roi.accounts.models import Organization, PasskeyCredential
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.web.security import PUBLIC_ENDPOINTS
from tests.authenticator import TEST_CLIENT, SoftAuthenticator, add_passkey
from tests.factories import TEST_TOTP_SECRET, make_user
from tests.helpers import (
    SECOND_STEP,
    api_token,
    bearer,
    csrf_token,
    login_as,
    logout,
    pass_second_step,
    post_form,
    routes_reached,
)

SETUP = "/account/mfa/totp"
SECRET_ON_PAGE = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
RECOVERY_ON_PAGE = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")


def password_step(client, person):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": person.email, "password": person.password, "csrf_token": csrf_token(page)},
    )


def current_code() -> str:
    return pyotp.TOTP(TEST_TOTP_SECRET).at(now())


def step_start() -> datetime:
    """Second 1 of a minute ago: a clock frozen there stays in one 30-second code step, and when
    it runs again it only moves on (forward from now, it went back behind what the block wrote)."""
    return (now() - timedelta(minutes=1)).replace(second=1)


def actions(session, *wanted: Action) -> list[str]:
    session.rollback()
    query = select(AuditEntry.action).order_by(AuditEntry.seq)
    return [a for a in session.scalars(query) if a in wanted]


def test_a_code_is_accepted_once(client, clinician, session):
    # A4: a valid code, sign out, the same code again within the same 30-second step
    with time_machine.travel(step_start(), tick=False):
        code = current_code()
        assert password_step(client, clinician).headers["Location"].endswith(SECOND_STEP)
        assert pass_second_step(client, clinician.email, code).status_code == 302
        assert client.get("/clinician/").status_code == 200
        logout(client)
        password_step(client, clinician)
        replayed = pass_second_step(client, clinician.email, code)
    assert replayed.status_code == 401
    assert "not correct, or it was used already" in replayed.get_data(as_text=True)
    assert client.get("/clinician/").headers["Location"].endswith(SECOND_STEP)
    assert actions(session, Action.AUTH_MFA_VERIFIED, Action.AUTH_MFA_FAILED) == [
        "auth.mfa_verified",
        "auth.mfa_failed",
    ]


def test_a_clinician_whose_only_second_factor_is_a_passkey_is_asked_for_it_alone(client, session):
    # Given a practice that does not require a second factor, and a clinician whose only one is
    # a passkey (no authenticator app, so no code to type)
    clinician = make_user(session, Role.CLINICIAN, second_factor=False)
    session.get(Organization, clinician.user.organization_id).mfa_required_for_staff = False
    session.commit()
    authenticator = add_passkey(session, clinician.user.id)
    # When they give their password
    assert password_step(client, clinician).headers["Location"].endswith(SECOND_STEP)
    # Then the second step asks for the passkey, with no code field they could not fill
    page = client.get(SECOND_STEP).get_data(as_text=True)
    assert 'name="code"' not in page
    assert "Use your passkey: on this device" in page
    assert "Lost your passkey? Ask your practice's administrator" in page
    # When an answer signed on another site comes back, the page says the passkey was refused
    # and does not carry the used answer back
    relayed = passkey_step(client, authenticator, origin="https://evil.example")
    assert relayed.status_code == 401
    refused = relayed.get_data(as_text=True)
    assert "Your passkey was not accepted. Try it again." in refused
    assert 'name="credential" type="hidden" value=""' in refused
    assert client.get("/clinician/").headers["Location"].endswith(SECOND_STEP)
    # When the page posts no answer at all, it says so
    empty = client.post(
        f"{SECOND_STEP}/passkey", data={"csrf_token": csrf_token(client.get(SECOND_STEP))}
    )
    assert empty.status_code == 400
    assert "No answer from a passkey arrived. Try again." in empty.get_data(as_text=True)
    # When the passkey answers, they are signed in
    assert passkey_step(client, authenticator).status_code == 302
    assert client.get("/clinician/").status_code == 200
    # And their sign-in security page does not speak of an authenticator app they do not have
    security = client.get("/account/security").get_data(as_text=True)
    assert "A passkey is your second step." in security
    assert "asks for a code from your authenticator app" not in security
    assert "Set up an authenticator app" in security
    assert actions(session, Action.AUTH_MFA_VERIFIED, Action.AUTH_MFA_FAILED) == [
        "auth.mfa_failed",
        "auth.mfa_verified",
    ]


def passkey_step(client, authenticator: SoftAuthenticator, origin: str = TEST_CLIENT.origin):
    """The second step answered as static/js/passkeys.js answers it: the passkey's answer to
    the challenge the page carries."""
    page = client.get(SECOND_STEP)
    options = re.search(r'data-options="([^"]+)"', page.get_data(as_text=True))
    assert options, "the second step carries no passkey challenge"
    return client.post(
        f"{SECOND_STEP}/passkey",
        data={
            "credential": authenticator.answer(html.unescape(options[1]), origin=origin),
            "csrf_token": csrf_token(page),
        },
    )


def test_five_wrong_codes_end_the_half_signed_in_session(client, clinician, session):
    # A5: 6 wrong codes after a correct password
    password_step(client, clinician)
    answers = [pass_second_step(client, clinician.email, "000000") for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 302]
    assert answers[-1].headers["Location"].endswith("/login")
    # the sixth, and even the right code, go nowhere: the password step must be redone
    sixth = client.get(SECOND_STEP)
    assert sixth.status_code == 302
    assert sixth.headers["Location"].endswith("/login")
    assert client.get("/clinician/").headers["Location"].endswith("/login")
    assert len(actions(session, Action.AUTH_MFA_FAILED)) == 5
    # and a correct password plus code still works afterwards
    assert login_as(client, clinician.email, clinician.password).status_code == 302
    assert client.get("/clinician/").status_code == 200


def test_wrong_codes_count_towards_the_account_throttle(client, clinician):
    # redoing the password step does not buy unlimited guesses: 2 rounds of 5 hit the limit of 10
    for _ in range(2):
        password_step(client, clinician)
        for _ in range(5):
            pass_second_step(client, clinician.email, "000000")
    assert password_step(client, clinician).status_code == 429


def test_the_password_alone_reaches_no_authenticated_route(app, client, clinician, own_client):
    # A6: every authenticated route from app.url_map, after the password step only
    password_step(client, clinician)

    def refused(url, response):
        if url.startswith("/api/"):
            return response.status_code == 401
        return response.status_code == 302 and response.headers["Location"].endswith(SECOND_STEP)

    assert routes_reached(client, PUBLIC_ENDPOINTS | {"auth.second_factor"}, refused) == {}
    assert client.get("/").headers["Location"].endswith(SECOND_STEP)


def test_staff_without_a_second_factor_set_one_up_before_anything_else(client, session):
    # Given a clinician of a practice that requires a second factor, who has none
    person = make_user(session, Role.CLINICIAN, second_factor=False)
    # When they give their password, they are taken to enrolment, and nothing else opens
    assert password_step(client, person).headers["Location"].endswith(SETUP)
    assert client.get("/clinician/").headers["Location"].endswith(SETUP)
    assert client.get(SECOND_STEP).headers["Location"].endswith(SETUP)
    page = client.get(SETUP).get_data(as_text=True)
    assert "<svg" in page
    assert "QR code for your authenticator app" in page
    secret = SECRET_ON_PAGE.search(page).group(1)
    # a wrong code is refused
    wrong = post_form(client, SETUP, SETUP, {"code": "000000"})
    assert wrong.status_code == 422
    # When they confirm with a code from the app, they see 10 recovery codes once
    done = post_form(client, SETUP, SETUP, {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = RECOVERY_ON_PAGE.findall(done.get_data(as_text=True))
    assert len(set(codes)) == 10
    # and are signed in
    assert client.get("/clinician/").status_code == 200
    assert actions(session, Action.AUTH_MFA_ENROLLED) == ["auth.mfa_enrolled"]
    # From then on a sign-in asks for a code; a recovery code works once
    logout(client)
    password_step(client, person)
    assert pass_second_step(client, person.email, codes[0].upper()).status_code == 302
    logout(client)
    password_step(client, person)
    assert pass_second_step(client, person.email, codes[0]).status_code == 401
    assert actions(session, Action.AUTH_MFA_RECOVERY_CODE_USED) == ["auth.mfa_recovery_code_used"]


def test_the_qr_code_needs_no_outside_service(client, session):
    person = make_user(session, Role.COMPLIANCE, second_factor=False)
    password_step(client, person)
    response = client.get(SETUP)
    page = response.get_data(as_text=True)
    assert "http" not in re.sub(
        r'xmlns(:\w+)?="[^"]+"', "", page.split("<svg", 1)[1].split("</svg>")[0]
    )
    assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]


def test_no_token_without_the_second_factor(client, clinician, session):
    # A10: password only, a wrong code, a used code, then a recovery code once
    url = "/api/v1/tokens"
    body = {"email": clinician.email, "password": clinician.password}
    alone = client.post(url, json=body)
    assert alone.status_code == 401
    assert alone.get_json()["error"] == "mfa_required"
    wrong = client.post(url, json={**body, "otp": "000000"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"] == "mfa_failed"
    with time_machine.travel(step_start(), tick=False):
        code = current_code()
        assert client.post(url, json={**body, "otp": code}).status_code == 201
        used = client.post(url, json={**body, "otp": code})
    assert used.status_code == 401
    assert used.get_json()["error"] == "mfa_failed"
    assert "auth.mfa_failed" in actions(session, Action.AUTH_MFA_FAILED)


def test_a_client_opts_in_through_the_api_and_a_recovery_code_works_once(client, client_person):
    token = api_token(client, client_person.email, client_person.password)
    begun = client.post("/api/v1/account/mfa/totp", headers=bearer(token))
    assert begun.status_code == 200
    assert set(begun.get_json()) == {"secret", "otpauth_uri"}
    secret = begun.get_json()["secret"]
    assert begun.get_json()["otpauth_uri"].startswith("otpauth://totp/")
    confirm = "/api/v1/account/mfa/totp/confirm"
    assert client.post(confirm, json={"otp": "000000"}, headers=bearer(token)).status_code == 422
    confirmed = client.post(confirm, json={"otp": pyotp.TOTP(secret).now()}, headers=bearer(token))
    assert confirmed.status_code == 200
    codes = confirmed.get_json()["recovery_codes"]
    assert len(set(codes)) == 10
    url, body = "/api/v1/tokens", {"email": client_person.email, "password": client_person.password}
    assert client.post(url, json=body).get_json()["error"] == "mfa_required"
    assert client.post(url, json={**body, "otp": codes[3]}).status_code == 201
    assert client.post(url, json={**body, "otp": codes[3]}).status_code == 401


def test_staff_who_must_enrol_get_no_token_and_are_told_why(client, session):
    person = make_user(session, Role.ADMIN, second_factor=False)
    response = client.post(
        "/api/v1/tokens", json={"email": person.email, "password": person.password}
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "mfa_required"
    assert "requires a second factor for staff" in response.get_json()["message"]


def test_admin_turns_the_practice_setting_off_and_on(client, admin, session):
    # the admin of Riverside; a clinician there without a second factor
    clinician = make_user(session, Role.CLINICIAN, second_factor=False)
    login_as(client, admin.email, admin.password)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Second factor required for staff" in page
    assert "checked" in page
    # the box unticked; the other settings as they were
    post_form(client, "/admin/settings", "/admin/settings", {"emergency_sends_per_day": "3"})
    logout(client)
    session.rollback()
    riverside = session.scalar(
        select(Organization).where(Organization.name == "Riverside Counseling")
    )
    assert riverside.mfa_required_for_staff is False
    # the clinician now signs in with the password alone
    assert password_step(client, clinician).headers["Location"].endswith("/")
    assert client.get("/clinician/").status_code == 200
    assert actions(session, Action.AUTH_MFA_POLICY_CHANGED) == ["auth.mfa_policy_changed"]


def test_admin_resets_a_second_factor_after_confirming(client, admin, clinician, session):
    login_as(client, admin.email, admin.password)
    url = f"/admin/users/{clinician.user.id}/reset-second-factor"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Reset" in confirm.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_token(confirm)}).status_code == 302
    logout(client)
    # the clinician sets up a new one at their next sign-in
    assert password_step(client, clinician).headers["Location"].endswith(SETUP)
    assert actions(session, Action.AUTH_MFA_RESET) == ["auth.mfa_reset"]


def test_admin_cannot_reset_another_practices_user(client, admin, other_clinician):
    login_as(client, admin.email, admin.password)
    url = f"/admin/users/{other_clinician.user.id}/reset-second-factor"
    assert client.get(url).status_code == 404


def test_cli_mfa_reset(app, clinician, session):
    from roi.cli import roi_group

    runner = app.test_cli_runner()
    result = runner.invoke(roi_group, ["user", "mfa-reset", "--email", clinician.email.upper()])
    assert result.exit_code == 0, result.output
    unknown = runner.invoke(roi_group, ["user", "mfa-reset", "--email", "nobody@example.org"])
    assert unknown.exit_code != 0
    client = app.test_client()
    assert password_step(client, clinician).headers["Location"].endswith(SETUP)
    session.rollback()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == Action.AUTH_MFA_RESET))
    assert entry is not None
    assert entry.actor_role == "system"


def test_a_clinician_removes_a_lost_passkey_and_sign_ins_no_longer_accept_it(
    app, client, session, clinician
):
    # Given a clinician with an authenticator app and a passkey on a laptop they lost
    authenticator = add_passkey(session, clinician.user.id)
    login_as(client, clinician.email, clinician.password)
    listed = client.get("/account/passkeys").get_data(as_text=True)
    assert "Remove “Soft key”" in listed
    # And, on another computer, a sign-in waiting at its second step with a passkey challenge
    elsewhere = app.test_client()
    password_step(elsewhere, clinician)
    open_challenge = elsewhere.get(SECOND_STEP)
    options = re.search(r'data-options="([^"]+)"', open_challenge.get_data(as_text=True))
    assert options
    # When they remove it, after confirming
    (passkey_id,) = session.scalars(select(PasskeyCredential.id)).all()
    url = f"/account/passkeys/{passkey_id}/remove"
    confirm = client.get(url)
    assert "Remove the passkey “Soft key”?" in confirm.get_data(as_text=True)
    removed = client.post(url, data={"csrf_token": csrf_token(confirm)})
    # Then it is gone, and the removal is audited
    assert removed.headers["Location"].endswith("/account/passkeys")
    assert "The passkey “Soft key” is removed." in client.get("/account/passkeys").get_data(
        as_text=True
    )
    session.rollback()
    assert session.scalars(select(PasskeyCredential)).all() == []
    [entry] = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUTH_MFA_REMOVED)
    ).all()
    assert (entry.subject_user_id, entry.detail) == (clinician.user.id, {"kind": "passkey"})
    # And a sign-in that had reached its second step before refuses an answer from it, audited
    refused = elsewhere.post(
        f"{SECOND_STEP}/passkey",
        data={
            "credential": authenticator.answer(html.unescape(options[1]), TEST_CLIENT.origin),
            "csrf_token": csrf_token(open_challenge),
        },
    )
    assert refused.status_code == 401
    assert "Your passkey was not accepted." in refused.get_data(as_text=True)
    assert audited_refusals(session) == [["passkey_unknown"]]
    # And the next sign-in offers no passkey
    logout(client)
    password_step(client, clinician)
    assert "data-options" not in client.get(SECOND_STEP).get_data(as_text=True)


def audited_refusals(session) -> list[list[str] | None]:
    session.rollback()
    query = select(AuditEntry.reasons).where(AuditEntry.action == Action.AUTH_MFA_FAILED)
    return list(session.scalars(query.order_by(AuditEntry.seq)))


def test_the_last_second_factor_stays_while_the_practice_requires_one(client, session):
    # Given a clinician whose only second factor is a passkey, in a practice that requires one
    clinician = make_user(session, Role.CLINICIAN, second_factor=False)
    authenticator = add_passkey(session, clinician.user.id)
    password_step(client, clinician)
    assert passkey_step(client, authenticator).status_code == 302
    (passkey_id,) = session.scalars(select(PasskeyCredential.id)).all()
    url = f"/account/passkeys/{passkey_id}/remove"
    # Then the confirmation says why it cannot go, and offers no button to remove it
    page = client.get(url)
    text = page.get_data(as_text=True)
    assert "this passkey is your only one. Add another passkey or an authenticator app" in text
    assert "Remove passkey</button>" not in text
    # And a removal posted anyway is refused, keeping the passkey
    refused = client.post(url, data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 409
    session.rollback()
    assert session.scalars(select(PasskeyCredential.id)).all() == [passkey_id]
    # When the practice stops requiring a second factor, it can go, with a word of what follows
    session.get(Organization, clinician.user.organization_id).mfa_required_for_staff = False
    session.commit()
    page = client.get(url)
    assert "without it, your password alone signs you in" in page.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_token(page)}).status_code == 302
    session.rollback()
    assert session.scalars(select(PasskeyCredential)).all() == []


def test_no_one_removes_another_persons_passkey(client, session, clinician, other_clinician):
    # Given a passkey of a clinician of another practice
    add_passkey(session, other_clinician.user.id)
    (passkey_id,) = session.scalars(select(PasskeyCredential.id)).all()
    login_as(client, clinician.email, clinician.password)
    url = f"/account/passkeys/{passkey_id}/remove"
    # Then its confirmation and its removal are not found, and without a CSRF token refused
    assert client.get(url).status_code == 404
    own_page = client.get("/account/passkeys")
    assert client.post(url, data={"csrf_token": csrf_token(own_page)}).status_code == 404
    assert client.post(url).status_code == 400
    session.rollback()
    assert session.scalars(select(PasskeyCredential.id)).all() == [passkey_id]


def test_a_sign_in_whose_last_second_factor_went_meanwhile_starts_again(app, client, session):
    # Given a clinician whose only second factor is a passkey, in a practice that does not
    # require one, who gave their password and waits at the second step
    clinician = make_user(session, Role.CLINICIAN, second_factor=False)
    session.get(Organization, clinician.user.organization_id).mfa_required_for_staff = False
    session.commit()
    add_passkey(session, clinician.user.id)
    password_step(client, clinician)
    # When, signed in elsewhere, they remove that passkey
    (passkey_id,) = session.scalars(select(PasskeyCredential.id)).all()
    passkeys.remove(session, clinician.actor, passkey_id)
    # Then the waiting second step sends them to sign in again, saying why
    again = client.get(SECOND_STEP)
    assert again.headers["Location"].endswith("/login")
    assert "second step changed meanwhile" in client.get("/login").get_data(as_text=True)
    # And the password alone now signs them in
    assert password_step(client, clinician).headers["Location"].endswith("/")
    assert client.get("/clinician/").status_code == 200
