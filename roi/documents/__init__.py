"""Documents: consent PDFs and previews rendered from plain data, PAdES sealing, verification.

The only package that calls WeasyPrint (always with the locked fetcher) and pyHanko. It imports
no consent or account model: `roi.consent` hands it `roi.documents.model` dataclasses.

The names below load on first use (PEP 562), and WeasyPrint and pyHanko only when a PDF is
written, sealed or verified or a scanned PDF is read: together they cost one to two seconds to
import, which every CLI command, web worker and writer process would otherwise pay at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roi.documents.accounting import (
        AccountingDocument,
        AccountingLetter,
        AccountingLine,
        render_accounting,
        render_letter,
    )
    from roi.documents.model import ConsentDocument, Evidence, Party, RevocationBlock, SignerBlock
    from roi.documents.pades import VerificationReport
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
        ensure_identities,
        forget_identities,
        sign_pdf,
        signing_identity,
        verify_pdf,
    )

#: each exported name → the module that defines it
_HOMES = {
    "AccountingDocument": "accounting",
    "AccountingLetter": "accounting",
    "AccountingLine": "accounting",
    "render_accounting": "accounting",
    "render_letter": "accounting",
    "ConsentDocument": "model",
    "Evidence": "model",
    "Party": "model",
    "RevocationBlock": "model",
    "SignerBlock": "model",
    "VerificationReport": "pades",
    "consent_html": "pdf",
    "render": "pdf",
    "render_consent": "pdf",
    "render_preview_html": "pdf",
    "render_revocation_receipt": "pdf",
    "shown_document_sha256": "pdf",
    "SigningIdentity": "seal",
    "ensure_identities": "seal",
    "forget_identities": "seal",
    "sign_pdf": "seal",
    "signing_identity": "seal",
    "verify_pdf": "seal",
}

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


def __getattr__(name: str) -> object:
    """Load an exported name's module on first use (submodules are imported as usual)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
