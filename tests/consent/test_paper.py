"""Releases signed on paper: the elements entered from the paper, checked as for sending; the
scan sealed; roi's PAdES-sealed PDF of record carries a summary page and the scan; the gate
treats the release like any other. And the blank release printed for paper signing."""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from weasyprint import HTML

from roi import vault
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.consent import gate, lifecycle
from roi.consent.errors import IncompleteConsent
from roi.consent.models import Consent, ConsentStatus, ExpiryEventKind, SignerRelationship
from roi.documents import seal
from roi.documents.attachments import Upload
from roi.errors import Forbidden, Invalid, NotFound
from tests.consent.conftest import CALIFORNIA, TOKYO, in_california, practice_in
from tests.documents.conftest import pdf_text
from tests.factories import make_client, make_user


def scanned_png(text: str = "SIGNED BY JORDAN AVERY") -> bytes:
    image = Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(image).text((60, 80), text, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def scanned_pdf() -> bytes:
    return HTML(
        string="<p>Another provider's form, page one</p>"
        "<p style='break-before: page'>Signature page: Jordan Avery</p>"
    ).write_pdf()


def pixel_bomb() -> bytes:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    return header + struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0) + b"\x00" * 64


def encrypted_pdf() -> bytes:
    import pikepdf

    source = pikepdf.open(io.BytesIO(scanned_pdf()))
    out = io.BytesIO()
    source.save(out, encryption=pikepdf.Encryption(owner="o", user="u"))
    return out.getvalue()


def paper(**changes: object) -> lifecycle.PaperSignature:
    base = lifecycle.PaperSignature(
        signed_on=now().date() - timedelta(days=1),
        signer_name="Jordan Avery",
        relationship=SignerRelationship.SELF,
        scan=Upload("release.png", "image/png", scanned_png()),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_paper_release_is_active_with_a_sealed_record_of_its_scan(session, referral):
    # Given the scan of a release the client signed yesterday on another provider's form
    scan = scanned_pdf()
    # When the therapist records it with its elements
    consent = lifecycle.record_paper(
        session,
        referral.therapist.actor,
        referral.fields(),
        paper(scan=Upload("northgate-form.pdf", "application/pdf", scan)),
        referral.library,
    )
    # Then it is active, signed on paper, and the gate permits under it
    assert consent.status_at(now()) is ConsentStatus.ACTIVE
    assert consent.signature.method == "paper"
    decision = gate.decide(
        session,
        referral.library,
        discloser=consent.discloser,
        recipient=consent.recipient,
        client=consent.client,
        categories=["diagnosis"],
        purposes=["treatment"],
        at=now(),
    )
    assert decision.permitted
    # And its document of record is roi's sealed PDF: the summary, then the scan's two pages
    _, record = lifecycle.signed_pdf(session, referral.therapist.actor, consent.id)
    assert hashlib.sha256(record).hexdigest() == consent.document_sha256
    identity = seal.signing_identity(session, consent.organization_id, "Riverside Counseling")
    report = seal.verify_pdf(record, identity.certificate_pem)
    assert report.intact
    assert report.valid
    assert report.covers_whole_file
    text = pdf_text(record)
    assert "Signed on paper" in text
    assert hashlib.sha256(scan).hexdigest()[:8] in text
    assert "Another provider's form, page one" in text
    assert "Signature page: Jordan Avery" in text
    # And the scan itself is kept sealed, as uploaded
    signature = consent.signature
    assert signature.shown_document_sha256 == hashlib.sha256(scan).hexdigest()
    assert scan not in signature.shown_document_sealed
    place = vault.Place("consent_signatures", "shown_document_sealed", signature.uuid)
    assert vault.open_sealed(signature.shown_document_sealed, place) == scan
    # And it is audited as created and signed on paper
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.consent_id == consent.id)
    ).all()
    assert Action.CONSENT_CREATED in actions
    assert Action.CONSENT_SIGNED in actions


