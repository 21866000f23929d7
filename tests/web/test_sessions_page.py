""" "Your sessions": a user sees their live sessions (device, last seen, this one marked) and ends
any of them; another user's session is not theirs to end."""

from __future__ import annotations

import re

from sqlalchemy import select

from roi.accounts.devices import describe
from roi.accounts.models import SessionRecord
from roi.audit import Action, AuditEntry
from tests.helpers import csrf_token, login_as

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
MAC_EDGE = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
END_FORM = re.compile(r'action="/account/sessions/(\d+)/end"')


def device(app, user_agent: str):
    browser = app.test_client()
    browser.environ_base["HTTP_USER_AGENT"] = user_agent
    return browser


def test_devices_are_named_in_a_few_words():
    assert describe(ANDROID_CHROME) == "Chrome on Android"
    assert describe(WINDOWS_FIREFOX) == "Firefox on Windows"
    assert describe(IPHONE_SAFARI) == "Safari on iPhone"
    assert describe(MAC_EDGE) == "Edge on macOS"
    assert describe(None) == "Unknown device"


def test_a_user_sees_and_ends_their_own_sessions(app, session, clinician):
    # Given the clinician signed in on a phone and a desktop
    phone, desktop = device(app, ANDROID_CHROME), device(app, WINDOWS_FIREFOX)
    for browser in (phone, desktop):
        login_as(browser, clinician.email, clinician.password)
    # When they open "Your sessions" on the desktop
    page = desktop.get("/account/sessions")
    text = page.get_data(as_text=True)
    # Then both devices are listed, the desktop marked as this session
    assert page.status_code == 200
    assert "Chrome on Android" in text
    assert re.search(r"Firefox on Windows\s*<span class=\"badge\">This session</span>", text)
    assert "Last seen" in text
    # When they end the phone's session
    session.rollback()
    phone_session = session.scalar(
        select(SessionRecord.id).where(SessionRecord.user_agent == ANDROID_CHROME)
    )
    assert f"/account/sessions/{phone_session}/end" in text
    response = desktop.post(
        f"/account/sessions/{phone_session}/end", data={"csrf_token": csrf_token(page)}
    )
    # Then the phone is signed out, the desktop is not, and the list has one session left
    assert response.status_code == 302
    assert phone.get("/clinician/").status_code == 302
    assert desktop.get("/clinician/").status_code == 200
    assert len(END_FORM.findall(desktop.get("/account/sessions").get_data(as_text=True))) == 1
    session.rollback()
    ended = session.scalar(select(AuditEntry).where(AuditEntry.action == Action.AUTH_SESSION_ENDED))
    assert ended is not None
    assert ended.subject_user_id == clinician.user.id


def test_another_users_session_is_not_found(app, session, clinician, compliance):
    victim = app.test_client()
    login_as(victim, compliance.email, compliance.password)
    attacker = app.test_client()
    login_as(attacker, clinician.email, clinician.password)
    session.rollback()
    theirs = session.scalar(
        select(SessionRecord.id).where(SessionRecord.user_id == compliance.user.id)
    )
    page = attacker.get("/account/sessions")
    assert f"/account/sessions/{theirs}/end" not in page.get_data(as_text=True)
    response = attacker.post(
        f"/account/sessions/{theirs}/end", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 404
    assert victim.get("/compliance/").status_code == 200


def test_ending_this_session_signs_out_here(client, clinician):
    login_as(client, clinician.email, clinician.password)
    page = client.get("/account/sessions")
    (mine,) = END_FORM.findall(page.get_data(as_text=True))
    response = client.post(f"/account/sessions/{mine}/end", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert client.get("/clinician/").status_code == 302
