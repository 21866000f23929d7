"""PAdES signing and verification of roi's PDFs (pyHanko), with one identity per organization.

Signing: the organization's key (EC P-256, sealed in `signing_credentials`) is opened by
`roi.vault.signing` once per process and kept in a pyHanko signer, so a signature costs one
ECDSA operation, not an unseal. The PDF is *certified* with "no changes allowed" (DocMDP P=1),
so any later incremental update is a modification validators report. There is no timestamp
server: roi makes no network calls. The signature field is invisible and untagged, so its widget
is put outside the page (`SEAL_FIELD`): PDF/UA allows an untagged annotation only there or hidden,
and the hidden flag is banned in PDF/A, which this keeps open.

Verification: pyHanko's `validate_pdf_signature` with the organization's certificate as the only
trust root and `allow_fetching=False`, so no CRL, OCSP or AIA URL is ever fetched.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypeVar

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
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
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roi.db import WRITE_OPTION, new_uuid, unit_of_work
from roi.documents.models import SigningCredential
from roi.vault import Place
from roi.vault.signing import load_signing_key, new_signing_identity

logger = logging.getLogger(__name__)
T = TypeVar("T")

FIELD_NAME = "roi"
#: the invisible signature field: print flag (PDF/A) and its box off the page (PDF/UA)
SEAL_FIELD = fields.SigFieldSpec(
    sig_field_name=FIELD_NAME,
    readable_field_name="Digital seal",
    invis_sig_settings=fields.InvisSigSettings(set_print_flag=True, box_out_of_bounds=True),
)


def key_place(credential_uuid: str) -> Place:
    """Where a credential's private key is sealed."""
    return Place("signing_credentials", "private_key_sealed", credential_uuid)


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


@dataclass(frozen=True, eq=False)
class SigningIdentity:
    """An organization's loaded signer and its certificate (the verifier's trust root)."""

    organization_id: int
    credential_uuid: str
    certificate_pem: bytes
    signer: signers.Signer


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

# Loaded identities by credential uuid: a credential's uuid names one key forever, so a
# cached entry can never be stale; a replaced credential has a new uuid.
_identities: dict[str, SigningIdentity] = {}
_identities_lock = threading.Lock()


def signing_identity(
    session: Session, organization_id: int, organization_name: str
) -> SigningIdentity:
    """The organization's signing identity: created on first use, loaded once per process.

    A missing credential is created in a unit of work on a session of its own, so the caller's
    pending work is never committed by it. Inside the caller's write transaction (a
    `unit_of_work`) it is created in that transaction instead, under a savepoint, because on
    SQLite a second writer would wait for the caller's lock; it then commits with the caller.

    Raises:
        UnknownKeyId, IntegrityFailure: the stored key cannot be opened (fails closed).
    """
    credential = _credential(session, organization_id)
    if credential is None:
        credential, _ = _create(session, organization_id, organization_name)
    cached = _identities.get(credential.uuid)
    if cached is not None:
        return cached
    with _identities_lock:
        cached = _identities.get(credential.uuid)
        if cached is None:
            cached = _load(credential)
            _identities[credential.uuid] = cached
            logger.info(
                "signing identity of organization %s loaded (credential %s)",
                organization_id,
                credential.id,
            )
    return cached


def ensure_identities(session: Session, organizations: Sequence[tuple[int, str]]) -> int:
    """Create the signing identity of each (organization id, name) that has none.

    For `roi init` and upgrades; same transaction rules as `signing_identity`. Returns how many
    were created.
    """
    return sum(_create(session, org_id, name)[1] for org_id, name in organizations)


def forget_identities() -> None:
    """Drop every loaded identity (after a key-ring change, and between tests)."""
    with _identities_lock:
        _identities.clear()


def sign_pdf(pdf: bytes, identity: SigningIdentity, *, reason: str, location: str) -> bytes:
    """`pdf` with a PAdES (B-B) certification signature by `identity`, no changes allowed after.

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
        signers.sign_pdf, writer, meta, signer=identity.signer, new_field_spec=SEAL_FIELD
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


def verify_pdf(pdf: bytes, trust_root_pem: bytes) -> VerificationReport:
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


def _credential(session: Session, organization_id: int) -> SigningCredential | None:
    # no_autoflush: looking up the credential must not flush (and so lock) the caller's work
    with session.no_autoflush:
        return session.execute(
            select(SigningCredential).where(SigningCredential.organization_id == organization_id)
        ).scalar_one_or_none()


def _in_write_transaction(session: Session) -> bool:
    return session.in_transaction() and bool(
        session.connection().get_execution_options().get(WRITE_OPTION, False)
    )


def _create(session: Session, organization_id: int, name: str) -> tuple[SigningCredential, bool]:
    """The organization's credential, created if missing: (credential, whether it was created)."""
    if _in_write_transaction(session):
        return _create_in(session, organization_id, name)
    with Session(session.get_bind(), expire_on_commit=False) as own, unit_of_work(own):
        return _create_in(own, organization_id, name)


def _create_in(session: Session, organization_id: int, name: str) -> tuple[SigningCredential, bool]:
    """Create the credential in `session`'s write transaction unless it exists.

    A concurrent creator may win the unique organization_id: the savepoint then rolls back
    only our attempt and theirs is used.
    """
    existing = _credential(session, organization_id)
    if existing is not None:
        return existing, False
    # The uuid is chosen first: the key is sealed to it (STYLE.md 7).
    row_uuid = new_uuid()
    sealed, certificate_pem = new_signing_identity(name, key_place(row_uuid))
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    credential = SigningCredential(
        uuid=row_uuid,
        organization_id=organization_id,
        subject=certificate.subject.rfc4514_string()[:200],
        certificate_pem=certificate_pem.decode("ascii"),
        private_key_sealed=sealed,
        not_after=certificate.not_valid_after_utc,
    )
    try:
        with session.begin_nested():
            session.add(credential)
    except IntegrityError:
        winner = _credential(session, organization_id)
        if winner is None:
            raise
        return winner, False
    logger.info("signing identity created for organization %s", organization_id)
    return credential, True


def _load(credential: SigningCredential) -> SigningIdentity:
    certificate_pem = credential.certificate_pem.encode("ascii")
    key = load_signing_key(credential.private_key_sealed, key_place(credential.uuid))
    return SigningIdentity(
        organization_id=credential.organization_id,
        credential_uuid=credential.uuid,
        certificate_pem=certificate_pem,
        signer=_KeySigner(key, load_certificate(certificate_pem)),
    )
