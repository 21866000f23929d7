"""Changing one's password: the current one is required and counted like sign-ins (SECURITY A9),
and "sign out my other sessions" ends them (SECURITY A8)."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from roi.clock import now
from tests.helpers import delivered_mail, login_as, post_form

NEW_PASSWORD = "violet kettle harbor thunder"


def change(client, current: str, new: str = NEW_PASSWORD, *, end_others: bool = False):
    data = {"current_password": current, "new_password": new}
    if end_others:
        data["end_other_sessions"] = "y"
    return post_form(client, "/account/password", "/account/password", data)


def test_the_form_offers_to_sign_out_other_sessions(client, clinician):
    login_as(client, clinician.email, clinician.password)
    page = client.get("/account/password").get_data(as_text=True)
    assert 'name="end_other_sessions"' in page
    assert "Sign out my other sessions" in page


@pytest.mark.parametrize("end_others", [True, False])
def test_other_sessions_end_only_when_asked(app, clinician, end_others):
    # Given the clinician signed in on two devices
    laptop, phone = app.test_client(), app.test_client()
    for device in (laptop, phone):
        login_as(device, clinician.email, clinician.password)
        assert device.get("/clinician/").status_code == 200
    # When they change their password on the laptop
    response = change(laptop, clinician.password, end_others=end_others)
    assert response.status_code == 302
    # Then the laptop stays signed in, and the phone is signed out only if they asked
    assert laptop.get("/clinician/").status_code == 200
    assert phone.get("/clinician/").status_code == (302 if end_others else 200)
    assert login_as(app.test_client(), clinician.email, NEW_PASSWORD).status_code == 302


def test_wrong_current_passwords_are_throttled_and_the_owner_told(app, session, clinician):
    # Given a stolen session
    thief = app.test_client()
    login_as(thief, clinician.email, clinician.password)
    with time_machine.travel(now(), tick=False):
        # When 10 wrong current passwords are tried
        for n in range(10):
            wrong = change(thief, f"guess number {n} of many")
            assert wrong.status_code == 422
            assert "Your current password is not correct." in wrong.get_data(as_text=True)
        # Then the next try, even with the right password, is 429 with Retry-After
        refused = change(thief, clinician.password)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    # And the password did not change
    assert login_as(app.test_client(), clinician.email, NEW_PASSWORD).status_code == 200
    assert login_as(app.test_client(), clinician.email, clinician.password).status_code == 302
    # And the owner was told, once
    told = [m for m in delivered_mail(app) if m["To"] == clinician.email]
    assert [str(m["Subject"]) for m in told] == ["Someone tried to change your roi password"]
    session.rollback()  # end the snapshot the fixtures' reads left open
    failures = session.scalars(
        select(AuditEntry.seq).where(AuditEntry.action == Action.AUTH_PASSWORD_CHANGE_FAILED)
    ).all()
    assert len(failures) == 10
