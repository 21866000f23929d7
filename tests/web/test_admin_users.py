"""An admin changes a user's name and role, disables and enables them, and sends a password link,
each after a confirmation page and on the record; another practice's users are 404."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from roi.accounts.models import Provider, User
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from tests.helpers import csrf_token, delivered_mail, login_as, post_form

LINK = re.compile(r"https://roi\.example\.test(/password-reset/[A-Za-z0-9_\-]+)")


def fresh(session, model, ident):
    session.rollback()  # a fresh snapshot: the app committed in another connection
    return session.get(model, ident)


def audited(session, action: Action, user_id: int) -> bool:
    session.rollback()
    return (
        session.scalar(
            select(AuditEntry.seq).where(
                AuditEntry.action == action, AuditEntry.subject_user_id == user_id
            )
        )
        is not None
    )


def test_a_name_and_role_change_is_confirmed_then_made(app, client, session, admin, compliance):
    login_as(client, admin.email, admin.password)
    edit = f"/admin/users/{compliance.user.id}/edit"
    assert compliance.user.name in client.get(edit).get_data(as_text=True)
    # When the admin submits the form, a confirmation page names the change, and nothing changed
    review = post_form(client, edit, edit, {"name": "Priya R. Raman", "role": "clinician"})
    text = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "Confirm the change" in text
    assert "Compliance → <strong>Clinician</strong>" in text
    assert fresh(session, User, compliance.user.id).role is Role.COMPLIANCE
    # When they confirm
    done = client.post(
        edit,
        data={
            "name": "Priya R. Raman",
            "role": "clinician",
            "confirmed": "yes",
            "csrf_token": csrf_token(review),
        },
    )
    assert done.status_code == 302
    # Then the account changed, the new clinician has a directory entry, and it is on record
    user = fresh(session, User, compliance.user.id)
    assert (user.name, user.role) == ("Priya R. Raman", Role.CLINICIAN)
    assert session.scalar(select(Provider.name).where(Provider.user_id == user.id)) == (
        "Priya R. Raman"
    )
    assert audited(session, Action.USER_UPDATED, user.id)
    # And their next page is a clinician's
    theirs = app.test_client()
    login_as(theirs, compliance.email, compliance.password)
    assert theirs.get("/clinician/").status_code == 200


def test_refused_role_changes(client, session, admin, client_person):
    login_as(client, admin.email, admin.password)
    for user_id, role in ((client_person.user.id, "admin"), (admin.user.id, "clinician")):
        edit = f"/admin/users/{user_id}/edit"
        page = client.get(edit)
        response = client.post(
            edit,
            data={"name": "X Y", "role": role, "confirmed": "yes", "csrf_token": csrf_token(page)},
        )
        assert response.status_code == 422, (user_id, role)
    assert fresh(session, User, client_person.user.id).role is Role.CLIENT
    assert fresh(session, User, admin.user.id).role is Role.ADMIN


def test_another_practices_user_cannot_be_seen_changed_or_invited(
    client, session, admin, other_clinician
):
    login_as(client, admin.email, admin.password)
    token = csrf_token(client.get("/admin/users"))
    theirs = other_clinician.user.id
    for url in (
        f"/admin/users/{theirs}",
        f"/admin/users/{theirs}/edit",
        f"/admin/users/{theirs}/disable",
        f"/admin/users/{theirs}/invite",
    ):
        assert client.get(url).status_code == 404, url
    edit = client.post(
        f"/admin/users/{theirs}/edit",
        data={"name": "Hacked", "role": "admin", "confirmed": "yes", "csrf_token": token},
    )
    assert edit.status_code == 404
    assert client.post(f"/admin/users/{theirs}/invite", data={"csrf_token": token}).status_code == (
        404
    )
    user = fresh(session, User, theirs)
    assert (user.name, user.role) == ("Samuel Okafor", Role.CLINICIAN)
    assert delivered_mail(client.application) == []


def test_disabling_asks_first(client, session, admin, clinician):
    login_as(client, admin.email, admin.password)
    users = client.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{clinician.user.id}/disable"' in users
    page = client.get(f"/admin/users/{clinician.user.id}/disable")
    assert f"Disable {clinician.user.name}?" in page.get_data(as_text=True)
    assert fresh(session, User, clinician.user.id).active
    done = client.post(
        f"/admin/users/{clinician.user.id}/disable", data={"csrf_token": csrf_token(page)}
    )
    assert done.status_code == 302
    assert not fresh(session, User, clinician.user.id).active
    assert audited(session, Action.USER_DISABLED, clinician.user.id)


def test_a_password_link_is_sent_after_confirmation_and_lasts_a_week(
    app, client, session, admin, clinician
):
    login_as(client, admin.email, admin.password)
    page = client.get(f"/admin/users/{clinician.user.id}/invite")
    assert "Send the link" in page.get_data(as_text=True)
    assert delivered_mail(app) == []
    sent = client.post(
        f"/admin/users/{clinician.user.id}/invite", data={"csrf_token": csrf_token(page)}
    )
    assert sent.status_code == 302
    (mail,) = delivered_mail(app)
    assert mail["To"] == clinician.email
    path = LINK.search(mail.get_content()).group(1)  # type: ignore[union-attr]
    assert audited(session, Action.USER_INVITED, clinician.user.id)
    with time_machine.travel(now() + timedelta(days=8)):
        assert app.test_client().get(path).status_code == 400
    with time_machine.travel(now() + timedelta(days=6)):
        person = app.test_client()
        response = post_form(person, path, path, {"password": "amber lantern quietly folding"})
        assert response.status_code == 302
        assert login_as(person, clinician.email, "amber lantern quietly folding").status_code == 302


def test_a_disabled_user_gets_no_link(app, client, session, admin, clinician):
    user = session.get(User, clinician.user.id)
    user.active = False
    session.commit()
    login_as(client, admin.email, admin.password)
    page = client.get(f"/admin/users/{clinician.user.id}/invite")
    response = client.post(
        f"/admin/users/{clinician.user.id}/invite", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    assert "Enable the account before" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert delivered_mail(app) == []


def test_no_name_or_address_waits_in_the_session_cookie(app, client, session, admin, client_person):
    # A flashed message waits in the session cookie (signed, not encrypted) until it is shown:
    # about a client's account it must name nobody (SECURITY B4)
    login_as(client, admin.email, admin.password)
    user_id = client_person.user.id
    serializer = app.session_interface.get_signing_serializer(app)
    for action in ("disable", "enable", "invite"):
        page = client.get(f"/admin/users/{user_id}/{action}")
        done = client.post(
            f"/admin/users/{user_id}/{action}", data={"csrf_token": csrf_token(page)}
        )
        assert done.status_code == 302, action
        payload = str(serializer.loads(client.get_cookie("__Host-roi_session").value))
        assert "_flashes" in payload, action
        for phi in (client_person.email, client_person.user.name):
            assert phi not in payload, (action, phi)
        client.get(done.headers["Location"])  # shown, and gone from the cookie
