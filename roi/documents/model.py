"""The plain data a consent document is made from.

`roi.consent` builds these from its records; `roi.documents` renders them and never sees a model.
Every string here may hold client-typed text: templates autoescape all of it, and nothing in
these objects is ever used as a URL or a stylesheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Party:
    """A provider or practice that may disclose or receive information."""

    name: str
    credentials: str
    organization: str
    address: str
    email: str | None


@dataclass(frozen=True)
class SignerBlock:
    """Who signed and how they relate to the client."""

    name: str
    #: self | parent | guardian | personal_representative
    relationship: str
    #: a personal representative's description of their authority (164.508(c)(1)(vi))
    authority: str | None
    signed_at: datetime
    #: the drawn signature as PNG bytes, when the client drew one
    drawn_signature_png: bytes | None


@dataclass(frozen=True)
class Evidence:
    """The facts of the signing ceremony, printed on the certificate-of-completion page."""

    signed_at: datetime
    ip: str | None
    user_agent: str | None
    #: e.g. "password" | "email_link_dob_code"
    identity_method: str
    #: the identity check in plain words, e.g. "Signed in with password"
    assurance: str
    template_id: str
    template_version: int
    #: `shown_document_sha256(doc)` of the document the client saw before signing
    shown_document_sha256: str
    consent_uuid: str
    organization: str
    #: the language the signer read the release in (roi.i18n.LANGUAGES)
    language: str = "en"
    #: the version of the form's text in that language (its `version_es` for Spanish)
    language_version: int | None = None


@dataclass(frozen=True)
class ConsentDocument:
    """One release of information, as the client reads it."""

    consent_id: int
    consent_uuid: str
    title: str
    #: general | psychotherapy_notes | part2
    kind: str
    introduction: str
    client_name: str
    client_birth_date: date
    discloser: Party
    recipient: Party
    #: one_way | two_way
    direction: str
    #: (label, explanation) per category of information
    categories: tuple[tuple[str, str], ...]
    information_description: str
    #: purpose labels
    purposes: tuple[str, ...]
    expires_on: date | None
    expiry_event: str | None
    #: (heading, text), already filled in, in order
    statements: tuple[tuple[str, str], ...]
    how_to_revoke: str
    supersedes_consent_id: int | None = None
    #: the language the document is written in (roi.i18n.LANGUAGES); the PDF's <html lang>
    language: str = "en"
    #: per statement, the English text printed beside its translation (the 42 CFR 2.32 notice
    #: stays in English), or None; empty when nothing stays in English
    originals: tuple[str | None, ...] = ()
    #: the zone its times are shown in (the client's own, else the practice's)
    time_zone: str = "UTC"


@dataclass(frozen=True)
class RevocationBlock:
    """When and how a consent was revoked."""

    revoked_at: datetime
    #: who revoked it, in words (the client's or representative's name)
    revoked_by: str
    #: how it was revoked, in words ("Online, in the client portal")
    method: str
    reason: str | None


@dataclass(frozen=True)
class PaperRecord:
    """A release signed on paper, as staff recorded it from the scan."""

    signer_name: str
    #: self | parent | guardian | personal_representative
    relationship: str
    authority: str | None
    #: the day written beside the signature on the paper
    signed_on: date
    recorded_at: datetime
    #: who entered it in roi, and their practice
    recorded_by: str
    organization: str
    scan_filename: str
    #: application/pdf | image/png | image/jpeg
    scan_type: str
    scan_sha256: str