def test_an_image_scan_is_embedded(session, referral):
    consent = lifecycle.record_paper(
        session, referral.therapist.actor, referral.fields(), paper(), referral.library
    )
    _, record = lifecycle.signed_pdf(session, referral.therapist.actor, consent.id)
    assert record.count(b"/Subtype /Image") >= 1
    assert "Jordan Avery" in pdf_text(record)


def test_a_paper_release_ends_at_midnight_where_the_practice_is(session, referral):
    # Given a practice in California
    in_california(session, referral)
    ends = now().date() + timedelta(days=90)
    # When a paper release that "ends on" a day is recorded
    consent = lifecycle.record_paper(
        session,
        referral.therapist.actor,
        referral.fields(expires_on=ends),
        paper(),
        referral.library,
    )
    # Then it ends at that day's midnight in California, as one signed in roi does
    assert consent.expires_at == datetime.combine(ends, time.min, tzinfo=CALIFORNIA)


def test_a_paper_release_ending_today_where_the_practice_is_is_refused(session, referral):
    # Given a practice in Tokyo, half an hour into a day that has not begun in UTC
    practice_in(session, referral, TOKYO)
    morning = datetime.combine(now().date() + timedelta(days=3), time(0, 30), tzinfo=TOKYO)
    with time_machine.travel(morning, tick=False), pytest.raises(IncompleteConsent):
        # When a paper release that ends that day is recorded, it is refused (it has ended)
        lifecycle.record_paper(
            session,
            referral.therapist.actor,
            referral.fields(expires_on=morning.date()),
            paper(signed_on=morning.date() - timedelta(days=1)),
            referral.library,
        )


def test_a_paper_signed_this_morning_east_of_utc_is_not_in_the_future(session, referral):
    # Given a practice in Tokyo, half an hour into a day that has not begun in UTC
    practice_in(session, referral, TOKYO)
    morning = datetime.combine(now().date() + timedelta(days=3), time(0, 30), tzinfo=TOKYO)
    with time_machine.travel(morning, tick=False):
        # When a release signed on paper this morning is recorded, it is taken
        consent = lifecycle.record_paper(
            session,
            referral.therapist.actor,
            referral.fields(),
            paper(signed_on=morning.date()),
            referral.library,
        )
        assert consent.status is ConsentStatus.ACTIVE
        # And a paper dated tomorrow there is still refused
        with pytest.raises(Invalid) as refused:
            lifecycle.record_paper(
                session,
                referral.therapist.actor,
                referral.fields(),
                paper(signed_on=morning.date() + timedelta(days=1)),
                referral.library,
            )
        assert set(refused.value.fields) == {"signed_on"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"information_description": ""}, "information_description"),
        ({"purposes": ()}, "purposes"),
        ({"expires_on": None, "expiry_event": None}, "expires_on"),
        ({"categories": ()}, "categories"),
    ],
)
def test_a_missing_element_is_refused_and_named(session, referral, changes, field):
    with pytest.raises(IncompleteConsent) as refused:
        lifecycle.record_paper(
            session,
            referral.therapist.actor,
            referral.fields(**changes),
            paper(),
            referral.library,
        )
    assert field in refused.value.fields
    # nothing is left behind
    assert session.scalars(select(AuditEntry).where(AuditEntry.consent_id.is_not(None))).all() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scan": Upload("release.pdf", "application/pdf", b"MZ\x90 an exe")}, "scan"),
        ({"scan": Upload("release.txt", "text/plain", b"signed")}, "scan"),
        ({"scan": Upload("release.pdf", "application/pdf", b"%PDF-1.7 broken")}, "scan"),
        # a "pixel bomb": a small file whose header claims 50,000 × 50,000 pixels
        ({"scan": Upload("release.png", "image/png", pixel_bomb())}, "scan"),
        ({"scan": Upload("release.pdf", "application/pdf", encrypted_pdf())}, "scan"),
        ({"signed_on": now().date() + timedelta(days=2)}, "signed_on"),
        ({"signer_name": "  "}, "signer_name"),
        (
            {"relationship": SignerRelationship.GUARDIAN, "representative_authority": None},
            "representative_authority",
        ),
    ],
)
def test_a_bad_scan_or_signer_is_refused(session, referral, changes, field):
    with pytest.raises(Invalid) as refused:
        lifecycle.record_paper(
            session, referral.therapist.actor, referral.fields(), paper(**changes), referral.library
        )
    assert field in refused.value.fields


