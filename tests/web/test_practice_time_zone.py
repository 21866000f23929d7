"""Practice settings saved at once, the practice's time zone among them, and a person's own zone:
times on the pages show in the reader's zone (their own, else the practice's), the zone named."""

from __future__ import annotations

from sqlalchemy import select

from roi.accounts.models import Organization, User
from roi.audit import Action, AuditEntry
from tests.helpers import login_as, post_form

SETTINGS = "/admin/settings"
KEPT = {"state": "", "mfa_required": "y", "emergency_sends_per_day": "3"}


def practice_of(session, person) -> Organization:
    session.rollback()  # a fresh read of what the requests wrote
    organization = session.get(Organization, person.user.organization_id)
    assert organization is not None
    return organization


def setting_entries(session) -> list[dict]:
    return list(
        session.scalars(
            select(AuditEntry.detail)
            .where(
                AuditEntry.action.in_([Action.ORGANIZATION_UPDATED, Action.AUTH_MFA_POLICY_CHANGED])
            )
            .order_by(AuditEntry.seq)
        )
    )


def test_the_admin_sets_the_practices_time_zone_with_one_entry_per_changed_setting(
    client, session, admin
):
    login_as(client, admin.email, admin.password)
    page = client.get(SETTINGS).get_data(as_text=True)
    # the common US zones come first, named; any IANA zone can be chosen
    assert '<option value="America/Chicago">Central (America/Chicago)</option>' in page
    assert '<option value="Europe/Madrid">Europe/Madrid</option>' in page
    changed = {**KEPT, "emergency_sends_per_day": "5", "time_zone": "America/Chicago"}
    assert post_form(client, SETTINGS, SETTINGS, changed).status_code == 302
    organization = practice_of(session, admin)
    assert (organization.time_zone, organization.emergency_sends_per_day) == ("America/Chicago", 5)
    # two settings changed, two entries; the unchanged ones are not on record
    assert setting_entries(session) == [
        {"setting": "emergency_sends_per_day", "value": 5},
        {"setting": "time_zone", "value": "America/Chicago"},
    ]


def test_an_unknown_time_zone_is_refused_and_nothing_is_saved(client, session, admin):
    login_as(client, admin.email, admin.password)
    refused = post_form(
        client,
        SETTINGS,
        SETTINGS,
        {**KEPT, "emergency_sends_per_day": "7", "mfa_required": "", "time_zone": "Mars/Olympus"},
    )
    assert refused.status_code == 422
    assert "Choose a time zone from the list." in refused.get_data(as_text=True)
    # the other settings of the same form are not saved either
    organization = practice_of(session, admin)
    assert organization.time_zone == "UTC"
    assert organization.emergency_sends_per_day == 3
    assert organization.mfa_required_for_staff is True
    assert setting_entries(session) == []


def test_a_limit_of_zero_or_none_says_what_is_wrong(client, session, admin):
    login_as(client, admin.email, admin.password)
    # zero is a number, out of the range a limit may take; an empty box gives none
    for value, said in (("0", "Choose a number from 1 to 50."), ("", "Give a number.")):
        refused = post_form(client, SETTINGS, SETTINGS, {**KEPT, "emergency_sends_per_day": value})
        assert refused.status_code == 422
        assert said in refused.get_data(as_text=True)
    assert practice_of(session, admin).emergency_sends_per_day == 3


def test_a_practice_in_chicago_sees_its_sessions_in_central_time(client, session, admin):
    login_as(client, admin.email, admin.password)
    post_form(client, SETTINGS, SETTINGS, {**KEPT, "time_zone": "America/Chicago"})
    page = client.get("/account/sessions").get_data(as_text=True)
    assert " CST</time>" in page
    assert " UTC</time>" not in page


def test_a_persons_own_time_zone_wins_over_the_practices(client, session, admin):
    organization = practice_of(session, admin)
    organization.time_zone = "America/Chicago"
    session.commit()
    login_as(client, admin.email, admin.password)
    security = client.get("/account/security").get_data(as_text=True)
    assert "Use the practice&#39;s (America/Chicago)" in security
    saved = post_form(
        client, "/account/security", "/account/preferences", {"time_zone": "America/New_York"}
    )
    assert saved.status_code == 302
    assert " EST</time>" in client.get("/account/sessions").get_data(as_text=True)
    # back to the practice's
    post_form(client, "/account/security", "/account/preferences", {"time_zone": ""})
    session.rollback()
    assert session.get(User, admin.user.id).time_zone is None
    assert " CST</time>" in client.get("/account/sessions").get_data(as_text=True)


def test_an_unknown_own_time_zone_is_refused(client, session, admin):
    login_as(client, admin.email, admin.password)
    refused = post_form(
        client, "/account/security", "/account/preferences", {"time_zone": "Europe/Atlantis"}
    )
    assert refused.status_code == 422
    assert "Choose a time zone from the list." in refused.get_data(as_text=True)
    session.rollback()
    assert session.get(User, admin.user.id).time_zone is None
