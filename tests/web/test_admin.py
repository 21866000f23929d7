"""Administration in the browser: add users, disable one and their live session dies (B5)."""

from __future__ import annotations

from tests.helpers import csrf_token, login_as, post_form


def test_admin_adds_a_clinician(client, admin):
    login_as(client, admin.email, admin.password)
    response = post_form(
        client,
        "/admin/users/new",
        "/admin/users/new",
        {
            "name": "Lee Park",
            "email": "lee@example.org",
            "role": "clinician",
            "organization": "Riverside Counseling",
            "password": "violet kettle harbor thunder",
        },
    )
    assert response.status_code == 302
    assert "lee@example.org" in client.get("/admin/users").get_data(as_text=True)


def test_admin_form_shows_reasons(client, admin):
    login_as(client, admin.email, admin.password)
    response = post_form(
        client,
        "/admin/users/new",
        "/admin/users/new",
        {"name": "Lee", "email": "lee@example.org", "role": "clinician", "password": "password"},
    )
    assert response.status_code == 422
    assert "Use at least 12 characters." in response.get_data(as_text=True)


def test_disabling_a_user_kills_their_live_session(app, client, admin, clinician):
    # Given the clinician is signed in elsewhere
    theirs = app.test_client()
    login_as(theirs, clinician.email, clinician.password)
    assert theirs.get("/clinician/").status_code == 200
    # When the admin disables them
    login_as(client, admin.email, admin.password)
    page = client.get("/admin/users")
    response = client.post(
        f"/admin/users/{clinician.user.id}/disable", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    # Then their next request is signed out, and they cannot sign in again
    assert theirs.get("/clinician/").status_code == 302
    assert login_as(app.test_client(), clinician.email, clinician.password).status_code == 200


def test_password_change_page(client, clinician):
    login_as(client, clinician.email, clinician.password)
    response = post_form(
        client,
        "/account/password",
        "/account/password",
        {"current_password": clinician.password, "new_password": "short"},
    )
    assert response.status_code == 422
    assert "Use at least 12 characters." in response.get_data(as_text=True)
    response = post_form(
        client,
        "/account/password",
        "/account/password",
        {"current_password": clinician.password, "new_password": "violet kettle harbor thunder"},
    )
    assert response.status_code == 302
    assert client.get("/clinician/").status_code == 200


def test_clinician_adds_a_client_and_a_provider(client, clinician):
    login_as(client, clinician.email, clinician.password)
    response = post_form(
        client,
        "/clinician/clients/new",
        "/clinician/clients/new",
        {"given_name": "Ana", "family_name": "Lima", "birth_date": "1990-03-04", "email": ""},
    )
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ana Lima" in detail
    assert "March 4, 1990" in detail or "4 March 1990" in detail
    found = post_form(client, "/clinician/clients", "/clinician/clients", {"q": "lim"})
    assert "Lima, Ana" in found.get_data(as_text=True)
    response = post_form(
        client,
        "/clinician/directory/new",
        "/clinician/directory/new",
        {
            "name": "Helen Brooks",
            "credentials": "MD",
            "organization": "Lakeside",
            "address": "",
            "email": "",
        },
    )
    assert response.status_code == 302
    assert "Helen Brooks, MD" in client.get("/clinician/directory?q=brooks").get_data(as_text=True)
