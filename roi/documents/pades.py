"""pyHanko's side of the seal: the signer holding an organization's key, the PAdES certification
signature and its offline verification.

`roi.documents.seal` imports this module only when it signs or verifies a PDF: pyHanko costs
almost half a second to import, which the CLI and the web workers would otherwise pay at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypeVar

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError, get_pyca_cryptography_hash
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

logger = logging.getLogger(__name__)
T = TypeVar("T")

FIELD_NAME = "roi"
#: the invisible signature field: print flag (PDF/A) and its box off the page (PDF/UA)
SEAL_FIELD = fields.SigFieldSpec(
    sig_field_name=FIELD_NAME,
    readable_field_name="Digital seal",
    invis_sig_settings=fields.InvisSigSettings(set_print_flag=True, box_out_of_bounds=True),
)


@dataclass(frozen=True)
class VerificationReport:
    """What a validator says about a PDF's roi signature, in five booleans."""

    #: the signed bytes hash to what was signed
    intact: bool
    #: the signature over that hash is cryptographically valid
    valid: bool
    #: the signer's certificate chains to the given trust root (and is usable for signing)
    trusted: bool
    #: the signature covers every byte of the file: nothing was appended after signing
    covers_whole_file: bool
    #: something was appended after signing, or the difference analysis could not clear it
    modified_after_signing: bool
    #: pyHanko's modification level after signing ("NONE", "FORM_FILLING", "OTHER", ...)
    modification_level: str | None = None
    #: pyHanko's difference analysis found the later changes illegal for the DocMDP policy
    #: (roi certifies with "no changes", so any change after signing is illegal)
    changes_disallowed: bool = False
    #: the signer certificate's subject, when a signature was found
    signer_subject: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.intact
            and self.valid
            and self.trusted
            and self.covers_whole_file
            and not self.modified_after_signing
        )


_NOT_SIGNED = VerificationReport(False, False, False, False, True)


def load_certificate(certificate_pem: bytes) -> asn1_x509.Certificate:
    """A PEM certificate as pyHanko wants it."""
    _, _, der = pem.unarmor(certificate_pem)
    return asn1_x509.Certificate.load(der)


class _KeySigner(signers.Signer):
    """A pyHanko signer holding an opened key object (never its bytes)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: asn1_x509.Certificate) -> None:
        registry = SimpleCertificateStore()
        registry.register(certificate)
        super().__init__(signing_cert=certificate, cert_registry=registry, embed_roots=True)
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        if mechanism.signature_algo != "ecdsa":
            raise SigningError(f"unexpected signature mechanism {mechanism.signature_algo}")
        return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))


def key_signer(key: ec.EllipticCurvePrivateKey, certificate_pem: bytes) -> signers.Signer:
    """A signer that signs with the opened `key` under the PEM certificate."""
    return _KeySigner(key, load_certificate(certificate_pem))


def certify(pdf: bytes, signer: signers.Signer, *, reason: str, location: str) -> bytes:
    """`pdf` with a PAdES (B-B) certification signature by `signer`, no changes allowed after.

    Raises:
        PdfError: `pdf` cannot be parsed.
    """
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    output = _outside_event_loop(
        signers.sign_pdf, writer, meta, signer=signer, new_field_spec=SEAL_FIELD
    )
    return bytes(output.getbuffer())


def _outside_event_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call one of pyHanko's sync wrappers, which use asyncio.run() and so refuse to run inside
    a running event loop (an async server, or Playwright's sync API in the same thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def verify(pdf: bytes, trust_root_pem: bytes) -> VerificationReport:
    """Check the roi signature of `pdf` against `trust_root_pem` alone, offline.

    A file that cannot be parsed or carries no roi signature gets an all-False report; it is
    never an exception, because a damaged file is an answer here, not an error.
    """
    context = ValidationContext(
        trust_roots=[load_certificate(trust_root_pem)],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = [s for s in reader.embedded_signatures if s.field_name == FIELD_NAME]
        if len(embedded) != 1:
            return _NOT_SIGNED
        status = _outside_event_loop(validate_pdf_signature, embedded[0], context)
    except (PdfError, SignatureValidationError, ValueError, KeyError) as exc:
        logger.info("PDF signature could not be validated: %s", type(exc).__name__)
        return _NOT_SIGNED
    covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    level = status.modification_level
    return VerificationReport(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=covers,
        modified_after_signing=not covers or status.docmdp_ok is False,
        modification_level=level.name if level is not None else None,
        changes_disallowed=status.docmdp_ok is False,
        signer_subject=status.signing_cert.subject.human_friendly,
    )
