"""A practice's settings saved at once by its administrator; a person's own time zone."""

from __future__ import annotations

from dataclasses import replace

import pytest

from roi.accounts import practice
from roi.accounts.models import Organization, User
from roi.actor import Role
from roi.documents.wording import zone_name
from roi.errors import Forbidden, Invalid
from tests.factories import make_user

SETTINGS = practice.PracticeSettings(
    state="WA", mfa_required_for_staff=True, emergency_sends_per_day=3, time_zone="America/Denver"
)


def test_only_an_administrator_changes_the_practices_settings(session):
    clinician = make_user(session, Role.CLINICIAN)
    with pytest.raises(Forbidden):
        practice.update_practice_settings(session, clinician.actor, SETTINGS, states={"WA"})


def test_every_refused_setting_is_named_and_none_is_saved(session):
    admin = make_user(session, Role.ADMIN)
    wanted = practice.PracticeSettings(
        state="ZZ", mfa_required_for_staff=False, emergency_sends_per_day=0, time_zone="Mars/Base"
    )
    with pytest.raises(Invalid) as refused:
        practice.update_practice_settings(session, admin.actor, wanted, states={"WA"})
    assert set(refused.value.fields) == {"state", "emergency_sends_per_day", "time_zone"}
    assert refused.value.fields["emergency_sends_per_day"] == "Choose a number from 1 to 50."
    organization = session.get(Organization, admin.actor.organization_id)
    assert (organization.state, organization.mfa_required_for_staff) == (None, True)


def test_the_changed_settings_are_reported(session):
    admin = make_user(session, Role.ADMIN)
    changed = practice.update_practice_settings(session, admin.actor, SETTINGS, states={"WA"})
    assert changed == ["state", "time_zone"]
    assert practice.update_practice_settings(session, admin.actor, SETTINGS, states={"WA"}) == []


def test_a_person_keeps_a_zone_of_their_own_or_none(session):
    person = make_user(session, Role.CLINICIAN)
    practice.set_own_time_zone(session, person.user.id, "America/Phoenix")
    assert session.get(User, person.user.id).time_zone == "America/Phoenix"
    with pytest.raises(Invalid):
        practice.set_own_time_zone(session, person.user.id, "Phoenix")
    practice.set_own_time_zone(session, person.user.id, None)
    assert session.get(User, person.user.id).time_zone is None


@pytest.mark.parametrize("zone", ["CET", "Etc/GMT+5", "Zulu"])
def test_a_zone_without_a_place_is_refused_and_one_kept_from_before_is_shown_as_written(
    session, zone
):
    # "CET" keeps summer time in Python and none in PostgreSQL; "Etc/GMT+5" is five hours
    # behind GMT: a practice chooses the place instead
    admin = make_user(session, Role.ADMIN)
    with pytest.raises(Invalid) as refused:
        practice.update_practice_settings(
            session, admin.actor, replace(SETTINGS, time_zone=zone), states={"WA"}
        )
    assert set(refused.value.fields) == {"time_zone"}
    # a zone saved before roi stopped offering it is named as written, not "Unknown Region"
    assert zone_name(zone, "en") == zone
    assert zone_name("Europe/Paris", "en") == "Central European Time"
