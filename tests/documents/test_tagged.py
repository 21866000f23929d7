"""Issue 14 item 12: every PDF roi renders is tagged PDF/UA-1, so a screen reader reads it in order.

Each kind is rendered once for the module (WeasyPrint is the slow part); the tests read the
catalog, the structure tree and the info dictionary with pikepdf. veraPDF is not used.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pikepdf
import pytest

from roi.documents import seal
from roi.documents.accounting import (
    AccountingDocument,
    AccountingLetter,
    AccountingLine,
    render_accounting,
    render_letter,
)
from roi.documents.assets import pdf_templates_dir
from roi.documents.pdf import render_consent, render_revocation_receipt
from tests.documents.conftest import (
    drawn_signature_png,
    make_doc,
    make_evidence,
    make_revocation,
    make_signer,
)

ORG = (1, "Whitfield Counseling")


@dataclass(frozen=True)
class Rendered:
    """One document as rendered, with the title a screen reader should announce."""

    pdf: bytes
    title: str


def _accounting() -> AccountingDocument:
    line = AccountingLine(
        at=datetime(2026, 10, 2, 15, 30, tzinfo=UTC),
        recipient_name="Dr. Samuel Okafor",
        recipient_organization="Northgate Psychiatry",
        recipient_address="400 River Road\nSpringfield, IL 62702",
        description="Diagnosis and medication list",
        purpose="Emergency treatment",
        basis="45 CFR 164.510(b)(3)",
    )
    return AccountingDocument(
        client_name="Maya Chen",
        client_birth_date=date(1990, 3, 4),
        practice="Whitfield Counseling",
        since=date(2020, 11, 30),
        until=date(2026, 11, 30),
        generated_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        part2=False,
        lines=(line,),
        request_id=7,
        beyond=(line,),
    )


def _letter() -> AccountingLetter:
    return AccountingLetter(
        practice="Whitfield Counseling",
        client_name="Maya Chen",
        written_on=date(2026, 11, 30),
        request_id=7,
        received_on=date(2026, 11, 2),
        subject="Your accounting will take longer",
        paragraphs=("We need 30 more days to gather the records.",),
        facts=(("New date", "January 1, 2027"),),
    )


class _Errors(logging.Handler):
    """WeasyPrint's errors while rendering: it logs, not raises, a missing alt or lang."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def weasyprint_errors() -> Iterator[list[str]]:
    handler = _Errors()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def rendered(weasyprint_errors: list[str]) -> dict[str, Rendered]:
    """The consent (with a drawn signature), the revocation receipt, the accounting, a letter."""
    doc = make_doc()
    signer = make_signer(drawn_signature_png=drawn_signature_png())
    evidence = make_evidence(doc)
    receipt = render_revocation_receipt(
        doc, signer=signer, evidence=evidence, revocation=make_revocation()
    )
    return {
        "consent": Rendered(render_consent(doc, signer=signer, evidence=evidence), doc.title),
        "receipt": Rendered(receipt, f"Revocation receipt: {doc.title}"),
        "accounting": Rendered(render_accounting(_accounting()), "Accounting of disclosures"),
        "letter": Rendered(render_letter(_letter()), "Your accounting will take longer"),
    }


@pytest.fixture
def signed_consent(session, rendered: dict[str, Rendered]) -> tuple[bytes, bytes]:
    """The consent sealed as roi seals it: (signed PDF, the organization's certificate)."""
    identity = seal.signing_identity(session, *ORG)
    signed = seal.sign_pdf(
        rendered["consent"].pdf, identity, reason="Consent signed", location="roi"
    )
    return signed, identity.certificate_pem