def test_only_a_clinician_of_the_clients_practice_records_one(session, referral):
    with pytest.raises(NotFound):
        lifecycle.record_paper(
            session, referral.psychiatrist.actor, referral.fields(), paper(), referral.library
        )
    officer = make_user(session, Role.COMPLIANCE)
    with pytest.raises(Forbidden):
        lifecycle.record_paper(session, officer.actor, referral.fields(), paper(), referral.library)


def test_a_blank_release_is_printed_for_paper_signing(session, referral):
    draft = referral.draft(session)
    _, blank = lifecycle.blank_release(
        session, referral.therapist.actor, draft.id, referral.library
    )
    text = pdf_text(blank)
    assert "Diagnosis, current medications and treatment summary." in text
    assert "Printed name" in text
    assert "Certificate of completion" not in text
    assert session.get(type(draft), draft.id).status is ConsentStatus.DRAFT
    incomplete = referral.draft(session, purposes=())
    with pytest.raises(IncompleteConsent):
        lifecycle.blank_release(session, referral.therapist.actor, incomplete.id, referral.library)


def test_a_paper_release_signed_by_the_wrong_person_is_refused(session, referral):
    # Given a ten-year-old client (E9: the signer rule applies to paper too)
    child = make_client(
        session,
        referral.therapist,
        given_name="Sam",
        birth_date=date(now().year - 10, 1, 15),
    )
    fields = referral.fields(client_id=child.id)
    # When the paper is signed by the child themself, it is refused, naming the rule
    with pytest.raises(Invalid) as refused:
        lifecycle.record_paper(session, referral.therapist.actor, fields, paper(), referral.library)
    assert "signer_relationship" in refused.value.fields
    # And a parent's signature, with their authority, is recorded
    consent = lifecycle.record_paper(
        session,
        referral.therapist.actor,
        fields,
        paper(
            signer_name="Alex Rivera",
            relationship=SignerRelationship.PARENT,
            representative_authority="Parent of the minor client, with custody",
        ),
        referral.library,
    )
    assert consent.status_at(now()) is ConsentStatus.ACTIVE
    assert consent.required_signer is not None


def test_a_paper_release_until_the_end_of_treatment_that_a_discharge_ended_is_refused(
    session, referral
):
    # Given a client whose treatment ended five days ago
    ended_on = now().date() - timedelta(days=5)
    lifecycle.record_discharge(session, referral.therapist.actor, referral.client_id, ended_on)
    before = session.scalar(select(func.count()).select_from(Consent))
    # When the therapist records a paper release "until the end of treatment" the client
    # signed ten days ago, before the discharge
    with pytest.raises(Invalid) as refused:
        lifecycle.record_paper(
            session,
            referral.therapist.actor,
            referral.fields(expiry_event_kind=ExpiryEventKind.END_OF_TREATMENT, expires_on=None),
            paper(signed_on=now().date() - timedelta(days=10)),
            referral.library,
        )
    # Then it is refused as already ended, beside the day it was signed, and nothing is kept
    assert "has already ended" in refused.value.fields["signed_on"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Consent)) == before
    # And one the client signs on paper days after the discharge was recorded (back in care)
    # is taken
    later = now() + timedelta(days=2)
    with time_machine.travel(later, tick=False):
        consent = lifecycle.record_paper(
            session,
            referral.therapist.actor,
            referral.fields(expiry_event_kind=ExpiryEventKind.END_OF_TREATMENT, expires_on=None),
            paper(signed_on=later.date()),
            referral.library,
        )
    assert consent.status is ConsentStatus.ACTIVE
