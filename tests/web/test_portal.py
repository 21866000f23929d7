"""The client portal: a signed-in client reads, signs, downloads and revokes their own releases,
and nobody else's (SECURITY C2, D1, B6)."""

from __future__ import annotations

import hashlib
import re
import struct
import subprocess
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from babel.dates import format_date
from sqlalchemy import select

from roi.audit import Action
from roi.audit.models import AuditEntry
from roi.clock import now
from roi.consent import lifecycle
from roi.consent.library import FormLibrary
from roi.consent.models import Consent, ConsentStatus, SignerRelationship
from tests.factories import Person, make_client_user, make_provider
from tests.helpers import csrf_token, delivered_mail, login_as

FORMS = Path(__file__).resolve().parents[2] / "forms"


@pytest.fixture(scope="module")
def library() -> FormLibrary:
    return FormLibrary.load(FORMS)


@pytest.fixture
def recipient(session, clinician):
    return make_provider(session, clinician, name="Helen Brooks")


@pytest.fixture
def second_client(session, clinician) -> Person:
    """Another client of the same practice (C2)."""
    _, person = make_client_user(session, clinician, given_name="Robin", family_name="Marsh")
    return person


def sent_consent(
    session, clinician, library, recipient, client_id: int | None, **changes
) -> Consent:
    """A release sent for signature, made through the services as a clinician would."""
    values: dict[str, object] = {
        "client_id": client_id,
        "template_id": "general-authorization",
        "recipient_provider_id": recipient.id,
        "categories": ("diagnosis", "medications"),
        "purposes": ("treatment",),
        "information_description": "Diagnosis and current medications.",
        "expires_on": now().date() + timedelta(days=365),
        **changes,
    }
    draft = lifecycle.create(session, clinician.actor, lifecycle.ConsentFields(**values), library)  # type: ignore[arg-type]
    sent = lifecycle.send_for_signature(
        session, clinician.actor, draft.id, library, invitation_lifetime=timedelta(days=7)
    )
    return sent.consent


def signed_consent(session, clinician, library, recipient, person: Person, **changes) -> Consent:
    consent = sent_consent(
        session, clinician, library, recipient, person.actor.client_id, **changes
    )
    return lifecycle.sign_as_client(
        session,
        person.actor,
        consent.id,
        lifecycle.SignatureInput("Jordan Avery", SignerRelationship.SELF, agree=True),
        lifecycle.Identity("password", "Signed in to roi with a password", "127.0.0.1", "pytest"),
        library,
    )


def reload(session, consent_id: int) -> Consent:
    """The stored row now (ending the test session's read transaction, and its snapshot)."""
    session.rollback()
    consent = session.get(Consent, consent_id)
    assert consent is not None
    return consent