def structure(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every structure element under the StructTreeRoot, in reading order."""
    pending = list(pdf.Root.StructTreeRoot.K)
    while pending:
        node = pending.pop(0)
        if isinstance(node, pikepdf.Dictionary) and "/S" in node:
            yield node
            kids = node.get("/K")
            if isinstance(kids, pikepdf.Array):
                pending[:0] = list(kids)
            elif isinstance(kids, pikepdf.Dictionary):
                pending.insert(0, kids)


def assert_tagged(data: bytes, title: str) -> None:
    """The catalog and info of a tagged PDF/UA-1 file in English titled `title`."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root
        assert root.MarkInfo.Marked is True
        assert "/StructTreeRoot" in root
        assert root.Lang == "en"
        assert root.ViewerPreferences.DisplayDocTitle is True
        assert str(pdf.docinfo.Title) == title
        xmp = pdf.open_metadata()
        assert xmp.get("pdfuaid:part") == "1"
        assert str(xmp.get("dc:title")) == title
        tags = [str(element.S) for element in structure(pdf)]
        assert tags[0] == "/Document"
        assert "/H1" in tags


KINDS = ["consent", "receipt", "accounting", "letter"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_pdf_is_tagged_in_english_with_its_title(rendered, kind):
    assert_tagged(rendered[kind].pdf, rendered[kind].title)


@pytest.mark.parametrize("kind", KINDS)
def test_every_font_is_embedded(rendered, kind):
    with pikepdf.open(io.BytesIO(rendered[kind].pdf)) as pdf:
        fonts = [font for page in pdf.pages for font in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            descriptor = (font.get("/DescendantFonts") or [font])[0].FontDescriptor
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), font.BaseFont


def test_rendering_logged_no_accessibility_error(rendered, weasyprint_errors):
    # WeasyPrint only logs a missing alt text or language; the render must not have needed to
    assert weasyprint_errors == []


def test_the_first_heading_is_read_first(rendered):
    with pikepdf.open(io.BytesIO(rendered["consent"].pdf)) as pdf:
        headings = [str(e.S) for e in structure(pdf) if re.fullmatch(r"/H\d", str(e.S))]
    assert headings[0] == "/H1"
    assert headings.count("/H1") == 1


def test_drawn_signature_has_alt_text_naming_the_signer(rendered):
    with pikepdf.open(io.BytesIO(rendered["consent"].pdf)) as pdf:
        figures = [e for e in structure(pdf) if e.S == "/Figure"]
    assert [str(figure.Alt) for figure in figures] == ["Signature drawn by Maya Chen"]


def test_the_parties_are_not_a_layout_table(rendered):
    # A data table is read cell by cell with headers; the two parties are not data
    with pikepdf.open(io.BytesIO(rendered["consent"].pdf)) as pdf:
        assert "/Table" not in {str(e.S) for e in structure(pdf)}


def test_accounting_table_has_column_headers(rendered):
    with pikepdf.open(io.BytesIO(rendered["accounting"].pdf)) as pdf:
        elements = list(structure(pdf))
    headers = [e for e in elements if e.S == "/TH"]
    cells = [e for e in elements if e.S == "/TD"]
    assert len(headers) >= 4
    assert cells
    assert all("/Headers" in cell.A for cell in cells)


@pytest.mark.parametrize("kind", ["consent", "receipt"])
def test_rendering_is_deterministic(rendered, kind):
    # The receipt is rendered again on each download: the same record must give the same bytes
    doc = make_doc()
    signer = make_signer(drawn_signature_png=drawn_signature_png())
    evidence = make_evidence(doc)
    if kind == "consent":
        again = render_consent(doc, signer=signer, evidence=evidence)
    else:
        again = render_revocation_receipt(
            doc, signer=signer, evidence=evidence, revocation=make_revocation()
        )
    assert again == rendered[kind].pdf


def test_sealed_consent_is_still_tagged_and_its_seal_valid(signed_consent, rendered):
    signed, certificate = signed_consent
    assert_tagged(signed, rendered["consent"].title)
    report = seal.verify_pdf(signed, certificate)
    assert report.ok
    assert report.covers_whole_file
    assert report.modification_level == "NONE"


def test_seal_widget_is_off_the_page(signed_consent):
    # PDF/UA allows an untagged annotation only when hidden or outside the page
    signed, _ = signed_consent
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        widgets = [
            annot
            for page in pdf.pages
            for annot in page.get("/Annots", [])
            if annot.get("/Subtype") == "/Widget"
        ]
        assert len(widgets) == 1
        left, bottom, right, top = (float(v) for v in widgets[0].Rect)
        page_box = [float(v) for v in pdf.pages[0].MediaBox]
        assert right < page_box[0] or top < page_box[1]
        assert str(widgets[0].TU) == "Digital seal"


@pytest.mark.parametrize(
    "template",
    sorted(p.name for p in pdf_templates_dir().glob("*.html") if not p.name.startswith("_")),
)
def test_every_pdf_template_declares_language_title_and_alt_texts(template):
    # A template added later (a scanned paper release, a logo) inherits the tagging only if it
    # says its language and title and describes its images
    source = (pdf_templates_dir() / template).read_text(encoding="utf-8")
    assert re.search(r'<html lang="[^"]+">', source)
    assert re.search(r"<title>[^<]+</title>", source)
    for image in re.findall(r"<img\b[^>]*>", source):
        assert re.search(r'\balt="[^"]+"', image), image
