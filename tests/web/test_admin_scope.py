"""An admin manages their own practice only (SECURITY C9): another practice's users and directory
entries are 404 by id and cannot be chosen in a form field; nothing changes. Work across
practices is the `roi` command's."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from roi.accounts.models import Organization, Provider, User
from roi.actor import Role
from tests.factories import make_client, make_user
from tests.helpers import api_token, bearer, csrf_token, login_as, post_form
from tests.web.conftest import OTHER_PRACTICE

NEW_PASSWORD = "violet kettle harbor thunder"


@pytest.fixture
def other_admin(session):
    return make_user(session, Role.ADMIN, org=OTHER_PRACTICE, name="Morgan Lee")


def counts(session) -> tuple[int, int, int]:
    session.rollback()  # a fresh snapshot: the app committed in another connection
    return (
        session.scalar(select(func.count(User.id))),
        session.scalar(select(func.count(Provider.id))),
        session.scalar(select(func.count(Organization.id))),
    )


def new_user(client, **fields):
    data = {
        "name": "Lee Park",
        "email": "lee@example.org",
        "role": "clinician",
        "password": NEW_PASSWORD,
        **fields,
    }
    return post_form(client, "/admin/users/new", "/admin/users/new", data)


def assert_entry_refused_then_added(client, session, token: str, *, own: str) -> dict:
    """POST /providers naming the other practice: 422 and nothing added; naming `own`: 201."""
    entry = {"name": "Dr Spoof", "credentials": "MD", "address": "", "email": None}
    before = counts(session)
    refused = client.post(
        "/api/v1/providers", headers=bearer(token), json={**entry, "organization": OTHER_PRACTICE}
    )
    assert refused.status_code == 422
    assert "organization" in refused.get_json()["fields"]
    assert counts(session) == before
    added = client.post(
        "/api/v1/providers", headers=bearer(token), json={**entry, "organization": own}
    )
    assert added.status_code == 201
    return dict(added.get_json())


def test_the_user_list_shows_only_the_admins_practice(client, admin, clinician, other_clinician):
    login_as(client, admin.email, admin.password)
    page = client.get("/admin/users").get_data(as_text=True)
    assert clinician.email in page
    assert other_clinician.email not in page
    assert OTHER_PRACTICE not in page


def test_another_practices_user_is_not_found_and_stays_enabled(
    app, client, session, admin, other_clinician
):
    # Given the other practice's clinician signed in
    theirs = app.test_client()
    login_as(theirs, other_clinician.email, other_clinician.password)
    login_as(client, admin.email, admin.password)
    token = csrf_token(client.get("/admin/users"))
    # When the admin disables, then enables, them by id
    for action in ("disable", "enable"):
        response = client.post(
            f"/admin/users/{other_clinician.user.id}/{action}", data={"csrf_token": token}
        )
        assert response.status_code == 404
    # Then nothing changed: they are still signed in and enabled
    assert theirs.get("/clinician/").status_code == 200
    session.rollback()
    assert session.get(User, other_clinician.user.id).active


@pytest.mark.parametrize("organization", [OTHER_PRACTICE, "A Practice Nobody Made"])
def test_a_new_user_cannot_join_another_organization(
    client, session, admin, other_admin, organization
):
    login_as(client, admin.email, admin.password)
    before = counts(session)
    response = new_user(client, organization=organization)
    assert response.status_code == 422
    assert "Add accounts to your own organization only." in response.get_data(as_text=True)
    assert counts(session) == before


def test_a_new_user_joins_the_admins_organization_by_default(client, session, admin):
    login_as(client, admin.email, admin.password)
    assert 'value="Riverside Counseling"' in client.get("/admin/users/new").get_data(as_text=True)
    assert new_user(client, organization="").status_code == 302
    session.rollback()
    created = session.scalar(select(User).where(User.email_key == "lee@example.org"))
    assert created.organization_id == admin.user.organization_id


def test_a_client_account_cannot_link_another_practices_client(
    client, session, admin, other_clinician
):
    theirs = make_client(session, other_clinician, given_name="Ruth")
    login_as(client, admin.email, admin.password)
    before = counts(session)
    response = new_user(client, role="client", client_id=str(theirs.id), organization="")
    assert response.status_code == 422
    assert "No client record has this id." in response.get_data(as_text=True)
    assert counts(session) == before


def test_the_api_directory_is_the_admins_practice_only(client, session, admin, other_clinician):
    token = api_token(client, admin.email, admin.password)
    listed = client.get("/api/v1/providers", headers=bearer(token))
    assert listed.status_code == 200
    assert {p["organization"] for p in listed.get_json()} <= {"Riverside Counseling"}
    assert other_clinician.user.name not in {p["name"] for p in listed.get_json()}
    assert_entry_refused_then_added(client, session, token, own="Riverside Counseling")


def test_the_web_directory_is_the_admins_practice_only(client, admin, clinician, other_clinician):
    login_as(client, admin.email, admin.password)
    page = client.get("/clinician/directory").get_data(as_text=True)
    assert clinician.user.name in page
    assert other_clinician.user.name not in page
    response = post_form(
        client,
        "/clinician/directory/new",
        "/clinician/directory/new",
        {"name": "Dr Evil", "credentials": "", "organization": OTHER_PRACTICE, "address": ""},
    )
    assert response.status_code == 422


def test_clinicians_still_see_the_whole_directory(session, clinician, other_clinician):
    from roi.accounts import service

    names = {p.name for p in service.providers(session, clinician.actor)}
    assert {clinician.user.name, other_clinician.user.name} <= names


def test_nobody_lists_someone_under_another_practice_that_uses_roi(
    client, session, clinician, other_clinician
):
    # The gate treats a practice's entries as one party, so an entry under Northgate made by
    # a Riverside clinician would speak for Northgate
    token = api_token(client, clinician.email, clinician.password)
    # (a practice outside roi is still a clinician's to add, unlinked)
    added = assert_entry_refused_then_added(client, session, token, own="Lakeside Family Medicine")
    session.rollback()
    outside = session.get(Provider, added["id"])
    assert outside.organization_id is None
