"""H2: the PAdES seal verifies offline and any later change is detected; one identity per org."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from roi import vault
from roi.db import unit_of_work
from roi.documents import seal
from roi.documents.models import SigningCredential
from roi.documents.pdf import render_consent
from roi.vault.signing import load_signing_key
from tests.documents.conftest import pdf_text, squeeze

ORG = (1, "Whitfield Counseling")


@pytest.fixture
def identity(session):
    return seal.signing_identity(session, *ORG)


@pytest.fixture
def signed(identity, doc, signer, evidence) -> bytes:
    unsigned = render_consent(doc, signer=signer, evidence=evidence)
    return seal.sign_pdf(unsigned, identity, reason="Consent signed", location="roi")


def credential_count(session) -> int:
    """Rows as committed (a fresh session: the caller's own may still read an older snapshot)."""
    with Session(session.get_bind()) as fresh:
        return fresh.execute(select(func.count()).select_from(SigningCredential)).scalar_one()


def test_signed_pdf_verifies(signed, identity):
    report = seal.verify_pdf(signed, identity.certificate_pem)
    assert report.intact
    assert report.valid
    assert report.trusted
    assert report.covers_whole_file
    assert not report.modified_after_signing
    assert not report.changes_disallowed
    assert report.modification_level == "NONE"
    assert report.ok
    assert "Whitfield Counseling" in (report.signer_subject or "")


def test_signed_pdf_still_says_what_the_record_says(signed, doc, evidence):
    # H3 on the signed bytes, and the digest is a property of exactly these bytes
    text = squeeze(pdf_text(signed))
    for expected in (
        doc.discloser.name,
        doc.recipient.organization,
        *(label for label, _ in doc.categories),
        *doc.purposes,
        "November 23, 2027",
        *(statement for _, statement in doc.statements),
        evidence.shown_document_sha256,
    ):
        assert squeeze(expected) in text, expected
    assert hashlib.sha256(signed).hexdigest() == hashlib.sha256(bytes(signed)).hexdigest()


def test_flipped_byte_is_not_intact(signed, identity):
    # Given one byte changed inside the first content stream (inside the signed range)
    position = signed.index(b"stream\n") + len(b"stream\n") + 40
    tampered = bytearray(signed)
    tampered[position] ^= 0x01
    # Then the signature no longer matches
    report = seal.verify_pdf(bytes(tampered), identity.certificate_pem)
    assert report.intact is False
    assert not report.ok


def test_incremental_update_is_flagged(signed, identity):
    # Given an annotation appended to page 1 as an incremental update after signing
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    note = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Text"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (10, 10, 30, 30)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("Changed later"),
            }
        )
    )
    page[generic.NameObject("/Annots")] = generic.ArrayObject([note])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    # Then the signature still verifies for its revision, but no longer covers the file,
    # and the change is flagged
    report = seal.verify_pdf(out.getvalue(), identity.certificate_pem)
    assert report.intact
    assert report.valid
    assert report.covers_whole_file is False
    assert report.modified_after_signing is True
    assert report.changes_disallowed is True  # pyHanko's difference analysis flagged it
    assert not report.ok


def test_metadata_update_is_flagged(signed, identity):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    writer.root[generic.NameObject("/Lang")] = generic.TextStringObject("fr")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    report = seal.verify_pdf(out.getvalue(), identity.certificate_pem)
    assert not report.covers_whole_file
    assert report.modified_after_signing
    assert report.changes_disallowed
    assert report.modification_level == "OTHER"


def test_another_trust_root_is_not_trusted(signed, session):
    other = seal.signing_identity(session, 2, "Northgate Psychiatry")
    report = seal.verify_pdf(signed, other.certificate_pem)
    assert report.intact
    assert report.valid
    assert report.trusted is False


def test_unsigned_or_garbage_is_a_report_not_an_exception(identity, doc, signer, evidence):
    unsigned = render_consent(doc, signer=signer, evidence=evidence)
    for pdf in (unsigned, b"not a pdf", unsigned[:200]):
        report = seal.verify_pdf(pdf, identity.certificate_pem)
        assert not (report.intact)
        assert not (report.valid)
        assert not (report.trusted)
        assert not report.ok


