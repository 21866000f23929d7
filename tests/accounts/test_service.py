"""Users, clients and the directory: the rules the services enforce."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, update

from roi.accounts import administration, recovery, service, sessions
from roi.accounts.models import ApiToken, Client, Organization, Provider, SessionRecord, User
from roi.actor import Actor, Role
from roi.clock import now
from roi.config import Settings
from roi.consent import queries as consent_queries
from roi.errors import Forbidden, Invalid, NotFound
from tests.conftest import TEST_ARGON2
from tests.factories import make_client, make_client_user, make_user


def add_user(session, **overrides):
    values = {
        "email": "new@example.org",
        "password": "violet kettle harbor thunder",
        "role": Role.CLINICIAN,
        "name": "New Person",
        "organization": "Riverside Counseling",
        "client_id": None,
        "argon2": TEST_ARGON2,
    }
    values.update(overrides)
    return service.create_user(session, Actor.system(), **values)


def test_email_is_unique_regardless_of_case(session):
    add_user(session, email="Dana@Example.org")
    with pytest.raises(Invalid) as refused:
        add_user(session, email="dana@example.ORG")
    assert "already exists" in refused.value.fields["email"]
    assert session.scalar(select(func.count(User.id))) == 1


def test_clinician_gets_a_directory_entry(session):
    user = add_user(session, name="Dana Whitfield")
    entry = session.scalar(select(Provider).where(Provider.user_id == user.id))
    assert entry is not None
    assert (entry.name, entry.organization_name) == ("Dana Whitfield", "Riverside Counseling")


def test_client_user_is_linked_to_their_record(session):
    clinician = make_user(session, Role.CLINICIAN)
    record = make_client(session, clinician)
    user = add_user(session, role=Role.CLIENT, organization=None, client_id=record.id)
    session.refresh(record)
    assert record.user_id == user.id
    assert user.organization_id == record.organization_id
    with pytest.raises(Invalid) as twice:
        add_user(
            session, email="b@example.org", role=Role.CLIENT, organization=None, client_id=record.id
        )
    assert "already has an account" in twice.value.fields["client_id"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": "  "}, "name"),
        ({"password": "short"}, "password"),
        ({"organization": None}, "organization"),
        ({"role": Role.CLIENT, "client_id": None, "organization": None}, "client_id"),
        ({"role": Role.CLIENT, "client_id": 9999, "organization": None}, "client_id"),
        ({"role": Role.COMPLIANCE, "client_id": 1}, "client_id"),
    ],
)
def test_bad_user_fields_are_named_and_nothing_is_written(session, overrides, field):
    with pytest.raises(Invalid) as refused:
        add_user(session, **overrides)
    assert field in refused.value.fields
    session.rollback()
    assert session.scalar(select(func.count(User.id))) == 0


def test_client_rules(session):
    clinician = make_user(session, Role.CLINICIAN)
    with pytest.raises(Invalid) as refused:
        service.create_client(
            session, clinician.actor, service.NewClient(" ", "Lima", date(2999, 1, 1), None)
        )
    assert set(refused.value.fields) == {"given_name", "birth_date"}
    compliance = make_user(session, Role.COMPLIANCE)
    with pytest.raises(Forbidden):
        service.create_client(
            session, compliance.actor, service.NewClient("A", "B", date(1990, 1, 1), None)
        )
    assert session.scalar(select(func.count(Client.id))) == 0


@pytest.mark.parametrize(
    ("zone", "utc", "accepted"),
    [
        # 08:00 on 1 December in Tokyo: UTC's calendar still says 30 November
        ("Asia/Tokyo", datetime(2026, 11, 30, 23, tzinfo=UTC), True),
        # 20:00 on 30 November in California: UTC's calendar already says 1 December
        ("America/Los_Angeles", datetime(2026, 12, 1, 4, tzinfo=UTC), False),
    ],
)
def test_a_birth_date_is_in_the_future_on_the_practices_calendar(session, zone, utc, accepted):
    clinician = make_user(session, Role.CLINICIAN)
    session.get(Organization, clinician.actor.organization_id).time_zone = zone
    session.commit()
    born_on_1_december = service.NewClient("Mei", "Sato", date(2026, 12, 1), None)
    with time_machine.travel(utc, tick=False):
        if accepted:
            client = service.create_client(session, clinician.actor, born_on_1_december)
            assert client.birth_date == date(2026, 12, 1)
        else:
            with pytest.raises(Invalid) as refused:
                service.create_client(session, clinician.actor, born_on_1_december)
            assert refused.value.fields == {
                "birth_date": "The date of birth cannot be in the future."
            }


def test_clinicians_see_only_their_practice(session):
    mine = make_user(session, Role.CLINICIAN)
    theirs = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
    a = make_client(session, mine, given_name="Ana")
    b = make_client(session, theirs, given_name="Bo")
    assert [c.id for c in consent_queries.clients_for(session, mine.actor)] == [a.id]
    with pytest.raises(NotFound):
        consent_queries.client_for(session, mine.actor, b.id)


def test_client_search_escapes_wildcards(session):
    clinician = make_user(session, Role.CLINICIAN)
    make_client(session, clinician, given_name="Ana", family_name="Lima")
    make_client(session, clinician, given_name="Bo", family_name="Ng")
    found = consent_queries.clients_for(session, clinician.actor, "lim")
    assert [c.given_name for c in found] == ["Ana"]
    assert consent_queries.clients_for(session, clinician.actor, "%") == []
    assert consent_queries.clients_for(session, clinician.actor, "_") == []


def test_disabling_a_user_ends_their_sessions_and_tokens(session, tmp_path):
    # B5 at the service level (the web test drives it through the admin page)
    admin = make_user(session, Role.ADMIN)
    target = make_user(session, Role.CLINICIAN)
    settings = Settings.from_env({}, {"instance_path": tmp_path, "argon2": TEST_ARGON2})
    token = sessions.start_session(session, target.user)
    api, _ = sessions.issue_token(session, target.user, settings)
    administration.set_user_active(session, admin.actor, target.user.id, active=False)
    assert sessions.resume_session(session, token, settings).user is None
    assert sessions.actor_for_token(session, api, ip=None, request_id=None) is None
    with pytest.raises(Invalid):
        administration.set_user_active(session, admin.actor, admin.user.id, active=False)
    with pytest.raises(Forbidden):
        administration.set_user_active(session, target.actor, admin.user.id, active=False)


def test_a_token_acts_as_its_owner_and_a_client_user_as_their_client(session, tmp_path):
    # Given a clinician and a client user, each with a token
    settings = Settings.from_env({}, {"instance_path": tmp_path, "argon2": TEST_ARGON2})
    clinician = make_user(session, Role.CLINICIAN)
    client, person = make_client_user(session, clinician)
    clinician_token, _ = sessions.issue_token(session, clinician.user, settings)
    client_token, _ = sessions.issue_token(session, person.user, settings)
    # Then each token acts as its owner, from the address and request given
    acting = sessions.actor_for_token(session, clinician_token, ip="192.0.2.7", request_id="r1")
    assert acting == Actor(
        user_id=clinician.user.id,
        role=Role.CLINICIAN,
        organization_id=clinician.user.organization_id,
        ip="192.0.2.7",
        request_id="r1",
        client_id=None,
    )
    # and the client user's carries their client record, as a signed-in session does
    as_client = sessions.actor_for_token(session, client_token, ip=None, request_id=None)
    assert as_client == sessions.actor_for(session, person.user, ip=None, request_id=None)
    assert as_client is not None
    assert (as_client.role, as_client.client_id) == (Role.CLIENT, client.id)
    # and a token nobody was given acts as no one
    assert sessions.actor_for_token(session, "not-a-token", ip=None, request_id=None) is None


def test_a_token_acts_as_no_one_once_revoked_expired_or_its_owner_disabled(session, tmp_path):
    settings = Settings.from_env({}, {"instance_path": tmp_path, "argon2": TEST_ARGON2})
    person = make_user(session, Role.CLINICIAN)

    def acts(token: str) -> bool:
        return sessions.actor_for_token(session, token, ip=None, request_id=None) is not None

    # a revoked token, beside a live one
    revoked, _ = sessions.issue_token(session, person.user, settings)
    live, _ = sessions.issue_token(session, person.user, settings)
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_sha256 == sessions.digest(revoked))
        .values(revoked_at=now())
    )
    assert not acts(revoked)
    assert acts(live)
    # an expired one
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_sha256 == sessions.digest(live))
        .values(expires_at=now() - timedelta(seconds=1))
    )
    assert not acts(live)
    # a live token of an account disabled behind its back (its tokens left as they were)
    other, _ = sessions.issue_token(session, person.user, settings)
    session.execute(update(User).where(User.id == person.user.id).values(active=False))
    assert not acts(other)


def test_changing_password_ends_other_sessions_only(session, tmp_path):
    person = make_user(session, Role.CLINICIAN)
    settings = Settings.from_env({}, {"instance_path": tmp_path, "argon2": TEST_ARGON2})
    here = sessions.start_session(session, person.user)
    elsewhere = sessions.start_session(session, person.user)
    with pytest.raises(Invalid) as wrong:
        recovery.change_password(
            session,
            person.actor,
            current="wrong",
            new="new passphrase words here",
            end_other_sessions=True,
            keep_session_token=here,
            settings=settings,
        )
    assert "current_password" in wrong.value.fields
    recovery.change_password(
        session,
        person.actor,
        current=person.password,
        new="new passphrase words here",
        end_other_sessions=True,
        keep_session_token=here,
        settings=settings,
    )
    assert sessions.resume_session(session, here, settings).user is not None
    assert sessions.resume_session(session, elsewhere, settings).user is None
    ended = session.scalar(
        select(SessionRecord.end_reason).where(
            SessionRecord.token_sha256 == sessions.digest(elsewhere)
        )
    )
    assert ended == "password_changed"
