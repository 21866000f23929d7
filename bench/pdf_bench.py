"""What roi's PDF pipeline costs: `render_consent` vs bare WeasyPrint on the same HTML, and signing.

    python bench/pdf_bench.py [--runs N] [--database-url URL]

- Render: `roi.documents.render_consent` (Jinja + WeasyPrint with the locked fetcher, stylesheet
  served from memory) against `weasyprint.HTML(string=same_html).write_pdf()` with WeasyPrint's
  default fetcher, where `same_html` is the HTML `render_consent` produces with the stylesheet
  link replaced by the same CSS inline (the default fetcher cannot load `roi-asset:`), so both
  lay out the same document. Goal: within 1.3x.
- Sign: `roi.documents.sign_pdf` (PAdES, certification, EC P-256) and `verify_pdf`, and the
  one-time cost of creating and loading a signing identity.

Runs alternate the two render variants and report medians, so both see the same cache and load.
The signing identity lives in an in-memory SQLite database: signing touches no database after
the identity is loaded, so --database-url is accepted (make bench passes it) and ignored.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import weasyprint
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from roi import vault
from roi.db import Base
from roi.documents import (
    ConsentDocument,
    Evidence,
    Party,
    SignerBlock,
    consent_html,
    render_consent,
    shown_document_sha256,
    sign_pdf,
    signing_identity,
    verify_pdf,
)
from roi.documents.fetcher import packaged_assets
from roi.models import import_all
from roi.vault import KeyRing

STYLESHEET_LINK = '<link rel="stylesheet" href="roi-asset:pdf.css">'


def sample() -> tuple[ConsentDocument, SignerBlock, Evidence]:
    doc = ConsentDocument(
        consent_id=1042,
        consent_uuid="2b1c9f5e-7a1d-4c3e-9f00-000000001042",
        title="Release of information for care coordination",
        kind="general",
        introduction="This form lets your therapist and your psychiatrist coordinate your care. "
        * 3,
        client_name="Maya Chen",
        client_birth_date=date(1990, 3, 4),
        discloser=Party(
            "Dana Whitfield", "LCSW", "Whitfield Counseling", "12 Elm Street\nSpringfield", None
        ),
        recipient=Party(
            "Dr. Samuel Okafor", "MD", "Northgate Psychiatry", "400 River Road\nSpringfield", None
        ),
        direction="two_way",
        categories=tuple(
            (f"Category {i}", "What this category holds, in plain words") for i in range(6)
        ),
        information_description="Diagnoses, medications and treatment plan since January 2025.",
        purposes=("Coordination of care", "Medication management"),
        expires_on=date(2027, 11, 23),
        expiry_event=None,
        statements=tuple(
            (f"Statement {i}", "A required statement, in plain language, about this release. " * 4)
            for i in range(8)
        ),
        how_to_revoke="Open the client portal and choose Revoke, or write to Whitfield Counseling.",
    )
    signed_at = datetime(2026, 11, 23, 14, 5, 9, tzinfo=UTC)
    signer = SignerBlock("Maya Chen", "self", None, signed_at, None)
    evidence = Evidence(
        signed_at,
        "203.0.113.9",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "password",
        "Signed in with password",
        "general",
        3,
        shown_document_sha256(doc),
        doc.consent_uuid,
        "Whitfield Counseling",
    )
    return doc, signer, evidence


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", help="accepted for `make bench`; not used")
    args = parser.parse_args()
    # WeasyPrint's dependency fontTools warns on import under Python 3.11 (as in pytest's config).
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="fontTools.*")

    doc, signer, evidence = sample()
    css = packaged_assets()["roi-asset:pdf.css"].data.decode()
    html = consent_html(doc, signer=signer, evidence=evidence)
    if STYLESHEET_LINK not in html:
        sys.exit("consent.html no longer links roi-asset:pdf.css; update the bench")
    same_html = html.replace(STYLESHEET_LINK, f"<style>{css}</style>")

    def roi_render() -> bytes:
        return render_consent(doc, signer=signer, evidence=evidence)

    def bare_render() -> bytes:
        return weasyprint.HTML(string=same_html).write_pdf()

    for _ in range(2):  # warm up fonts, Jinja and WeasyPrint caches
        roi_render()
        bare_render()
    roi_times, bare_times = [], []
    for _ in range(args.runs):
        roi_times.append(timed(roi_render))
        bare_times.append(timed(bare_render))
    roi_ms, bare_ms = statistics.median(roi_times) * 1e3, statistics.median(bare_times) * 1e3
    pages = len(weasyprint.HTML(string=same_html).render().pages)
    print(
        f"render_consent  {roi_ms:7.1f} ms   bare WeasyPrint {bare_ms:7.1f} ms   "
        f"ratio {roi_ms / bare_ms:.2f}x (goal <= 1.30)   [{args.runs} runs, median]"
    )

    vault.use(KeyRing.generate())
    import_all()
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        first = timed(lambda: signing_identity(session, 1, "Whitfield Counseling"))
        identity = signing_identity(session, 1, "Whitfield Counseling")
        cached = timed(lambda: signing_identity(session, 1, "Whitfield Counseling"))
    unsigned = roi_render()
    sign_times = [
        timed(lambda: sign_pdf(unsigned, identity, reason="bench", location="roi"))
        for _ in range(args.runs)
    ]
    signed = sign_pdf(unsigned, identity, reason="bench", location="roi")
    verify_times = [timed(lambda: verify_pdf(signed, identity.certificate_pem)) for _ in range(5)]
    if not verify_pdf(signed, identity.certificate_pem).ok:
        sys.exit("the signed PDF does not verify")
    sign_ms = statistics.median(sign_times) * 1e3
    print(
        f"sign_pdf        {sign_ms:7.1f} ms   ({sign_ms / roi_ms:.2f}x of a render; "
        f"{len(signed) - len(unsigned)} bytes added)"
    )
    print(f"verify_pdf      {statistics.median(verify_times) * 1e3:7.1f} ms")
    print(f"identity        created+loaded {first * 1e3:.1f} ms, cached {cached * 1e3:.3f} ms")
    print(f"render+sign     {roi_ms + sign_ms:7.1f} ms per signed consent ({pages} pages)")


if __name__ == "__main__":
    main()