def tiny_png() -> bytes:
    """A valid 2×1 PNG, built by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x00\x00\x00\xff" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def sign_data(**changes: str) -> dict[str, str]:
    return {
        "relationship": "self",
        "signer_name": "Jordan Avery",
        "representative_authority": "",
        "drawn_signature": "",
        "agree": "y",
        **changes,
    }


def detail_url(consent_id: int) -> str:
    return f"/portal/consents/{consent_id}"


def test_the_client_sees_their_releases_each_state_in_its_own_words(
    client, session, clinician, client_person, library, recipient
):
    # Given one release waiting, one active, one revoked and one voided
    waiting = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    active = signed_consent(session, clinician, library, recipient, client_person)
    revoked = signed_consent(session, clinician, library, recipient, client_person)
    lifecycle.revoke(session, client_person.actor, revoked.id, reason=None)
    voided = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    lifecycle.void(session, clinician.actor, voided.id)
    # And a draft the clinician has not sent yet
    draft = lifecycle.create(
        session,
        clinician.actor,
        lifecycle.ConsentFields(
            client_id=client_person.actor.client_id,
            template_id="general-authorization",
            recipient_provider_id=recipient.id,
        ),
        library,
    )
    # When the client opens the portal
    login_as(client, client_person.email, client_person.password)
    response = client.get("/portal/")
    page = response.get_data(as_text=True)
    # Then the waiting release comes first, then the active one, then the ended ones
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    lists = page.index('id="waiting-heading"')  # below the notices, which link releases too
    order = [
        page.index(f'href="{detail_url(c.id)}"', lists) for c in (waiting, active, revoked, voided)
    ]
    assert order == sorted(order)
    # And each ended state is named in its own words, with its date
    assert "Revoked by you" in page
    assert "Withdrawn before signing" in page
    assert "Withdrawn by your clinician on" in page
    assert "You revoked it on" in page
    assert "UTC" in page
    assert "inactive" not in page.lower()
    # And only a release that can still be revoked says how, at a glance
    for consent, says in ((waiting, True), (active, True), (revoked, False), (voided, False)):
        shown = client.get(detail_url(consent.id)).get_data(as_text=True)
        glance = shown[
            shown.index("At a glance") : shown.index("</section>", shown.index("At a glance"))
        ]
        assert ("How to revoke" in glance) is says, consent.status
    # And the draft is not shown, and cannot be opened
    assert detail_url(draft.id) not in page
    assert client.get(detail_url(draft.id)).status_code == 404


def test_an_expired_release_is_labelled_expired(
    client, session, clinician, client_person, library, recipient, monkeypatch
):
    # Given an active release whose end date has passed
    consent = signed_consent(session, clinician, library, recipient, client_person)
    expiry = consent.expires_on
    login_as(client, client_person.email, client_person.password)
    # When the client looks after that date
    import roi.web.portal.views as views

    later = now() + timedelta(days=366)
    monkeypatch.setattr(views, "now", lambda: later)
    page = client.get("/portal/").get_data(as_text=True)
    # Then it is expired, with the date it ended — not revoked, not "inactive"
    assert "Expired" in page
    assert f"Expired on {expiry:%B} {expiry.day}, {expiry.year}" in page
    assert detail_url(consent.id) in page


def test_the_client_signs_and_downloads_the_exact_pdf(
    client, session, clinician, client_person, library, recipient
):
    # Given a release waiting for the client's signature
    consent = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    login_as(client, client_person.email, client_person.password)
    page = client.get(detail_url(consent.id))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    # And the page shows the document itself: to whom, what, and how to revoke
    assert "Helen Brooks" in text
    assert "How to revoke" in text
    assert "Sign this release" in text
    # When they sign with a typed name and a drawn signature
    import base64

    drawn = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    response = client.post(
        f"{detail_url(consent.id)}/sign",
        data={**sign_data(drawn_signature=drawn), "csrf_token": csrf_token(page)},
    )
    # Then the release is active and the page offers the copy
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"{detail_url(consent.id)}#your-copy")
    stored = reload(session, consent.id)
    assert stored.status is ConsentStatus.ACTIVE
    assert stored.signature is not None
    assert stored.signature.drawn_signature_sealed
    after = client.get(detail_url(consent.id)).get_data(as_text=True)
    assert "Your signed copy" in after
    assert "Revoke this release" in after
    # And the PDF downloads byte-identical twice, with the recorded SHA-256
    first = client.get(f"{detail_url(consent.id)}/document.pdf")
    second = client.get(f"{detail_url(consent.id)}/document.pdf")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/pdf"
    assert (
        first.headers["Content-Disposition"] == f'attachment; filename="release-{consent.id}.pdf"'
    )
    assert first.headers["Cache-Control"] == "no-store"
    assert first.data.startswith(b"%PDF")
    assert first.data == second.data
    assert hashlib.sha256(first.data).hexdigest() == stored.document_sha256


def test_a_representative_without_authority_is_refused_with_the_reason(
    client, session, clinician, client_person, library, recipient
):
    # Given a release waiting for a signature
    consent = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    login_as(client, client_person.email, client_person.password)
    page = client.get(detail_url(consent.id))
    # When a parent signs without describing their authority
    response = client.post(
        f"{detail_url(consent.id)}/sign",
        data={**sign_data(relationship="parent"), "csrf_token": csrf_token(page)},
    )
    # Then nothing is signed and the reason is shown next to the field
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="representative_authority-error"' in text
    assert "Describe your authority to sign for the client" in text
    assert reload(session, consent.id).status is ConsentStatus.PENDING_SIGNATURE


@pytest.mark.parametrize(
    "drawn",
    [
        "data:image/jpeg;base64,/9j/4AAQSkZJRg==",
        "data:image/png;base64,not base64!",
        "data:image/png;base64," + "A" * 410_000,
        "javascript:alert(1)",
    ],
    ids=["jpeg", "bad-base64", "too-large", "not-a-data-url"],
)
def test_a_drawn_signature_that_is_not_a_png_data_url_is_refused(
    client, session, clinician, client_person, library, recipient, drawn
):
    consent = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    login_as(client, client_person.email, client_person.password)
    page = client.get(detail_url(consent.id))
    response = client.post(
        f"{detail_url(consent.id)}/sign",
        data={**sign_data(drawn_signature=drawn), "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 422
    assert "The drawn signature could not be read" in response.get_data(as_text=True)
    assert reload(session, consent.id).status is ConsentStatus.PENDING_SIGNATURE


@pytest.mark.parametrize(
    ("language", "refusal"),
    [("en", "it ended on %s, before it was signed"), ("es", "terminó el %s, antes de firmarse")],
)
def test_a_release_that_ended_while_it_waited_is_refused_saying_so(
    client, session, clinician, client_person, library, recipient, language, refusal
):
    ends = now().date() + timedelta(days=2)
    consent = sent_consent(
        session, clinician, library, recipient, client_person.actor.client_id, expires_on=ends
    )
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    with time_machine.travel(now() + timedelta(days=2), tick=False):
        login_as(client, client_person.email, client_person.password)
        page = client.get(detail_url(consent.id))
        response = client.post(
            f"{detail_url(consent.id)}/sign", data={**sign_data(), "csrf_token": csrf_token(page)}
        )
    assert response.status_code == 409
    # the day in words of the page's language ("May 3, 2027", "3 de mayo de 2027")
    day = format_date(ends, "long", locale=language)
    assert refusal % day in response.get_data(as_text=True)
    assert reload(session, consent.id).status is ConsentStatus.PENDING_SIGNATURE


def test_another_clients_release_is_not_found_anywhere(
    client, session, clinician, client_person, second_client, library, recipient
):
    # Given C2 has one release waiting and one active; C1 has one waiting
    theirs_waiting = sent_consent(
        session, clinician, library, recipient, second_client.actor.client_id
    )
    theirs_active = signed_consent(session, clinician, library, recipient, second_client)
    mine = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    # When C1 tries C2's ids in the URL
    login_as(client, client_person.email, client_person.password)
    token = csrf_token(client.get(detail_url(mine.id)))
    attempts = [
        client.get(detail_url(theirs_waiting.id)),
        client.post(
            f"{detail_url(theirs_waiting.id)}/sign", data={**sign_data(), "csrf_token": token}
        ),
        client.get(f"{detail_url(theirs_active.id)}/revoke"),
        client.post(
            f"{detail_url(theirs_active.id)}/revoke", data={"confirm": "y", "csrf_token": token}
        ),
        client.get(f"{detail_url(theirs_active.id)}/document.pdf"),
        client.get(f"{detail_url(theirs_active.id)}/revocation-receipt.pdf"),
    ]
    # Then every attempt is "not found", and says nothing about the release
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    for response in attempts:
        assert "Helen Brooks" not in response.get_data(as_text=True)
    # And in the form body: a consent id there is ignored; only the URL's own release is signed
    client.post(
        f"{detail_url(mine.id)}/sign",
        data={**sign_data(), "consent_id": str(theirs_waiting.id), "csrf_token": token},
    )
    assert reload(session, mine.id).status is ConsentStatus.ACTIVE
    # And nothing of C2's changed
    assert reload(session, theirs_waiting.id).status is ConsentStatus.PENDING_SIGNATURE
    assert reload(session, theirs_active.id).status is ConsentStatus.ACTIVE
    assert reload(session, theirs_active.id).revocation is None


def test_a_cross_client_attempt_is_audited(
    client, session, clinician, client_person, second_client, library, recipient
):
    theirs = signed_consent(session, clinician, library, recipient, second_client)
    login_as(client, client_person.email, client_person.password)
    assert client.get(detail_url(theirs.id)).status_code == 404
    session.rollback()
    denied = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUTHZ_DENIED)
    ).all()
    # SECURITY C2: the attempt is on record, with who tried (never the other client's data)
    assert [(e.actor_id, e.client_id) for e in denied] == [(client_person.user.id, None)]


def test_sign_and_revoke_without_csrf_token_change_nothing(
    client, session, clinician, client_person, library, recipient
):
    # Given one release waiting and one active
    waiting = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    active = signed_consent(session, clinician, library, recipient, client_person)
    login_as(client, client_person.email, client_person.password)
    token = csrf_token(client.get(detail_url(waiting.id)))
    # When they are posted without a token, or with the token in the query string only
    responses = [
        client.post(f"{detail_url(waiting.id)}/sign", data=sign_data()),
        client.post(f"{detail_url(waiting.id)}/sign?csrf_token={token}", data=sign_data()),
        client.post(f"{detail_url(active.id)}/revoke", data={"confirm": "y"}),
        client.post(f"{detail_url(active.id)}/revoke?csrf_token={token}", data={"confirm": "y"}),
    ]
    # Then each is refused with 400 and nothing changed
    assert [r.status_code for r in responses] == [400] * 4
    assert reload(session, waiting.id).status is ConsentStatus.PENDING_SIGNATURE
    assert reload(session, active.id).status is ConsentStatus.ACTIVE


def test_revoke_with_one_confirmation_shows_the_time_and_a_receipt(
    client, session, clinician, client_person, library, recipient
):
    # Given an active release
    consent = signed_consent(session, clinician, library, recipient, client_person)
    login_as(client, client_person.email, client_person.password)
    signed_pdf = client.get(f"{detail_url(consent.id)}/document.pdf").data
    # When the client opens the confirmation page and submits without ticking the box
    confirm = client.get(f"{detail_url(consent.id)}/revoke")
    assert confirm.status_code == 200
    assert confirm.headers["Cache-Control"] == "no-store"
    token = csrf_token(confirm)
    unticked = client.post(f"{detail_url(consent.id)}/revoke", data={"csrf_token": token})
    # Then nothing happens yet
    assert unticked.status_code == 422
    assert "Tick the box to confirm" in unticked.get_data(as_text=True)
    assert reload(session, consent.id).status is ConsentStatus.ACTIVE
    # When they tick it and confirm
    done = client.post(
        f"{detail_url(consent.id)}/revoke",
        data={"csrf_token": token, "confirm": "y", "reason": "I changed providers."},
    )
    # Then it is revoked at once, and the recorded time is shown
    assert done.status_code == 302
    stored = reload(session, consent.id)
    assert stored.status is ConsentStatus.REVOKED
    assert stored.revoked_at is not None
    page = client.get(detail_url(consent.id)).get_data(as_text=True)
    at = stored.revoked_at
    # the client's time zone is their practice's (UTC here), named beside the time
    shown = f"{at.day} {at:%b} {at.year}, {at:%H:%M} UTC"
    assert f"Revoked on {shown}" in page
    # and "At a glance" no longer says how to revoke it
    glance = page.index("At a glance")
    assert "How to revoke" not in page[glance : page.index("</section>", glance)]
    # And the preparing clinician is told by mail, as after a revocation through the API
    told = [m for m in delivered_mail(client.application) if "was revoked" in str(m["Subject"])]
    assert [m["To"] for m in told] == [clinician.email]
    assert f"Release #{consent.id} was revoked" in str(told[0]["Subject"])
    # And a second revocation is refused calmly, with 409
    again = client.post(
        f"{detail_url(consent.id)}/revoke", data={"csrf_token": token, "confirm": "y"}
    )
    assert again.status_code == 409
    assert "cannot be revoked" in again.get_data(as_text=True)
    assert reload(session, consent.id).revoked_at == stored.revoked_at
    # And the signed PDF is unchanged
    assert client.get(f"{detail_url(consent.id)}/document.pdf").data == signed_pdf
    # And the receipt repeats the whole scope
    receipt = client.get(f"{detail_url(consent.id)}/revocation-receipt.pdf")
    assert receipt.status_code == 200
    assert receipt.headers["Content-Type"] == "application/pdf"
    assert receipt.headers["Cache-Control"] == "no-store"
    assert "attachment;" in receipt.headers["Content-Disposition"]
    text = pdftotext(receipt.data)
    for words in ("Helen Brooks", "Diagnosis and treatment summary", "Medications", "Treatment"):
        assert words.lower() in text.lower(), words
    assert "revoked" in text.lower()


def test_the_receipt_is_not_there_before_revocation(
    client, session, clinician, client_person, library, recipient
):
    consent = signed_consent(session, clinician, library, recipient, client_person)
    login_as(client, client_person.email, client_person.password)
    assert client.get(f"{detail_url(consent.id)}/revocation-receipt.pdf").status_code == 404
    # and a release waiting for a signature has no document yet
    waiting = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    assert client.get(f"{detail_url(waiting.id)}/document.pdf").status_code == 404


def test_portal_pages_need_a_client_sign_in(client, session, clinician, client_person):
    # Given nobody is signed in, the portal sends them to sign in
    assert client.get("/portal/").status_code == 302
    assert client.get(detail_url(1)).status_code == 302
    # And a clinician is not a client
    login_as(client, clinician.email, clinician.password)
    assert client.get("/portal/").status_code == 403


def pdftotext(data: bytes) -> str:
    result = subprocess.run(
        ["/usr/bin/pdftotext", "-layout", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return re.sub(r"\s+", " ", result.stdout.decode())


def test_birth_date_is_not_in_any_portal_url(client, session, clinician, client_person):
    login_as(client, client_person.email, client_person.password)
    page = client.get("/portal/").get_data(as_text=True)
    for href in re.findall(r'href="([^"]+)"', page):
        assert "1990" not in href
        assert "@" not in href
    assert date(1990, 5, 17).isoformat() not in page


def test_two_releases_on_the_clients_list_have_titles_that_tell_them_apart(
    client, session, clinician, client_person, library, recipient
):
    # Given two releases waiting for the client: to different people, about different things
    client_id = client_person.actor.client_id
    first = sent_consent(session, clinician, library, recipient, client_id)
    other = make_provider(session, clinician, name="Omar Haddad")
    second = sent_consent(session, clinician, library, other, client_id, categories=("attendance",))
    # When the client opens their list
    login_as(client, client_person.email, client_person.password)
    page = client.get("/portal/").get_data(as_text=True)
    titles = re.findall(r'<span class="release-title">([^<]*)</span>', page)
    # Then each row has its own title, naming whom it is for and what it shares
    assert len(titles) == 2
    assert titles[0] != titles[1]
    assert any(t.startswith("To Helen Brooks: Diagnosis and treatment summary") for t in titles)
    assert any(t.startswith("To Omar Haddad: Appointment attendance") for t in titles)
    assert "Permission to share your health information</span>" not in page
    # And each title leads to its own release
    assert detail_url(first.id) in page
    assert detail_url(second.id) in page


def test_the_release_page_opens_with_the_release_at_a_glance_and_a_way_to_the_form(
    client, session, clinician, client_person, library, recipient
):
    # Given a release waiting for the client's signature, ending in 200 days
    ends = now().date() + timedelta(days=200)
    consent = sent_consent(
        session, clinician, library, recipient, client_person.actor.client_id, expires_on=ends
    )
    # When the client opens it
    login_as(client, client_person.email, client_person.password)
    page = client.get(detail_url(consent.id)).get_data(as_text=True)
    # Then "At a glance" comes before the full text, and names the recipient and the end date
    glance = page.index("At a glance")
    assert glance < page.index('class="document"') < page.index('id="sign-form"')
    card = page[glance : page.index("</section>", glance)]
    assert "Helen Brooks, Lakeside Family Medicine" in card
    assert format_date(ends, "long", locale="en") in card
    assert "Diagnosis and treatment summary" in card
    assert "Your treatment and continuity of care" in card
    assert "How to revoke" in card
    # And "Go to signing" leads to the signature form on the same page
    assert '<a class="button" href="#sign-form">Go to signing</a>' in card
    assert '<form method="post" action="/portal/consents/' in page
    assert page.count('id="sign-form"') == 1


def test_each_notice_names_its_release_and_leads_to_it(
    client, session, clinician, client_person, library, recipient
):
    # Given two releases sent to the client, the first of them signed since
    client_id = client_person.actor.client_id
    first = signed_consent(session, clinician, library, recipient, client_person)
    second = sent_consent(session, clinician, library, recipient, client_id)
    # When the client opens their list
    login_as(client, client_person.email, client_person.password)
    page = client.get("/portal/").get_data(as_text=True)
    notices = page[
        page.index('id="portal-notices"') : page.index("</ul>", page.index("portal-notices"))
    ]
    # Then each notice of a release says which one, and leads to its page, where its state shows
    for consent in (first, second):
        assert (
            f'<a href="{detail_url(consent.id)}">Release #{consent.id} is waiting for your '
            "signature.</a>"
        ) in notices
    assert "Waiting for your signature" in client.get(detail_url(second.id)).get_data(as_text=True)