def test_identity_is_created_once_and_cached(session):
    # Given no credential yet
    assert credential_count(session) == 0
    # When the identity is asked for twice
    first = seal.signing_identity(session, *ORG)
    second = seal.signing_identity(session, *ORG)
    # Then one row exists and the second call returned the loaded signer itself
    assert credential_count(session) == 1
    assert second is first
    # And after the process forgets it, the same credential is loaded again (no new row)
    seal.forget_identities()
    third = seal.signing_identity(session, *ORG)
    assert third is not first
    assert third.certificate_pem == first.certificate_pem
    assert credential_count(session) == 1


def test_each_organization_has_its_own_identity(session):
    a = seal.signing_identity(session, *ORG)
    b = seal.signing_identity(session, 2, "Northgate Psychiatry")
    assert a.certificate_pem != b.certificate_pem
    assert credential_count(session) == 2


def test_identity_is_created_without_committing_the_callers_work(session):
    # Given the caller has pending, uncommitted work in its session
    first = seal.signing_identity(session, *ORG)
    session.add(pending_credential(99))
    # When another organization's identity is created
    seal.signing_identity(session, 3, "Third Practice")
    # Then the caller's pending row was not committed by it
    session.rollback()
    with Session(session.get_bind()) as fresh:
        organizations = set(fresh.execute(select(SigningCredential.organization_id)).scalars())
    assert organizations == {1, 3}
    assert first is seal.signing_identity(session, *ORG)


def test_identity_created_inside_a_unit_of_work_commits_with_it(session):
    # Given a service's write transaction (on SQLite it holds the write lock)
    created: list[seal.SigningIdentity] = []

    def failing_service() -> None:
        with unit_of_work(session):
            session.add(pending_credential(99))
            # When the identity is first needed inside it, it is created there (no 2nd writer)
            created.append(seal.signing_identity(session, *ORG))
            raise RuntimeError("service failed")

    with pytest.raises(RuntimeError, match="service failed"):
        failing_service()
    (inside,) = created
    # Then it rolled back with the service's work, and the next use creates a new one
    assert credential_count(session) == 0
    with unit_of_work(session):
        again = seal.signing_identity(session, *ORG)
    assert again.credential_uuid != inside.credential_uuid
    assert credential_count(session) == 1


def pending_credential(organization_id: int) -> SigningCredential:
    return SigningCredential(
        organization_id=organization_id,
        subject="pending",
        certificate_pem="",
        private_key_sealed=b"x",
        not_after=datetime(2030, 1, 1, tzinfo=UTC),
    )


def test_private_key_is_sealed_at_rest(session, identity):
    # Given the raw column as the database stores it
    with Session(session.get_bind()) as fresh:
        raw = fresh.execute(text("SELECT uuid, private_key_sealed FROM signing_credentials")).one()
    blob = bytes(raw.private_key_sealed)
    # Then it is a vault blob, not a PEM or DER key
    assert b"PRIVATE KEY" not in blob
    assert b"-----BEGIN" not in blob
    place = seal.key_place(raw.uuid)
    key = load_signing_key(blob, place)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert der not in blob
    assert vault.key_id_of(blob, place) == vault.ring().primary
    # And it opens only for its own row
    with pytest.raises(vault.IntegrityFailure):
        load_signing_key(blob, seal.key_place("00000000-0000-4000-8000-000000000000"))


def test_certificate_is_a_document_signer(identity):
    certificate = x509.load_pem_x509_certificate(identity.certificate_pem)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert 3600 <= lifetime.days <= 3700
    assert "Whitfield Counseling" in certificate.subject.rfc4514_string()


def test_ensure_identities_creates_only_missing_ones(session):
    seal.signing_identity(session, *ORG)
    created = seal.ensure_identities(session, [ORG, (2, "Northgate Psychiatry"), (3, "Third")])
    assert created == 2
    assert credential_count(session) == 3
    assert seal.ensure_identities(session, [ORG, (2, "Northgate Psychiatry")]) == 0


def test_long_organization_names_fit_the_certificate(session):
    identity = seal.signing_identity(session, 7, "A" * 200)
    assert identity.certificate_pem.startswith(b"-----BEGIN CERTIFICATE-----")
