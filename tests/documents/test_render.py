"""H3: the consent PDF says what the record says; the preview is what the PDF prints."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date, datetime
from html.parser import HTMLParser

import pikepdf
import pytest

from roi.documents import fetcher
from roi.documents.model import Party
from roi.documents.pdf import (
    render_consent,
    render_preview_html,
    render_revocation_receipt,
    shown_document_sha256,
)
from roi.errors import Invalid
from tests.documents.conftest import (
    REDISCLOSURE,
    REVOCATION,
    drawn_signature_png,
    make_doc,
    make_evidence,
    make_revocation,
    make_signer,
    pdf_text,
    squeeze,
)


class _TextOf(HTMLParser):
    """The text of an HTML fragment, skipping one element class (the signature box)."""

    def __init__(self, skip_class: str) -> None:
        super().__init__()
        self.skip_class = skip_class
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth or (dict(attrs).get("class") == self.skip_class):
            self.depth += tag not in {"br", "img"}

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def article_chunks(html: str) -> list[str]:
    """The article's text, one chunk per run of text between tags."""
    parser = _TextOf("signature")
    parser.feed(html)
    return [part.strip() for part in parser.parts if part.strip()]


def pdf_body_text(pdf: bytes) -> str:
    """pdftotext output without page footers and list bullets."""
    lines = [
        line
        for line in pdf_text(pdf).splitlines()
        if not re.fullmatch(r"\s*(Consent #\d+ · [0-9a-f-]+|Page \d+ of \d+)\s*", line)
    ]
    return "\n".join(lines).replace("•", "")


def test_pdf_contains_every_canonical_field(doc, signer, evidence):
    # Given a consent with parties, categories, purposes, an expiry and its statements
    # When it is rendered
    text = squeeze(pdf_text(render_consent(doc, signer=signer, evidence=evidence)))
    # Then pdftotext finds each canonical field (H3)
    for expected in (
        "Dana Whitfield, LCSW",
        "Whitfield Counseling",
        "Dr. Samuel Okafor, MD",
        "Northgate Psychiatry",
        "Dana Whitfield may share with Dr. Samuel Okafor",
        "Diagnosis: Your diagnoses and when they were made",
        "Medications: What you take and at what dose",
        "Diagnoses and medication list since January 2025.",
        "Coordination of care",
        "Medication management",
        "This release ends on November 23, 2027.",
        REVOCATION,
        REDISCLOSURE,
        doc.how_to_revoke,
        "Maya Chen, born March 4, 1990",
        # the signature block and the evidence page
        "Signed by Maya Chen",
        # in the client's zone, named; the evidence also in UTC to the second
        "Date and time November 23, 2026, 8:05 AM (Central Standard Time)",
        "November 23, 2026, 14:05:09 UTC",
        "Language the signer read English",
        "Emailed link + date of birth + one-time code",
        "203.0.113.9",
        "general, version 3",
        evidence.shown_document_sha256,
        "What the document fingerprint is",
    ):
        assert squeeze(expected) in text, expected


def test_two_way_and_event_expiry_are_worded(doc, signer):
    doc = replace(doc, direction="two_way", expires_on=None, expiry_event="My treatment ends")
    text = squeeze(pdf_text(render_consent(doc, signer=signer, evidence=make_evidence(doc))))
    assert squeeze("Dana Whitfield and Dr. Samuel Okafor may share with each other") in text
    assert squeeze("This release ends when this happens: My treatment ends") in text


def test_pages_are_numbered_with_the_consent_id(doc, signer, evidence):
    pdf = render_consent(doc, signer=signer, evidence=evidence)
    with pikepdf.open(_stream(pdf)) as parsed:
        pages = len(parsed.pages)
    text = pdf_text(pdf)
    assert pages >= 2  # the evidence page always starts a new page
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in text
    assert text.count(f"Consent #{doc.consent_id} · {doc.consent_uuid}") == pages


def test_representative_signature_shows_authority_and_drawn_image(doc):
    # Given a guardian who drew a signature
    png = drawn_signature_png()
    signer = make_signer(
        name="Lin Chen",
        relationship="guardian",
        authority="Court-appointed guardian, order 2024-GD-118",
        drawn_signature_png=png,
    )
    # When the consent is rendered
    with fetcher.watch_fetches() as attempts:
        pdf = render_consent(doc, signer=signer, evidence=make_evidence(doc))
    # Then the authority is printed and the image came only through the per-render asset
    text = squeeze(pdf_text(pdf))
    assert squeeze("Legal guardian of the client") in text
    assert squeeze("Court-appointed guardian, order 2024-GD-118") in text
    assert {a.url for a in attempts} == {"roi-asset:pdf.css", "roi-render:signature.png"}
    assert all(a.allowed for a in attempts)
    with pikepdf.open(_stream(pdf)) as parsed:
        widths = {int(img.Width) for page in parsed.pages for img in page.get_images().values()}
    assert widths == {360}


