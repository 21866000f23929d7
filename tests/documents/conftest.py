"""Plain consent data for the documents tests, a pdftotext helper, and a fetch guard."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from PIL import Image, ImageDraw

from roi.documents import fetcher, seal
from roi.documents.model import (
    ConsentDocument,
    Evidence,
    Party,
    RevocationBlock,
    SignerBlock,
)
from roi.documents.pdf import shown_document_sha256

SIGNED_AT = datetime(2026, 11, 23, 14, 5, 9, tzinfo=UTC)
REDISCLOSURE = (
    "Information shared under this release may be shared again by the person who receives it "
    "and may then no longer be protected by federal privacy law."
)
REVOCATION = (
    "You may revoke this release at any time. Revoking stops future sharing; it does not undo "
    "what was already shared."
)


def make_doc(**changes: object) -> ConsentDocument:
    """A realistic one-way consent; keyword arguments replace fields."""
    doc = ConsentDocument(
        consent_id=42,
        consent_uuid="2b1c9f5e-7a1d-4c3e-9f00-00000000002a",
        title="Release of information for care coordination",
        kind="general",
        introduction="This form lets your therapist and your psychiatrist coordinate your care.",
        client_name="Maya Chen",
        client_birth_date=date(1990, 3, 4),
        discloser=Party(
            name="Dana Whitfield",
            credentials="LCSW",
            organization="Whitfield Counseling",
            address="12 Elm Street\nSpringfield, IL 62701",
            email="dana@whitfield.example",
        ),
        recipient=Party(
            name="Dr. Samuel Okafor",
            credentials="MD",
            organization="Northgate Psychiatry",
            address="400 River Road\nSpringfield, IL 62702",
            email=None,
        ),
        direction="one_way",
        categories=(
            ("Diagnosis", "Your diagnoses and when they were made"),
            ("Medications", "What you take and at what dose"),
        ),
        information_description="Diagnoses and medication list since January 2025.",
        purposes=("Coordination of care", "Medication management"),
        expires_on=date(2027, 11, 23),
        expiry_event=None,
        statements=(
            ("You may revoke this release", REVOCATION),
            ("Information may be shared again", REDISCLOSURE),
            (
                "Your care does not depend on signing",
                "Whitfield Counseling will treat you whether or not you sign.",
            ),
        ),
        how_to_revoke="Open the client portal and choose Revoke, or write to Whitfield Counseling.",
        time_zone="America/Chicago",
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def make_signer(**changes: object) -> SignerBlock:
    signer = SignerBlock(
        name="Maya Chen",
        relationship="self",
        authority=None,
        signed_at=SIGNED_AT,
        drawn_signature_png=None,
    )
    return replace(signer, **changes)  # type: ignore[arg-type]


def make_evidence(doc: ConsentDocument, **changes: object) -> Evidence:
    evidence = Evidence(
        signed_at=SIGNED_AT,
        ip="203.0.113.9",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
        identity_method="email_link_dob_code",
        assurance="Emailed link + date of birth + one-time code",
        template_id="general",
        template_version=3,
        shown_document_sha256=shown_document_sha256(doc),
        consent_uuid=doc.consent_uuid,
        organization="Whitfield Counseling",
    )
    return replace(evidence, **changes)  # type: ignore[arg-type]


def make_revocation(**changes: object) -> RevocationBlock:
    revocation = RevocationBlock(
        revoked_at=datetime(2027, 2, 1, 9, 30, tzinfo=UTC),
        revoked_by="Maya Chen",
        method="Online, in the client portal",
        reason="I changed psychiatrists.",
    )
    return replace(revocation, **changes)  # type: ignore[arg-type]


def drawn_signature_png(width: int = 360, height: int = 120) -> bytes:
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    ImageDraw.Draw(image).line(
        [(10, 90), (80, 20), (140, 100), (220, 30), (340, 80)], fill=(20, 40, 80, 255), width=4
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_text(pdf: bytes) -> str:
    """pdftotext's reading of `pdf` (UTF-8)."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    """Text without any whitespace, so line wrapping cannot hide a match."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def doc() -> ConsentDocument:
    return make_doc()


@pytest.fixture
def signer() -> SignerBlock:
    return make_signer()


@pytest.fixture
def evidence(doc: ConsentDocument) -> Evidence:
    return make_evidence(doc)


@pytest.fixture(autouse=True)
def _fresh_identities() -> Iterator[None]:
    """Each test starts without loaded signing identities (each has its own database)."""
    seal.forget_identities()
    yield
    seal.forget_identities()


@pytest.fixture
def expect_refusals() -> None:
    """Marks a test that provokes refused fetches on purpose (it checks them itself)."""


@pytest.fixture(autouse=True)
def _no_refused_fetch(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any documents test during which WeasyPrint asked for a URL outside the allowlist."""
    with fetcher.watch_fetches() as attempts:
        yield
    if "expect_refusals" not in request.fixturenames:
        refused = [a.url[:80] for a in attempts if not a.allowed]
        assert not refused, f"WeasyPrint asked for URLs outside the allowlist: {refused}"
