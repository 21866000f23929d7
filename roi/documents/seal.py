"""PAdES signing and verification of roi's PDFs, with one identity per organization.

Signing: the organization's key (EC P-256, sealed in `signing_credentials`) is opened by
`roi.vault.signing` once per process and kept in a pyHanko signer, so a signature costs one
ECDSA operation, not an unseal. The PDF is *certified* with "no changes allowed" (DocMDP P=1),
so any later incremental update is a modification validators report. There is no timestamp
server: roi makes no network calls. The signature field is invisible and untagged, so its
widget is put outside the page (`pades.SEAL_FIELD`): PDF/UA allows an untagged annotation only
there or hidden, and the hidden flag is banned in PDF/A, which this keeps open.

Verification: pyHanko's `validate_pdf_signature` with the organization's certificate as the only
trust root and `allow_fetching=False`, so no CRL, OCSP or AIA URL is ever fetched.

pyHanko does its work in `roi.documents.pades`, which this module imports only when it loads an
identity, seals or verifies: importing pyHanko costs almost half a second, which every CLI
command and web worker would otherwise pay at start-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roi.db import WRITE_OPTION, new_uuid, unit_of_work
from roi.documents.models import SigningCredential
from roi.vault import Place
from roi.vault.signing import load_signing_key, new_signing_identity

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer

    from roi.documents.pades import VerificationReport

logger = logging.getLogger(__name__)


def key_place(credential_uuid: str) -> Place:
    """Where a credential's private key is sealed."""
    return Place("signing_credentials", "private_key_sealed", credential_uuid)


@dataclass(frozen=True, eq=False)
class SigningIdentity:
    """An organization's loaded signer and its certificate (the verifier's trust root)."""

    organization_id: int
    credential_uuid: str
    certificate_pem: bytes
    signer: Signer


# Loaded identities by credential uuid: a credential's uuid names one key forever, so a
# cached entry can never be stale; a replaced credential has a new uuid.
_identities: dict[str, SigningIdentity] = {}
_identities_lock = threading.Lock()
# One seal at a time per process: the cached identity's signer and certificate are shared by
# every thread, and asn1crypto fills in an object's encoding on first use without a lock — two
# threads sealing at once broke a seal (TypeError inside asn1crypto, tests/consent/
# test_lifecycle.py concurrent signatures). Sealing is CPU work under the GIL anyway.
_sealing = threading.Lock()


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
    from roi.documents import pades  # pyHanko loads on the first seal, not at start-up

    with _sealing:
        return pades.certify(pdf, identity.signer, reason=reason, location=location)


def verify_pdf(pdf: bytes, trust_root_pem: bytes) -> VerificationReport:
    """Check the roi signature of `pdf` against `trust_root_pem` alone, offline.

    A file that cannot be parsed or carries no roi signature gets an all-False report; it is
    never an exception, because a damaged file is an answer here, not an error.
    """
    from roi.documents import pades  # pyHanko loads on the first verification, not at start-up

    return pades.verify(pdf, trust_root_pem)


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
    from roi.documents import pades  # pyHanko loads with the first identity, not at start-up

    certificate_pem = credential.certificate_pem.encode("ascii")
    key = load_signing_key(credential.private_key_sealed, key_place(credential.uuid))
    return SigningIdentity(
        organization_id=credential.organization_id,
        credential_uuid=credential.uuid,
        certificate_pem=certificate_pem,
        signer=pades.key_signer(key, certificate_pem),
    )