@pytest.mark.parametrize(
    "png",
    [
        b"GIF89a not a png",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 4 + b"IHDR" + (50_000).to_bytes(4, "big") * 2,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 600_000,
    ],
    ids=["not-png", "pixel-bomb", "too-big"],
)
def test_unacceptable_drawn_signature_is_refused(doc, evidence, png):
    with pytest.raises(Invalid):
        render_consent(doc, signer=make_signer(drawn_signature_png=png), evidence=evidence)


def test_preview_is_what_the_pdf_prints(doc, signer, evidence):
    # Given the preview the client reads before signing
    preview = render_preview_html(doc)
    # Then it is a fragment with nothing to fetch and no signature values
    assert "<html" not in preview
    assert "<link" not in preview
    assert "<img" not in preview
    assert "roi-asset:" not in preview
    assert signer.signed_at.strftime("%H:%M:%S") not in preview
    # And every piece of its article text is, word for word, in the signed PDF (piece by piece:
    # pdftotext reads the two party columns side by side)
    pdf = render_consent(doc, signer=signer, evidence=evidence)
    printed = squeeze(pdf_body_text(pdf)).casefold()
    chunks = article_chunks(preview)
    assert len(chunks) > 30
    for chunk in chunks:
        assert squeeze(chunk).casefold() in printed, chunk


def test_shown_document_sha256_is_stable(doc):
    digest = shown_document_sha256(doc)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert shown_document_sha256(make_doc()) == digest
    assert digest == hashlib.sha256(render_preview_html(doc).encode()).hexdigest()


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Release of information."},
        {"introduction": "Changed."},
        {"client_name": "Maya  Chen"},
        {"client_birth_date": date(1990, 3, 5)},
        {"discloser": Party("Dana Whitfield", "LCSW", "Whitfield Counseling", "12 Elm", None)},
        {"recipient": Party("Dr. Samuel Okafor", "DO", "Northgate Psychiatry", "400 River", None)},
        {"direction": "two_way"},
        {"categories": (("Diagnosis", "Your diagnoses and when they were made"),)},
        {"information_description": "Diagnoses since 2024."},
        {"purposes": ("Coordination of care",)},
        {"expires_on": date(2027, 11, 24)},
        {"expiry_event": "Treatment ends"},
        {"statements": (("You may revoke this release", REVOCATION),)},
        {"how_to_revoke": "Write to us."},
        {"consent_id": 43},
        {"supersedes_consent_id": 41},
    ],
    ids=lambda change: next(iter(change)),
)
def test_shown_document_sha256_changes_with_any_field(doc, change):
    assert shown_document_sha256(replace(doc, **change)) != shown_document_sha256(doc)


def test_revocation_receipt_repeats_the_scope(doc, signer, evidence):
    revocation = make_revocation()
    pdf = render_revocation_receipt(doc, signer=signer, evidence=evidence, revocation=revocation)
    text = squeeze(pdf_text(pdf))
    for expected in (
        "Revocation receipt",
        "was revoked on February 1, 2027, 3:30 AM (Central Standard Time)",
        "Revoked at (UTC) February 1, 2027, 09:30:00 UTC",
        "Dana Whitfield may share with Dr. Samuel Okafor",
        "Northgate Psychiatry",
        "Diagnosis: Your diagnoses and when they were made",
        "Diagnoses and medication list since January 2025.",
        "Coordination of care",
        "This release ends on November 23, 2027.",
        "Signed at (UTC) November 23, 2026, 14:05:09 UTC",
        "Online, in the client portal",
        "I changed psychiatrists.",
        evidence.shown_document_sha256,
    ):
        assert squeeze(expected) in text, expected


def test_revocation_without_reason_says_so(doc, signer, evidence):
    pdf = render_revocation_receipt(
        doc, signer=signer, evidence=evidence, revocation=make_revocation(reason=None)
    )
    assert "No reason given" in pdf_text(pdf)


def test_naive_datetime_is_refused(doc, evidence):
    naive = datetime(2026, 11, 23, 14, 5)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        render_consent(doc, signer=make_signer(signed_at=naive), evidence=evidence)


def test_evidence_of_another_consent_is_refused(doc, signer):
    other = make_evidence(doc, consent_uuid="00000000-0000-4000-8000-000000000000")
    with pytest.raises(ValueError, match="another consent"):
        render_consent(doc, signer=signer, evidence=other)


def _stream(pdf: bytes):
    import io

    return io.BytesIO(pdf)
