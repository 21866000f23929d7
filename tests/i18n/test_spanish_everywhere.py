"""A Spanish reader meets no English anywhere in roi: every page each role reaches from its
navigation (and the pages those link to), with a practice full of realistic history, and a
refused form of each role, read with a browser that asks for Spanish."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from roi.accounts.models import Client, Provider
from roi.actor import Role
from roi.clock import now
from roi.compliance import disclosures, requests
from roi.compliance.models import Channel
from roi.consent import lifecycle, restrictions, share_requests
from roi.consent.library import FormLibrary
from roi.consent.models import Consent
from roi.errors import ConsentRequired
from roi.messaging import service
from tests.consent.conftest import FORMS, identity, signature
from tests.factories import Person, make_client_user, make_user, stand_in_documents
from tests.helpers import api_token, bearer, csrf_token, delivered_mail, login_as, post_form
from tests.i18n.spanish import SPANISH, english_left

#: what people typed in this practice: names, addresses, free text (kept out of the check)
TYPED = (
    "Dana Whitfield",
    "Samuel Okafor",
    "Jordan Avery",
    "Casey Morgan",
    "Alex Morgan",
    "Riverside Counseling",
    "Northgate Psychiatry",
    "Lakeside Family Medicine",
)
#: links that leave the page's language or are not pages
SKIP = re.compile(r"/(logout|static|api)/|\.(pdf|csv|xlsx|json|png|svg)$|/download|/export")


@dataclass
class Practice:
    therapist: Person
    psychiatrist: Person
    client_person: Person
    officer: Person
    admin: Person
    client_id: int
    recipient_id: int
    active_id: int
    revoked_id: int
    draft_id: int
    waiting_id: int
    invitation: str


def _fields(client_id: int, recipient_id: int, **changes: object) -> lifecycle.ConsentFields:
    values: dict[str, object] = {
        "client_id": client_id,
        "template_id": "general-authorization",
        "recipient_provider_id": recipient_id,
        "categories": ("diagnosis", "medications"),
        "purposes": ("treatment",),
        "information_description": "Diagnóstico y medicamentos actuales.",
        "expires_on": now().date() + timedelta(days=365),
        **changes,
    }
    return lifecycle.ConsentFields(**values)  # type: ignore[arg-type]


@pytest.fixture
def practice(client, session) -> Practice:
    library = FormLibrary.load(FORMS)
    therapist = make_user(session, Role.CLINICIAN, name="Dana Whitfield")
    psychiatrist = make_user(
        session, Role.CLINICIAN, org="Northgate Psychiatry", name="Samuel Okafor"
    )
    officer = make_user(session, Role.COMPLIANCE, name="Casey Morgan")
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    record, person = make_client_user(
        session,
        therapist,
        given_name="Jordan",
        family_name="Avery",
        birth_date=date(1991, 4, 12),
        email="jordan@client.example",
    )
    kept = session.get(Client, record.id)
    assert kept is not None
    kept.language = "es"
    # a state whose rules have citations of their own (rules/signers.toml, Spanish beside them)
    kept.organization.state = "FL"
    session.commit()
    recipient = session.scalar(select(Provider).where(Provider.user_id == psychiatrist.user.id))
    assert recipient is not None

    def sent(**changes: object) -> lifecycle.Sent:
        draft = lifecycle.create(
            session, therapist.actor, _fields(record.id, recipient.id, **changes), library
        )
        return lifecycle.send_for_signature(
            session, therapist.actor, draft.id, library, invitation_lifetime=timedelta(days=7)
        )

    def signed(**changes: object) -> Consent:
        with stand_in_documents():
            return lifecycle.sign_as_client(
                session,
                person.actor,
                sent(**changes).consent.id,
                signature(),
                identity(person),
                library,
            )

    active = signed()
    revoked = signed(categories=("assessments",))
    lifecycle.revoke(session, person.actor, revoked.id, reason="Ya no lo necesito.")
    draft = lifecycle.create(
        session, therapist.actor, _fields(record.id, recipient.id, categories=()), library
    )
    waiting = sent(categories=("attendance",))
    # a message sent, and one the gate refused
    outgoing = service.Outgoing(
        client_id=record.id,
        recipient_provider_id=recipient.id,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Resumen de la derivación",
        body="Diagnóstico y plan actual.",
    )
    service.send(session, therapist.actor, library, outgoing)
    service.send(session, therapist.actor, library, outgoing)  # summarized in the accounting
    with pytest.raises(ConsentRequired):
        service.send(
            session,
            therapist.actor,
            library,
            service.Outgoing(**{**outgoing.__dict__, "categories": ("assessments",)}),
        )
    # a restriction the client asked for and the therapist agreed to
    asked = restrictions.request(
        session,
        person.actor,
        library,
        record.id,
        restrictions.NewRestriction(None, ("diagnosis",), "Mantenga privado mi diagnóstico."),
    )
    restrictions.decide(session, therapist.actor, asked.id, agree=True, reason=None)
    # a request to share the records with someone outside the directory
    share_requests.request_sharing(
        session,
        person.actor,
        share_requests.NewShareRequest(
            provider_name="Clínica Las Palmas",
            provider_address="Avenida Central 12",
            note="Para mi nueva terapeuta.",
        ),
    )
    # an emergency disclosure (through the API, as the emergency path runs)
    token = api_token(client, therapist.email, therapist.password)
    emergency = client.post(
        "/api/v1/messages",
        headers=bearer(token),
        json={
            "client_id": record.id,
            "recipient_provider_id": recipient.id,
            "categories": ["medications"],
            "purpose": "treatment",
            "subject": "Medicamentos actuales",
            "body": "Sertralina 100 mg al día.",
            "emergency": {
                "basis": "medical_emergency",
                "nature": "Sobredosis; llegó inconsciente a urgencias.",
                "recipient_personnel": "Guardia de psiquiatría de urgencias",
            },
        },
    )
    assert emergency.status_code == 201, emergency.get_json()
    # an outside disclosure and an accounting request
    disclosures.record(
        session,
        officer.actor,
        disclosures.NewOutsideDisclosure(
            client_id=record.id,
            disclosed_on=now().date() - timedelta(days=3),
            description="Fechas de tratamiento 2025-2026.",
            purpose="Citación judicial, tribunal de familia",
            basis="judicial",
            recipient_name="Secretaría del Tribunal de Familia",
            recipient_address="Calle Mayor 100\nSpringfield",
        ),
    )
    requests.record(
        session,
        officer.actor,
        requests.NewRequest(record.id, now().date() - timedelta(days=2), Channel.PHONE),
    )
    return Practice(
        therapist,
        psychiatrist,
        person,
        officer,
        admin,
        record.id,
        recipient.id,
        active.id,
        revoked.id,
        draft.id,
        waiting.consent.id,
        sent(categories=("treatment_plan",)).invitation_token or "",
    )


def crawl(client, start: str, *extra: str, limit: int = 120) -> dict[str, list[str]]:
    """Every page reachable by a link from `start` (and `extra`), within `limit`: the English
    words each one shows, for those that show some."""
    seen: set[str] = set()
    queue = [start, *extra]
    found: dict[str, list[str]] = {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, follow_redirects=True)
        if "text/html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        assert '<html lang="es">' in html, url
        if words := english_left(html, *TYPED):
            found[url] = words
        for href in re.findall(r'href="([^"#]+)', html):
            parts = urlsplit(unescape(href))
            if parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def assert_spanish(found: dict[str, list[str]]) -> None:
    """No English on any page; else each page with its English, in context."""
    found = {url: words for url, words in found.items() if words}
    assert not found, "\n".join(f"{url}:\n  " + "\n  ".join(words) for url, words in found.items())


def sign_in(client, person: Person) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    login_as(client, person.email, person.password)


def test_the_client_reads_every_page_in_spanish(client, practice):
    sign_in(client, practice.client_person)
    refused = post_form(client, "/portal/restrictions", "/portal/restrictions", {"description": ""})
    assert refused.status_code == 422
    refused_words = english_left(refused.get_data(as_text=True), *TYPED)
    share = post_form(client, "/portal/share", "/portal/share", {"note": ""})
    assert share.status_code == 422
    refused_words += english_left(share.get_data(as_text=True), *TYPED)
    assert_spanish({**crawl(client, "/", "/portal/restrictions"), "refused": refused_words})


def test_the_clinician_reads_every_page_in_spanish(client, practice):
    sign_in(client, practice.therapist)
    refused = post_form(
        client, "/clinician/messages/new", "/clinician/messages/new", {"subject": ""}
    )
    refused_words = english_left(refused.get_data(as_text=True), *TYPED)
    # the page's own check (without JavaScript): a permitted message's preview and its consent line
    checked = post_form(
        client,
        "/clinician/messages/new",
        "/clinician/messages/new",
        {
            "client_id": str(practice.client_id),
            "recipient_provider_id": str(practice.recipient_id),
            "categories": ["medications"],
            "purpose": "treatment",
            "subject": "Resumen",
            "body": "Plan actual.",
            "check": "y",
        },
    )
    assert "Compartido con el consentimiento n.º" in checked.get_data(as_text=True)
    refused_words += english_left(checked.get_data(as_text=True), *TYPED)
    pages = [
        f"/clinician/clients/{practice.client_id}",
        f"/clinician/consents/{practice.draft_id}",
        f"/clinician/consents/{practice.waiting_id}",
        f"/clinician/consents/{practice.active_id}",
        f"/clinician/consents/{practice.revoked_id}",
    ]
    assert_spanish({**crawl(client, "/", *pages), "refused": refused_words})


def test_the_recipient_reads_every_page_in_spanish(client, practice):
    sign_in(client, practice.psychiatrist)
    assert_spanish(crawl(client, "/"))


def test_compliance_reads_every_page_in_spanish(client, practice):
    sign_in(client, practice.officer)
    new = "/compliance/accounting/requests/new"
    refused = post_form(client, new, new, {"client_id": str(practice.client_id), "step": "x"})
    refused_words = english_left(refused.get_data(as_text=True), *TYPED)
    queue = "/compliance/emergency-disclosures"
    unreviewed = post_form(client, queue, f"{queue}/1/review", {"note": " "})
    assert unreviewed.status_code == 422
    refused_words += english_left(unreviewed.get_data(as_text=True), *TYPED)
    summarized = f"/compliance/accounting/clients/{practice.client_id}?summarize=y"
    assert "varias al día" in client.get(summarized).get_data(as_text=True)
    assert_spanish({**crawl(client, "/", summarized), "refused": refused_words})


def test_the_admin_reads_every_page_in_spanish(client, practice):
    sign_in(client, practice.admin)
    refused = post_form(client, "/admin/users/new", "/admin/users/new", {"role": "clinician"})
    refused_words = english_left(refused.get_data(as_text=True), *TYPED)
    assert_spanish({**crawl(client, "/"), "refused": refused_words})


def test_anyone_signing_by_link_or_resetting_reads_spanish(client, practice):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    pages = crawl(client, "/login", "/password-reset")
    client.get(f"/sign/{practice.invitation}")
    page = client.get("/sign/identity")
    client.post("/sign/code", data={"csrf_token": csrf_token(page)})
    code = re.search(r"\b(\d{6})\b", delivered_mail(client.application)[-1].get_content())
    assert code is not None
    wrong = client.post(
        "/sign/verify",
        data={"birth_date": "1991-04-13", "code": code[1], "csrf_token": csrf_token(page)},
    )
    assert wrong.status_code == 422
    assert "Intentos restantes: 4." in wrong.get_data(as_text=True)
    refused = {"wrong birth date": english_left(wrong.get_data(as_text=True), *TYPED)}
    client.post(
        "/sign/verify",
        data={"birth_date": "1991-04-12", "code": code[1], "csrf_token": csrf_token(page)},
    )
    review = client.get("/sign/review")
    assert review.status_code == 200
    unsigned = client.post("/sign/review", data={"csrf_token": csrf_token(review)})
    assert unsigned.status_code == 422
    refused["unsigned"] = english_left(unsigned.get_data(as_text=True), *TYPED)
    assert_spanish({**pages, **crawl(client, "/sign/review"), **refused})


def test_the_client_on_the_clinicians_device_reads_spanish(client, practice):
    sign_in(client, practice.therapist)
    detail = client.get(f"/clinician/consents/{practice.waiting_id}")
    client.post(
        f"/clinician/consents/{practice.waiting_id}/hand-to-client",
        data={"csrf_token": csrf_token(detail)},
    )
    token = csrf_token(client.get("/device/hand-back"))
    wrong = client.post("/device/identity", data={"birth_date": "1991-04-13", "csrf_token": token})
    assert wrong.status_code == 422
    refused = {"wrong birth date": english_left(wrong.get_data(as_text=True), *TYPED)}
    client.post("/device/identity", data={"birth_date": "1991-04-12", "csrf_token": token})
    unsigned = client.post("/device/sign", data={"csrf_token": token})
    assert unsigned.status_code == 422
    assert "Firmar esta autorización" in unsigned.get_data(as_text=True)
    refused["unsigned"] = english_left(unsigned.get_data(as_text=True), *TYPED)
    assert_spanish({**crawl(client, "/device", "/device/hand-back"), **refused})
