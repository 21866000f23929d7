"""Releases in the clinician's browser: choose a form, fill it, see what is missing, preview,
send (the client gets an email), void, record an expiration event, amend."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import time_machine
from babel.dates import format_date
from sqlalchemy import select

from roi.accounts.models import Provider, User
from roi.clock import now
from roi.consent.models import Consent, ConsentStatus
from tests.consent.conftest import CALIFORNIA
from tests.factories import make_client
from tests.helpers import csrf_token, delivered_mail, login_as


def recipient_id(session, person) -> int:
    return session.scalar(select(Provider.id).where(Provider.user_id == person.user.id))


def new_release(client, session, clinician, other_clinician, **overrides):
    record = make_client(session, clinician, given_name="Ana", email="ana@client.example")
    page = client.get(
        f"/clinician/clients/{record.id}/consents/new?template_id=general-authorization"
    )
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_token(page),
        "template_id": "general-authorization",
        "recipient_provider_id": str(recipient_id(session, other_clinician)),
        "direction": "two_way",
        "categories": ["diagnosis", "medications"],
        "information_description": "Diagnosis and current medications since March.",
        "purposes": ["treatment"],
        "expires_on": (now().date() + timedelta(days=90)).isoformat(),
        "expiry_event": "",
        "signer_relationship": "self",
    }
    form.update(overrides)
    return record, client.post(f"/clinician/clients/{record.id}/consents", data=form)


def test_choosing_a_form_comes_first(client, session, clinician):
    login_as(client, clinician.email, clinician.password)
    record = make_client(session, clinician)
    page = client.get(f"/clinician/clients/{record.id}/consents/new").get_data(as_text=True)
    for title in ("psychotherapy", "42 CFR Part 2"):
        assert title.lower() in page.lower()


def test_a_draft_lists_what_is_missing_then_sends(
    client, session, clinician, other_clinician, instance_path
):
    login_as(client, clinician.email, clinician.password)
    _, response = new_release(client, session, clinician, other_clinician, purposes=[])
    assert response.status_code == 302
    detail_url = response.headers["Location"]
    detail = client.get(detail_url).get_data(as_text=True)
    assert "Give each purpose of the disclosure" in detail
    assert "164.508(c)(1)(iv)" in detail
    # sending now is refused with the reason
    consent_id = int(detail_url.rstrip("/").split("/")[-1])
    refused = client.post(
        f"/clinician/consents/{consent_id}/send",
        data={"csrf_token": csrf_token(client.get(detail_url)), "confirmed": "yes"},
    )
    assert refused.status_code == 302
    assert "Not sent yet" in client.get(detail_url).get_data(as_text=True)
    # fix it through the edit form
    edit = client.get(f"/clinician/consents/{consent_id}/edit")
    fixed = client.post(
        f"/clinician/consents/{consent_id}/edit",
        data={
            "csrf_token": csrf_token(edit),
            "template_id": "general-authorization",
            "recipient_provider_id": str(recipient_id(session, other_clinician)),
            "direction": "two_way",
            "categories": ["diagnosis"],
            "information_description": "Diagnosis and current medications since March.",
            "purposes": ["treatment", "care_coordination"],
            "expires_on": (now().date() + timedelta(days=90)).isoformat(),
            "signer_relationship": "self",
        },
    )
    assert fixed.status_code == 302
    page = client.get(detail_url)
    assert "Every required element is present" in page.get_data(as_text=True)
    preview = client.get(f"/clinician/consents/{consent_id}/preview").get_data(as_text=True)
    assert "revoke" in preview.lower()
    # the clinician can read it as a Spanish-speaking client would, and back
    assert f'href="/clinician/consents/{consent_id}/preview?language=es"' in preview
    spanish = client.get(f"/clinician/consents/{consent_id}/preview?language=es")
    assert "Autorización para compartir su información de salud" in spanish.get_data(as_text=True)
    assert 'lang="es" aria-current="true"' in spanish.get_data(as_text=True)
    sent = client.post(
        f"/clinician/consents/{consent_id}/send",
        data={"csrf_token": csrf_token(page), "confirmed": "yes"},
    )
    assert sent.status_code == 302
    assert "Waiting for signature" in client.get(detail_url).get_data(as_text=True)
    # the client got an email with a link, and no health information in it
    mails = delivered_mail(client.application)
    assert len(mails) == 1
    text = mails[0].as_string()
    assert "https://roi.example.test/sign/" in text
    assert "Diagnosis" not in text
    assert "medications" not in text.lower()


def test_void_and_states_are_distinct(client, session, clinician, other_clinician):
    login_as(client, clinician.email, clinician.password)
    record, response = new_release(client, session, clinician, other_clinician)
    detail_url = response.headers["Location"]
    consent_id = int(detail_url.rstrip("/").split("/")[-1])
    client.post(
        f"/clinician/consents/{consent_id}/void",
        data={"csrf_token": csrf_token(client.get(detail_url)), "confirmed": "yes"},
    )
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.VOIDED
    listing = client.get(f"/clinician/clients/{record.id}").get_data(as_text=True)
    assert "Voided" in listing
    assert "Inactive" not in listing


def test_hostile_description_is_escaped(client, session, clinician, other_clinician):
    login_as(client, clinician.email, clinician.password)
    hostile = '<img src="file:///etc/passwd"><script>alert(1)</script> medications'
    _, response = new_release(
        client, session, clinician, other_clinician, information_description=hostile
    )
    detail_url = response.headers["Location"]
    consent_id = int(detail_url.rstrip("/").split("/")[-1])
    for url in (detail_url, f"/clinician/consents/{consent_id}/preview"):
        text = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;" in text


def test_the_recipient_reads_only_while_active_and_never_manages(
    client, session, clinician, other_clinician
):
    login_as(client, clinician.email, clinician.password)
    _, response = new_release(client, session, clinician, other_clinician)
    consent_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/clinician/"))})
    login_as(client, other_clinician.email, other_clinician.password)
    # a draft names a client who has agreed to nothing yet: not the recipient's to see (C7)
    assert client.get(f"/clinician/consents/{consent_id}").status_code == 404
    session.rollback()
    consent = session.get(Consent, consent_id)
    consent.status, consent.sent_at, consent.signed_at = ConsentStatus.ACTIVE, now(), now()
    session.commit()
    page = client.get(f"/clinician/consents/{consent_id}")
    assert page.status_code == 200
    assert "Send for signature" not in page.get_data(as_text=True)
    refused = client.post(
        f"/clinician/consents/{consent_id}/void",
        data={"csrf_token": csrf_token(page), "confirmed": "yes"},
    )
    assert refused.status_code == 403


def test_another_practices_release_is_not_found(client, session, clinician, other_clinician):
    # C1 for the consent routes: a clinician of a third practice uses the ids
    from roi.actor import Role
    from tests.factories import make_user

    login_as(client, clinician.email, clinician.password)
    _, response = new_release(client, session, clinician, other_clinician)
    consent_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/clinician/"))})
    outsider = make_user(session, Role.CLINICIAN, org="Elsewhere Clinic")
    login_as(client, outsider.email, outsider.password)
    base = f"/clinician/consents/{consent_id}"
    for url in (base, f"{base}/preview", f"{base}/edit", f"{base}/document.pdf"):
        assert client.get(url).status_code == 404, url
    token = csrf_token(client.get("/clinician/"))
    for action in ("send", "void", "new-version"):
        assert client.post(f"{base}/{action}", data={"csrf_token": token}).status_code == 404
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.DRAFT


def test_a_recipient_can_be_added_in_place(client, session, clinician, other_clinician):
    login_as(client, clinician.email, clinician.password)
    _, response = new_release(
        client,
        session,
        clinician,
        other_clinician,
        recipient_provider_id="0",
        new_provider_name="Helen Brooks",
        new_provider_credentials="MD",
        new_provider_organization="Lakeside Family Medicine",
        new_provider_email="hb@lakeside.example",
    )
    assert response.status_code == 302
    session.rollback()
    helen = session.scalar(select(Provider).where(Provider.name == "Helen Brooks"))
    assert helen is not None
    consent_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert session.get(Consent, consent_id).recipient_provider_id == helen.id


def test_an_incomplete_new_recipient_adds_nothing(client, session, clinician, other_clinician):
    login_as(client, clinician.email, clinician.password)
    _, response = new_release(
        client,
        session,
        clinician,
        other_clinician,
        recipient_provider_id="0",
        new_provider_name="Helen Brooks",
        new_provider_organization="",
    )
    assert response.status_code == 422
    assert "Enter the practice or organization." in response.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(Provider).where(Provider.name == "Helen Brooks")) is None
    assert session.scalars(select(Consent)).all() == []


def test_the_live_check_lists_what_is_missing_without_saving(client, session, clinician):
    login_as(client, clinician.email, clinician.password)
    record = make_client(session, clinician)
    page = client.get(
        f"/clinician/clients/{record.id}/consents/new?template_id=general-authorization"
    )
    response = client.post(
        "/clinician/consents/check",
        data={
            "csrf_token": csrf_token(page),
            "template_id": "general-authorization",
            "recipient_provider_id": "0",
            "categories": ["diagnosis"],
            "information_description": "",
        },
    )
    assert response.status_code == 200
    missing = {m["field"]: m["rule"] for m in response.get_json()["missing"]}
    assert missing == {
        "information_description": "164.508(c)(1)(i)",
        "recipient_provider_id": "164.508(c)(1)(iii)",
        "purposes": "164.508(c)(1)(iv)",
        "expires_on": "164.508(c)(1)(v)",
    }
    session.rollback()
    assert session.scalars(select(Consent)).all() == []
    # and it needs the CSRF token like any other POST
    assert client.post("/clinician/consents/check", data={"template_id": "x"}).status_code == 400


def test_the_live_check_reads_the_end_day_on_the_practices_calendar(client, session, clinician):
    # Given a clinician of a practice in California, at 8 p.m. there (the next day in UTC)
    session.get(User, clinician.user.id).organization.time_zone = "America/Los_Angeles"
    session.commit()
    evening = datetime.combine(now().date() + timedelta(days=3), time(20), tzinfo=CALIFORNIA)
    record = make_client(session, clinician)
    with time_machine.travel(evening, tick=False):
        login_as(client, clinician.email, clinician.password)
        page = client.get(
            f"/clinician/clients/{record.id}/consents/new?template_id=general-authorization"
        )

        def missing_with(expires_on: date) -> set[str]:
            response = client.post(
                "/clinician/consents/check",
                data={
                    "csrf_token": csrf_token(page),
                    "template_id": "general-authorization",
                    "categories": ["diagnosis"],
                    "expires_on": expires_on.isoformat(),
                },
            )
            return {m["field"] for m in response.get_json()["missing"]}

        # Then a release ending tomorrow there is fine; one ending today there is not
        assert "expires_on" not in missing_with(evening.date() + timedelta(days=1))
        assert "expires_on" in missing_with(evening.date())


# --- one click never sends or voids (issue 14 item 4) -------------------------------------------


def complete_draft(client, session, clinician, other_clinician) -> tuple[int, str]:
    login_as(client, clinician.email, clinician.password)
    _, response = new_release(client, session, clinician, other_clinician)
    detail_url = response.headers["Location"]
    return int(detail_url.rstrip("/").split("/")[-1]), detail_url


def test_sending_asks_first_naming_the_address_recipient_information_and_expiry(
    client, session, clinician, other_clinician
):
    consent_id, detail_url = complete_draft(client, session, clinician, other_clinician)
    send_url = f"/clinician/consents/{consent_id}/send"
    # "Send for signature" leads to a page that says what goes where
    detail = client.get(detail_url).get_data(as_text=True)
    assert f'action="{send_url}"' in detail
    page = client.get(send_url)
    shown = page.get_data(as_text=True)
    session.rollback()
    consent = session.get(Consent, consent_id)
    for fact in (
        "ana@client.example",
        consent.recipient.name,
        "Diagnosis",
        "Medications",
        format_date(consent.expires_on, "long", locale="en"),
        "Looks right — send",
    ):
        assert fact in shown, fact
    # a post without the confirmation shows the page again and mails nothing
    unconfirmed = client.post(send_url, data={"csrf_token": csrf_token(page)})
    assert unconfirmed.status_code == 200
    assert "Looks right — send" in unconfirmed.get_data(as_text=True)
    assert delivered_mail(client.application) == []
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.DRAFT
    # "Looks right — send" sends it
    sent = client.post(send_url, data={"csrf_token": csrf_token(page), "confirmed": "yes"})
    assert sent.status_code == 302
    assert len(delivered_mail(client.application)) == 1
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.PENDING_SIGNATURE
    # And opened again (Back), the page says it was sent, offering no second send
    again = client.get(send_url).get_data(as_text=True)
    assert "This release cannot be sent: it is waiting for the client&#39;s signature." in again
    assert "Looks right — send" not in again


def test_the_preview_of_a_complete_draft_ends_in_looks_right_send(
    client, session, clinician, other_clinician
):
    consent_id, _ = complete_draft(client, session, clinician, other_clinician)
    preview = client.get(f"/clinician/consents/{consent_id}/preview")
    shown = preview.get_data(as_text=True)
    assert "Looks right — send" in shown
    assert "ana@client.example" in shown
    token = re.search(r'name="confirmed" type="hidden" value="(\w+)"', shown)
    assert token is not None
    client.post(
        f"/clinician/consents/{consent_id}/send",
        data={"csrf_token": csrf_token(preview), "confirmed": token.group(1)},
    )
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.PENDING_SIGNATURE
    # once sent, the preview leads back to the release instead
    after = client.get(f"/clinician/consents/{consent_id}/preview").get_data(as_text=True)
    assert "Looks right — send" not in after
    assert f"Back to release #{consent_id}" in after


def test_void_is_apart_from_send_and_asks_first_saying_what_it_means(
    client, session, clinician, other_clinician
):
    consent_id, detail_url = complete_draft(client, session, clinician, other_clinician)
    void_url = f"/clinician/consents/{consent_id}/void"
    detail = client.get(detail_url).get_data(as_text=True)
    # no red Void button beside Send: a plain link to a page that explains
    assert 'class="button danger">Void' not in detail
    assert f'href="{void_url}"' in detail
    page = client.get(void_url)
    shown = page.get_data(as_text=True)
    assert "can never be signed" in shown
    assert "never permits any disclosure" in shown
    unconfirmed = client.post(void_url, data={"csrf_token": csrf_token(page)})
    assert unconfirmed.status_code == 200
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.DRAFT
    client.post(void_url, data={"csrf_token": csrf_token(page), "confirmed": "yes"})
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.VOIDED
    # nothing left to void: the page leads back to the release
    assert client.get(void_url).status_code == 302


def test_the_release_pages_speak_spanish(client, session, clinician, other_clinician):
    consent_id, detail_url = complete_draft(client, session, clinician, other_clinician)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    for url, spanish in (
        (detail_url, "Enviar para firma"),
        (f"/clinician/consents/{consent_id}/send", "Se ve bien: enviar"),
        (f"/clinician/consents/{consent_id}/void", "Qué significa anular"),
        (f"/clinician/consents/{consent_id}/preview", "Se ve bien: enviar"),
    ):
        shown = client.get(url).get_data(as_text=True)
        assert spanish in shown, url
        assert "Send for signature" not in shown
        assert "Looks right" not in shown
