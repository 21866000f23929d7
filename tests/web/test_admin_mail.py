"""An administrator sees the mail of their practice that could not be delivered, and can have it
tried again; another practice's mail is a 404."""

from __future__ import annotations

from sqlalchemy import select

from roi import mail
from roi.actor import Role
from roi.db import unit_of_work
from roi.mail.models import OutboxItem, OutboxStatus
from tests.factories import make_user
from tests.helpers import csrf_token, delivered_mail, login_as


def failed(session, organization_id: int, to: str) -> int:
    with unit_of_work(session):
        item = mail.enqueue(
            session,
            mail.Mail(to=to, subject="Your roi signing code", text="."),
            organization_id=organization_id,
        )
        item.status, item.attempts, item.last_error = OutboxStatus.FAILED, 8, "SMTPDataError"
        session.flush()
        return item.id


def test_an_admin_retries_their_practice_failed_mail(client, session, admin):
    # Given a failed mail of the admin's practice and one of another practice
    ours = failed(session, admin.user.organization_id, "casey@client.example")
    other = make_user(session, Role.ADMIN, org="Northgate Psychiatry")
    theirs = failed(session, other.user.organization_id, "robin@client.example")
    login_as(client, admin.email, admin.password)
    # Then the dashboard counts it and the list shows it, not the other practice's
    assert "could not be delivered" in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/mail")
    text = page.get_data(as_text=True)
    assert "casey@client.example" in text
    assert "SMTPDataError" in text
    assert "robin@client.example" not in text
    # When the admin asks to retry the other practice's mail, it is not theirs to see
    token = csrf_token(page)
    assert client.post(f"/admin/mail/{theirs}/retry", data={"csrf_token": token}).status_code == 404
    # When they retry their own
    done = client.post(f"/admin/mail/{ours}/retry", data={"csrf_token": token})
    assert done.status_code == 302
    # Then the next worker pass delivers it, and the list is empty again
    assert [m["To"] for m in delivered_mail(client.application)] == ["casey@client.example"]
    assert "Every mail was delivered" in client.get("/admin/mail").get_data(as_text=True)
    session.rollback()
    statuses = dict(session.execute(select(OutboxItem.id, OutboxItem.status)).all())
    assert statuses == {ours: OutboxStatus.SENT, theirs: OutboxStatus.FAILED}


def test_retry_needs_the_csrf_token(client, session, admin):
    ours = failed(session, admin.user.organization_id, "casey@client.example")
    login_as(client, admin.email, admin.password)
    assert client.post(f"/admin/mail/{ours}/retry").status_code == 400
