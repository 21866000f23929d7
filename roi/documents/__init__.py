"""Documents: consent PDFs and previews rendered from plain data, PAdES sealing, verification.

The only package that calls WeasyPrint (always with the locked fetcher) and pyHanko. It imports
no consent or account model: `roi.consent` hands it `roi.documents.model` dataclasses.
"""

from __future__ import annotations

from roi.documents.accounting import (
    AccountingDocument,
    AccountingLetter,
    AccountingLine,
    render_accounting,
    render_letter,
)
from roi.documents.model import ConsentDocument, Evidence, Party, RevocationBlock, SignerBlock
from roi.documents.pdf import (
    consent_html,
    render,
    render_consent,
    render_preview_html,
    render_revocation_receipt,
    shown_document_sha256,
)
from roi.documents.seal import (
    SigningIdentity,
    VerificationReport,
    ensure_identities,
    forget_identities,
    sign_pdf,
    signing_identity,
    verify_pdf,
)

__all__ = [
    "AccountingDocument",
    "AccountingLetter",
    "AccountingLine",
    "ConsentDocument",
    "Evidence",
    "Party",
    "RevocationBlock",
    "SignerBlock",
    "SigningIdentity",
    "VerificationReport",
    "consent_html",
    "ensure_identities",
    "forget_identities",
    "render",
    "render_accounting",
    "render_consent",
    "render_letter",
    "render_preview_html",
    "render_revocation_receipt",
    "shown_document_sha256",
    "sign_pdf",
    "signing_identity",
    "verify_pdf",
]
