"""Signing by the emailed link, without an account: link + date of birth + a one-time code from
the outbox; single use, expiring, locked after five wrong tries; the token never in a later URL."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Client, Organization
from roi.clock import now
from roi.consent import invitations, lifecycle
from roi.consent.library import FormLibrary
from roi.consent.models import (
    Consent,
    ConsentStatus,
    ExpiryEventKind,
    Notification,
    SigningInvitation,
)
from roi.errors import Invalid, NotFound
from tests.factories import make_client, make_provider, stand_in_documents
from tests.helpers import (
    PATIENCE,
    api_token,
    bearer,
    csrf_token,
    delivered_mail,
    held_up,
    login_as,
)

FORMS = Path(__file__).resolve().parents[2] / "forms"
BIRTH_DATE = date(1988, 2, 29)
DEAD = "This link is no longer valid"


@pytest.fixture(scope="module")
def library() -> FormLibrary:
    return FormLibrary.load(FORMS)


@dataclass
class Link:
    consent: Consent
    token: str

    @property
    def url(self) -> str:
        return f"/sign/{self.token}"


@pytest.fixture
def link(session, clinician, library) -> Link:
    """A release sent to a client with an email address and no account."""
    return send_link(session, clinician, library)


def send_link(session, clinician, library, **fields: object) -> Link:
    """A release (with `fields`) sent to a client with an email address and no account."""
    person = make_client(
        session,
        clinician,
        given_name="Casey",
        family_name="Lindqvist",
        birth_date=BIRTH_DATE,
        email="casey@client.example",
    )
    recipient = make_provider(session, clinician, name="Helen Brooks")
    draft = lifecycle.create(
        session,
        clinician.actor,
        lifecycle.ConsentFields(
            client_id=person.id,
            template_id="general-authorization",
            recipient_provider_id=recipient.id,
            categories=("diagnosis",),
            purposes=("treatment",),
            information_description="Diagnosis and a treatment summary.",
            **{"expires_on": now().date() + timedelta(days=180), **fields},  # type: ignore[arg-type]
        ),
        library,
    )
    sent = lifecycle.send_for_signature(
        session, clinician.actor, draft.id, library, invitation_lifetime=timedelta(days=7)
    )
    assert sent.invitation_token
    return Link(sent.consent, sent.invitation_token)


def latest_code(app) -> str:
    """The one-time code from the newest mail the outbox worker delivered."""
    mails = delivered_mail(app)
    assert mails, "no mail in the outbox"
    message = mails[-1]
    assert message["To"] == "casey@client.example"
    assert "Riverside Counseling" in message["Subject"]  # which practice the code is from
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"\b(\d{6})\b", body.get_content())
    assert match
    return match.group(1)


def notices_to_its_clinician(session, link: Link) -> list[str]:
    """The in-app notices of the clinician who prepared the link's release, as written."""
    session.rollback()
    query = select(Notification.text).where(Notification.user_id == link.consent.created_by_id)
    return list(session.scalars(query))


