"""An admin changes, disables and enables the directory entries of their own practice (SECURITY
C9); another practice's entries are 404 and cannot be moved into by a form field; a disabled
entry can no longer be chosen as a recipient."""

from __future__ import annotations

from sqlalchemy import select

from roi.accounts import service
from roi.accounts.models import Provider
from tests.factories import make_client, make_user
from tests.helpers import api_token, bearer, csrf_token, login_as, post_form
from tests.web.conftest import OTHER_PRACTICE
from tests.web.test_consent_api import body


def entry_of(session, person) -> Provider:
    session.rollback()  # a fresh snapshot: the app committed in another connection
    return session.scalar(select(Provider).where(Provider.user_id == person.user.id))


def edit(client, provider_id: int, **fields):
    url = f"/admin/directory/{provider_id}/edit"
    data = {
        "name": "Dana Whitfield",
        "credentials": "LCSW",
        "organization": "Riverside Counseling",
        "address": "1 River Road",
        "email": "",
        **fields,
    }
    return post_form(client, url, url, data)


def test_an_admin_changes_their_practices_entry(client, session, admin, clinician):
    login_as(client, admin.email, admin.password)
    entry = entry_of(session, clinician)
    assert clinician.user.name in client.get("/admin/directory").get_data(as_text=True)
    assert edit(client, entry.id).status_code == 302
    changed = entry_of(session, clinician)
    assert (changed.credentials, changed.address) == ("LCSW", "1 River Road")


def test_an_entry_cannot_move_to_another_practice(
    client, session, admin, clinician, other_clinician
):
    login_as(client, admin.email, admin.password)
    entry = entry_of(session, clinician)
    response = edit(client, entry.id, organization=OTHER_PRACTICE, credentials="PhD")
    assert response.status_code == 422
    assert "Add entries of your own organization only." in response.get_data(as_text=True)
    unchanged = entry_of(session, clinician)
    assert (unchanged.organization_name, unchanged.credentials) == ("Riverside Counseling", "")


def test_another_practices_entry_is_not_found(client, session, admin, other_clinician):
    login_as(client, admin.email, admin.password)
    theirs = entry_of(session, other_clinician)
    assert other_clinician.user.name not in client.get("/admin/directory").get_data(as_text=True)
    token = csrf_token(client.get("/admin/directory"))
    for url in (
        f"/admin/directory/{theirs.id}/edit",
        f"/admin/directory/{theirs.id}/disable",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url
    assert entry_of(session, other_clinician).active


def test_a_disabled_entry_is_no_longer_a_recipient(
    client, session, admin, clinician, other_clinician
):
    # Given the admin of the other practice disables their clinician's entry, after confirming
    their_admin = make_user(session, admin.actor.role, org=OTHER_PRACTICE)
    theirs = entry_of(session, other_clinician)
    login_as(client, their_admin.email, their_admin.password)
    page = client.get(f"/admin/directory/{theirs.id}/disable")
    assert f"Disable {other_clinician.user.name}?" in page.get_data(as_text=True)
    assert entry_of(session, other_clinician).active
    done = client.post(
        f"/admin/directory/{theirs.id}/disable", data={"csrf_token": csrf_token(page)}
    )
    assert done.status_code == 302
    # Then clinicians no longer find it, nor name it on a release, and the admin still sees it
    session.rollback()
    assert theirs.id not in {p.id for p in service.providers(session, clinician.actor)}
    assert "Disabled" in client.get("/admin/directory").get_data(as_text=True)
    own_client = make_client(session, clinician, given_name="Maya")
    token = api_token(client.application.test_client(), clinician.email, clinician.password)
    draft = client.post(
        "/api/v1/consents",
        headers=bearer(token),
        json=body({"client_id": own_client.id, "recipient_id": theirs.id}),
    )
    assert draft.status_code == 422
    assert "recipient_provider_id" in draft.get_json()["fields"]
    # And enabling it brings it back
    page = client.get(f"/admin/directory/{theirs.id}/enable")
    client.post(f"/admin/directory/{theirs.id}/enable", data={"csrf_token": csrf_token(page)})
    session.rollback()
    assert theirs.id in {p.id for p in service.providers(session, clinician.actor)}