def ask_for_code(client, instance_path: Path) -> str:
    page = client.get("/sign/identity")
    assert page.status_code == 200
    response = client.post("/sign/code", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    return latest_code(client.application)


def enter(client, birth_date: date | str, code: str):
    page = client.get("/sign/identity")
    value = birth_date.isoformat() if isinstance(birth_date, date) else birth_date
    return client.post(
        "/sign/verify",
        data={"birth_date": value, "code": code, "csrf_token": csrf_token(page)},
    )


def sign(client, **changes: str):
    page = client.get("/sign/review")
    assert page.status_code == 200
    data = {
        "relationship": "self",
        "signer_name": "Casey Lindqvist",
        "agree": "y",
        "csrf_token": csrf_token(page),
        **changes,
    }
    return client.post("/sign/review", data=data)


def reload(session, consent_id: int) -> Consent:
    session.rollback()
    consent = session.get(Consent, consent_id)
    assert consent is not None
    return consent


def test_the_whole_link_flow_signs_and_hands_over_the_copy(client, session, link, instance_path):
    visited: list[str] = []
    # Given the client opens the emailed link
    opened = client.get(link.url)
    # Then the token leaves the URL at once
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith("/sign/identity")
    assert opened.headers["Cache-Control"] == "no-store"
    # When they ask for a code, and enter it with their date of birth
    code = ask_for_code(client, instance_path)
    verified = enter(client, BIRTH_DATE, code)
    assert verified.status_code == 302
    assert verified.headers["Location"].endswith("/sign/review")
    # Then they read the release
    review = client.get("/sign/review")
    text = review.get_data(as_text=True)
    assert review.status_code == 200
    assert review.headers["Cache-Control"] == "no-store"
    for words in ("Helen Brooks", "Diagnosis and treatment summary", "How to revoke"):
        assert words in text
    # When they sign
    signed = sign(client)
    assert signed.status_code == 302
    assert signed.headers["Location"].endswith("/sign/done")
    # Then the release is active, signed by the link's identity check
    stored = reload(session, link.consent.id)
    assert stored.status is ConsentStatus.ACTIVE
    assert stored.signature is not None
    assert stored.signature.identity_method == "email_link_dob_code"
    # And they can download exactly what they signed, at once
    done = client.get("/sign/done")
    assert done.status_code == 200
    assert "Download your signed copy" in done.get_data(as_text=True)
    pdf = client.get("/sign/done/release.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    assert pdf.headers["Content-Disposition"] == (
        f'attachment; filename="release-{link.consent.id}.pdf"'
    )
    assert hashlib.sha256(pdf.data).hexdigest() == stored.document_sha256
    # And the token appears in no URL or page after the first
    for url in ("/sign/identity", "/sign/done"):
        visited.append(client.get(url).get_data(as_text=True))
    for body in [text, *visited]:
        assert link.token not in body
    for response in (opened, verified, signed):
        assert link.token not in response.headers["Location"]
    # And the link is single use: it is dead now
    again = client.get(link.url)
    assert again.status_code == 404
    assert DEAD in again.get_data(as_text=True)


def test_a_wrong_birth_date_or_a_wrong_code_is_refused(client, session, link, instance_path):
    client.get(link.url)
    code = ask_for_code(client, instance_path)
    wrong_code = "000000" if code != "000000" else "111111"
    # A wrong date of birth, with the right code
    first = enter(client, date(1988, 3, 1), code)
    assert first.status_code == 422
    assert "The date of birth or the code does not match" in first.get_data(as_text=True)
    # the summary at the top links to the code's field
    assert '<a href="#code">The date of birth or the code' in first.get_data(as_text=True)
    # A wrong code, with the right date of birth
    second = enter(client, BIRTH_DATE, wrong_code)
    assert second.status_code == 422
    assert "The date of birth or the code does not match" in second.get_data(as_text=True)
    # No way round the check: the review page sends them back, and nothing is signed
    assert client.get("/sign/review").headers["Location"].endswith("/sign/identity")
    assert reload(session, link.consent.id).status is ConsentStatus.PENDING_SIGNATURE


def test_each_failure_says_how_many_tries_are_left_and_five_lock_the_link(
    client, session, link, instance_path
):
    client.get(link.url)
    code = ask_for_code(client, instance_path)
    wrong_code = "000000" if code != "000000" else "111111"
    for left in ("4 tries", "3 tries", "2 tries", "One try"):
        response = enter(client, BIRTH_DATE, wrong_code)
        assert response.status_code == 422
        assert f"{left} left" in response.get_data(as_text=True)
    # The fifth failure locks the link
    fifth = enter(client, BIRTH_DATE, wrong_code)
    assert fifth.status_code == 404
    assert DEAD in fifth.get_data(as_text=True)
    # And the clinician who sent it is told, on their overview, which release is locked
    notices = notices_to_its_clinician(session, link)
    assert (
        f"The signing link of release #{link.consent.id} for Casey Lindqvist is locked after five "
        "wrong answers to its check. If the client asks, send a new link from the release's page."
    ) in notices
    # And from then on even the right answers open nothing, from a fresh browser too
    fresh = client.application.test_client()
    assert fresh.get(link.url).status_code == 404
    assert reload(session, link.consent.id).status is ConsentStatus.PENDING_SIGNATURE


def test_the_code_expires_after_ten_minutes(client, link, instance_path):
    start = now()
    with time_machine.travel(start, tick=True) as clock:
        client.get(link.url)
        code = ask_for_code(client, instance_path)
        clock.shift(timedelta(minutes=10, seconds=1))
        late = enter(client, BIRTH_DATE, code)
        assert late.status_code == 422
        # a new code works
        clock.shift(timedelta(minutes=1))
        fresh = ask_for_code(client, instance_path)
        assert enter(client, BIRTH_DATE, fresh).status_code == 302


def test_a_second_code_within_a_minute_is_refused_kindly(client, link, instance_path):
    client.get(link.url)
    ask_for_code(client, instance_path)
    page = client.get("/sign/identity")
    again = client.post("/sign/code", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 302
    assert "A code was just sent" in client.get("/sign/identity").get_data(as_text=True)
    codes = [m for m in delivered_mail(client.application) if "code" in str(m["Subject"])]
    assert len(codes) == 1


def test_an_expired_link_is_dead(client, link):
    with time_machine.travel(now() + timedelta(days=7, minutes=1), tick=False):
        response = client.get(link.url)
    assert response.status_code == 404
    assert DEAD in response.get_data(as_text=True)


def test_a_voided_releases_link_is_dead(client, session, clinician, link):
    lifecycle.void(session, clinician.actor, link.consent.id)
    response = client.get(link.url)
    assert response.status_code == 404
    assert DEAD in response.get_data(as_text=True)


def test_a_link_voided_mid_flow_dies_on_the_next_step(
    client, session, clinician, link, instance_path
):
    client.get(link.url)
    code = ask_for_code(client, instance_path)
    assert enter(client, BIRTH_DATE, code).status_code == 302
    lifecycle.void(session, clinician.actor, link.consent.id)
    response = client.get("/sign/review")
    assert response.status_code == 404
    assert DEAD in response.get_data(as_text=True)


def test_an_unknown_token_and_no_link_at_all_are_dead(client):
    assert client.get("/sign/" + "x" * 43).status_code == 404
    response = client.get("/sign/identity")
    assert response.status_code == 404
    assert DEAD in response.get_data(as_text=True)


def test_verification_belongs_to_the_browser_that_did_it(client, app, link, instance_path):
    # Given the client verified in their browser
    client.get(link.url)
    code = ask_for_code(client, instance_path)
    assert enter(client, BIRTH_DATE, code).status_code == 302
    # When someone else opens the same link in another browser within the 30 minutes
    other = app.test_client()
    other.get(link.url)
    # Then they still have to prove who they are
    assert other.get("/sign/review").headers["Location"].endswith("/sign/identity")


def test_signing_problems_are_shown_next_to_the_fields(client, session, link, instance_path):
    client.get(link.url)
    code = ask_for_code(client, instance_path)
    enter(client, BIRTH_DATE, code)
    response = sign(client, agree="", relationship="guardian")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tick the box to agree to sign electronically" in text
    assert "Describe your authority" in text
    assert reload(session, link.consent.id).status is ConsentStatus.PENDING_SIGNATURE


def test_posts_without_csrf_token_are_refused(client, session, link, instance_path):
    client.get(link.url)
    assert client.post("/sign/code").status_code == 400
    code = ask_for_code(client, instance_path)
    no_token = client.post(
        "/sign/verify", data={"birth_date": BIRTH_DATE.isoformat(), "code": code}
    )
    assert no_token.status_code == 400
    assert enter(client, BIRTH_DATE, code).status_code == 302
    unsigned = client.post(
        "/sign/review", data={"relationship": "self", "signer_name": "Casey", "agree": "y"}
    )
    assert unsigned.status_code == 400
    assert reload(session, link.consent.id).status is ConsentStatus.PENDING_SIGNATURE


def test_the_copy_is_offered_for_thirty_minutes_only(client, link, instance_path):
    start = now()
    with time_machine.travel(start, tick=True) as clock:
        client.get(link.url)
        code = ask_for_code(client, instance_path)
        enter(client, BIRTH_DATE, code)
        assert sign(client).status_code == 302
        assert client.get("/sign/done/release.pdf").status_code == 200
        clock.shift(timedelta(minutes=31))
        assert client.get("/sign/done/release.pdf").status_code == 404


def test_a_refused_signature_starts_with_the_summary(client, link, instance_path):
    client.get(link.url)
    enter(client, BIRTH_DATE, ask_for_code(client, instance_path))
    page = sign(client, agree="", signer_name="").get_data(as_text=True)
    assert "<title>Error: " in page
    summary = page[page.index('<main id="main"') : page.index("Please read, then decide")]
    assert 'role="alert"' in summary
    assert "There is a problem" in summary
    assert re.findall(r'href="#([^"]+)"', summary) == ["signer_name", "agree"]
    assert 'id="signer_name"' in page
    assert 'id="agree"' in page


def test_the_link_asks_who_you_are_in_the_language_the_browser_asks_for(app, link):
    # Given a browser that asks for Spanish
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-MX,es;q=0.9"
    # When the client opens the emailed link
    page = browser.get(browser.get(link.url).headers["Location"])
    html = page.get_data(as_text=True)
    # Then the identity check speaks Spanish
    assert page.status_code == 200
    assert "Primero, confirme que es usted" in html
    assert "Enviarme un código por correo" in html
    assert "First, confirm it is you" not in html
    # And so do its errors
    empty = browser.post("/sign/verify", data={"csrf_token": csrf_token(page)})
    assert "Escriba su fecha de nacimiento." in empty.get_data(as_text=True)
    assert "Enter your date of birth." not in empty.get_data(as_text=True)


def test_the_code_mail_speaks_the_language_the_invitation_spoke(
    app, client, session, clinician, library, instance_path
):
    # Given a release in Spanish, sent to a client who never picked a language
    spanish = send_link(session, clinician, library, language="es")
    invitation = delivered_mail(app)[-1]
    # When they ask for their code
    client.get(spanish.url)
    ask_for_code(client, instance_path)
    # Then the code comes in Spanish, as the invitation did
    code_mail = delivered_mail(app)[-1]
    assert "firma" in invitation["Subject"]
    assert code_mail["Subject"] == "Su código para firmar con Riverside Counseling"


def test_a_locked_link_is_replaced_by_a_new_one_the_clinician_sends(
    app, client, session, clinician, link, instance_path
):
    # Given a link locked by five wrong tries ("ask your clinician to send you a new link")
    client.get(link.url)
    ask_for_code(client, instance_path)
    for _ in range(5):
        enter(client, BIRTH_DATE, "000000" if latest_code(app) != "000000" else "111111")
    assert client.application.test_client().get(link.url).status_code == 404
    # When the clinician emails a new signing link from the release's page
    staff = app.test_client()
    login_as(staff, clinician.email, clinician.password)
    page = staff.get(f"/clinician/consents/{link.consent.id}")
    assert "Email a new signing link" in page.get_data(as_text=True)
    done = staff.post(
        f"/clinician/consents/{link.consent.id}/signing-link",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert "a new email with a link to sign" in done.get_data(as_text=True)
    # Then the new link works, and the old one stays dead
    mailed = delivered_mail(app)[-1].get_body(preferencelist=("plain",)).get_content()
    new_url = re.search(r"(/sign/[A-Za-z0-9_-]+)", mailed).group(1)
    assert new_url != link.url
    fresh = app.test_client()
    assert fresh.get(new_url).status_code == 302
    assert fresh.get("/sign/identity").status_code == 200
    assert app.test_client().get(link.url).status_code == 404


def test_a_new_signing_link_only_for_a_release_waiting_with_an_address(
    client, session, clinician, library, link
):
    token = api_token(client, clinician.email, clinician.password)
    url = f"/api/v1/consents/{link.consent.id}/signing-link"
    assert client.post(url, headers=bearer(token)).status_code == 200
    # not once it is no longer waiting for a signature
    lifecycle.void(session, clinician.actor, link.consent.id)
    assert client.post(url, headers=bearer(token)).status_code == 409
    # nor for a client with no address to mail it to
    no_address = send_link(session, clinician, library)
    session.get(Client, no_address.consent.client_id).email = None
    session.commit()
    refused = client.post(
        f"/api/v1/consents/{no_address.consent.id}/signing-link", headers=bearer(token)
    )
    assert refused.status_code == 422
    assert "email" in refused.get_json()["fields"]


def test_until_when_is_in_the_readers_language_when_roi_worded_the_event(
    app, client, session, clinician, library, instance_path
):
    # Given a release until the end of treatment (roi keeps its own words for it in English)
    spanish = send_link(
        session,
        clinician,
        library,
        expiry_event_kind=ExpiryEventKind.END_OF_TREATMENT,
        expires_on=None,
    )
    # When the client reads it in Spanish
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    client.get(spanish.url)
    enter(client, BIRTH_DATE, ask_for_code(client, instance_path))
    review = client.get("/sign/review").get_data(as_text=True)
    glance = review.split('id="glance-heading"')[1].split("</section>")[0]
    # Then "until when" says it in Spanish too
    assert "el fin de su tratamiento con" in glance
    assert "the end of your treatment" not in glance


def test_the_link_pages_show_times_where_the_client_is(
    app, client, session, clinician, library, instance_path
):
    # Given a practice in California, and a client who signs at 7:30 p.m. there on 3 March
    # (3:30 a.m. on the 4th in UTC)
    session.get(Organization, clinician.user.organization_id).time_zone = "America/Los_Angeles"
    session.commit()
    evening = datetime(2026, 3, 4, 3, 30, tzinfo=UTC)
    with time_machine.travel(evening, tick=True), stand_in_documents():
        sent = send_link(session, clinician, library, expires_on=date(2026, 9, 1))
        client.get(sent.url)
        enter(client, BIRTH_DATE, ask_for_code(client, instance_path))
        sign(client)
        done = client.get("/sign/done").get_data(as_text=True)
    # Then the page gives the day and time they signed on, where they are, as the PDF does
    assert "3 Mar 2026, 19:30" in done
    assert "UTC" not in done


def test_wrong_answers_sent_at_once_each_count(engine, session, link, is_postgres):
    # PostgreSQL only: SQLite runs one writer at a time
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")
    # Given a link with three wrong answers already
    session.execute(update(SigningInvitation).values(failed_attempts=3))
    session.commit()
    other_pid: list[int] = []
    other_outcome: list[object] = []

    def answer_wrongly_elsewhere() -> None:
        with Session(engine) as other:
            other_pid.append(other.scalar(text("SELECT pg_backend_pid()")))
            other.rollback()
            try:
                invitations.verify(other, link.token, birth_date=None, code="000000", ip=None)
            except BaseException as refused:  # reported below
                other_outcome.append(refused)

    thread = threading.Thread(target=answer_wrongly_elsewhere)
    record = audit.record

    def record_then_answer_elsewhere(*args: object, **kwargs: object) -> object:
        recorded = record(*args, **kwargs)
        if threading.current_thread() is not thread and not thread.is_alive():
            # When another wrong answer arrives while this one is being counted
            held_up(engine, thread, other_pid, "the other answer wait, or finish")
        return recorded

    with (
        mock.patch.object(audit, "record", record_then_answer_elsewhere),
        pytest.raises(Invalid),
    ):
        invitations.verify(session, link.token, birth_date=None, code="000000", ip=None)
    thread.join(PATIENCE)
    assert not thread.is_alive()
    # Then both count: the fifth locked the link, and the clinician is told once
    [refused] = other_outcome
    assert isinstance(refused, NotFound)
    session.rollback()
    assert session.scalar(select(SigningInvitation.failed_attempts)) == 5
    locked = select(Notification).where(Notification.text.contains("is locked after five"))
    assert len(session.scalars(locked).all()) == 1


def test_a_right_answer_does_not_open_a_link_locked_meanwhile(engine, session, link, is_postgres):
    # PostgreSQL only: SQLite runs one writer at a time
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")
    # Given a link with four wrong answers, and a code sent
    invitation_id = session.scalar(select(SigningInvitation.id))
    session.execute(
        update(SigningInvitation).values(
            failed_attempts=4,
            code_sha256=invitations.digest(f"{invitation_id}:123456"),
            code_expires_at=now() + timedelta(minutes=10),
        )
    )
    session.commit()
    code = "123456"
    client_actor = invitations._client_actor

    def lock_it_elsewhere_first(*args: object, **kwargs: object) -> object:
        # When, just as the right answer is checked, a fifth wrong one locks the link elsewhere
        with Session(engine) as other, other.begin():
            other.execute(update(SigningInvitation).values(failed_attempts=5))
        return client_actor(*args, **kwargs)

    with (
        mock.patch.object(invitations, "_client_actor", lock_it_elsewhere_first),
        pytest.raises(NotFound),
    ):
        invitations.verify(session, link.token, birth_date=BIRTH_DATE, code=code, ip=None)
    # Then the right answer does not open it
    session.rollback()
    assert session.scalar(select(SigningInvitation.verified_at)) is None
