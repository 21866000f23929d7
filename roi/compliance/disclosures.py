"""Disclosures made outside roi: by phone, fax, mail or in court, recorded by staff afterwards.

A subpoena answered by mail or an abuse report made by phone is exactly what the HIPAA
accounting must list (164.528(a)(1)), so staff record it here: the day, the recipient (a
directory entry, or a typed name and address), what was disclosed, why, under which basis, and
the written request when there was one. A clinician or compliance officer of the client's
organization records it; the record is audited as `disclosure.recorded` with its basis and id,
and that audit entry is what puts it in the accounting (`roi.audit.accounting`).

Every free text (recipient, description, purpose) and the request document are sealed by
`roi.vault`: they may name the client or say what the court asked about.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit, vault
from roi.accounts.models import Client, Provider
from roi.accounts.policy import Permission, organization_clients, require
from roi.accounts.practice import today_in_practice
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.compliance.models import DisclosureBasis, OutsideDisclosure
from roi.db import new_uuid, unit_of_work
from roi.documents import attachments
from roi.errors import Invalid, NotFound
from roi.messaging.service import NewAttachment

MAX_NAME = 200
MAX_ADDRESS = 1000
MAX_DESCRIPTION = 4000
MAX_PURPOSE = 1000
#: the accounting covers six years (164.528(a)(3)): an older disclosure would never be listed
OLDEST_YEARS = 6
TABLE = "outside_disclosures"


@dataclass(frozen=True)
class NewOutsideDisclosure:
    """A disclosure as staff record it; a recipient is a directory entry or a typed name."""

    client_id: int
    disclosed_on: date
    description: str
    purpose: str
    basis: str
    recipient_provider_id: int | None = None
    recipient_name: str | None = None
    recipient_address: str | None = None
    request_document: NewAttachment | None = None
    #: it carried substance-use-disorder records (42 CFR Part 2)
    substance_use_records: bool = False


@dataclass(frozen=True)
class OutsideText:
    """An outside disclosure's sealed words, opened: what the accounting prints."""

    recipient_name: str | None
    recipient_address: str | None
    description: str
    purpose: str


def record(session: Session, actor: Actor, new: NewOutsideDisclosure) -> OutsideDisclosure:
    """Record a disclosure made outside roi; audited as `disclosure.recorded`.

    Raises:
        Forbidden: the actor's role may not record disclosures (clients, admins).
        NotFound: the client is not one of the actor's organization.
        Invalid: a field is missing or wrong, named in `fields`.
    """
    require(actor, Permission.RECORD_OUTSIDE_DISCLOSURE)
    texts = _checked(new, today=today_in_practice(session, actor))
    with unit_of_work(session):
        client = _client(session, actor, new.client_id)
        if new.recipient_provider_id is not None and not known_provider(
            session, new.recipient_provider_id
        ):
            raise Invalid({"recipient": "No such directory entry."})
        found = OutsideDisclosure(
            client_id=client.id,
            disclosed_on=new.disclosed_on,
            recipient_provider_id=new.recipient_provider_id,
            basis=DisclosureBasis(new.basis),
            substance_use_records=new.substance_use_records,
            recorded_by_id=actor.user_id,
            recorded_at=now(),
        )
        found.uuid = new_uuid()
        for column, text in texts.items():
            if text is not None:
                setattr(found, column, vault.seal(text.encode("utf-8"), _place(found, column)))
        document = new.request_document
        if document is not None:
            found.request_content_type = document.content_type
            found.request_sha256 = hashlib.sha256(document.content).hexdigest()
            found.request_filename_sealed = vault.seal(
                document.filename.strip().encode("utf-8"), _place(found, "request_filename_sealed")
            )
            found.request_content_sealed = vault.seal(
                document.content, _place(found, "request_content_sealed")
            )
        session.add(found)
        session.flush()
        audit.record(
            session,
            actor,
            Action.DISCLOSURE_RECORDED,
            client_id=client.id,
            recipient_provider_id=found.recipient_provider_id,
            detail={"basis": found.basis.value, "outside_disclosure_id": found.id},
        )
    return found


def disclosures_of(session: Session, actor: Actor, client_id: int) -> list[OutsideDisclosure]:
    """The outside disclosures recorded about a client of the actor's organization, newest
    first (the client's page lists them).

    Raises:
        Forbidden: the actor's role may not record disclosures.
        NotFound: not a client of the actor's organization.
    """
    require(actor, Permission.RECORD_OUTSIDE_DISCLOSURE)
    client = _client(session, actor, client_id)
    return list(
        session.scalars(
            select(OutsideDisclosure)
            .where(OutsideDisclosure.client_id == client.id)
            .order_by(OutsideDisclosure.disclosed_on.desc(), OutsideDisclosure.id.desc())
        )
    )


def request_document(
    session: Session, actor: Actor, disclosure_id: int
) -> tuple[OutsideDisclosure, bytes]:
    """The written request kept with a disclosure; downloading it is audited.

    Raises:
        NotFound: not a disclosure of the actor's organization, or it has no request document.
    """
    require(actor, Permission.RECORD_OUTSIDE_DISCLOSURE)
    with unit_of_work(session):
        found = session.scalar(
            select(OutsideDisclosure)
            .join(Client, Client.id == OutsideDisclosure.client_id)
            .where(OutsideDisclosure.id == disclosure_id, organization_clients(actor))
        )
        if found is None or found.request_content_sealed is None:
            raise NotFound("request document")
        content = vault.open_sealed(
            found.request_content_sealed, _place(found, "request_content_sealed")
        )
        audit.record(
            session,
            actor,
            Action.DOCUMENT_DOWNLOADED,
            client_id=found.client_id,
            detail={"document": "outside_disclosure_request", "outside_disclosure_id": found.id},
        )
    return found, content


def known_provider(session: Session, provider_id: int) -> bool:
    """Whether the directory has this entry; an id beyond any row id (32 bits) names none,
    and is not sent to a database that would refuse it with an error."""
    return 0 < provider_id < 2**31 and session.get(Provider, provider_id) is not None


def directory(session: Session, actor: Actor) -> list[Provider]:
    """The shared directory by name: the recipients a disclosure may name by entry."""
    require(actor, Permission.RECORD_OUTSIDE_DISCLOSURE)
    return list(session.scalars(select(Provider).order_by(Provider.name, Provider.id)))


def texts_of(
    session: Session, ids: Iterable[int | None]
) -> dict[int, tuple[OutsideDisclosure, OutsideText]]:
    """The disclosures with these ids and their opened words, at once; no authorization (the
    accounting that asks has already checked whose they are)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.scalars(select(OutsideDisclosure).where(OutsideDisclosure.id.in_(wanted)))
    return {row.id: (row, opened(row)) for row in rows}


def opened(found: OutsideDisclosure) -> OutsideText:
    """A disclosure's sealed words, unsealed."""
    return OutsideText(
        recipient_name=_open(found, "recipient_name_sealed"),
        recipient_address=_open(found, "recipient_address_sealed"),
        description=_open(found, "description_sealed") or "",
        purpose=_open(found, "purpose_sealed") or "",
    )


def _checked(new: NewOutsideDisclosure, *, today: date) -> dict[str, str | None]:
    """The texts to seal, by column; every problem at once, named by field (`today`: where the
    practice is)."""
    problems: dict[str, str] = {}
    if new.disclosed_on > today:
        problems["disclosed_on"] = "The day of the disclosure cannot be in the future."
    elif new.disclosed_on < date(today.year - OLDEST_YEARS, 1, 1):
        problems["disclosed_on"] = (
            "That is more than six years ago: no accounting covers it (45 CFR 164.528(a)(3))."
        )
    if new.basis not in {b.value for b in DisclosureBasis}:
        problems["basis"] = "Choose one of: " + ", ".join(b.value for b in DisclosureBasis) + "."
    name = _clean(new.recipient_name)
    address = _clean(new.recipient_address)
    if new.recipient_provider_id is None and not name:
        problems["recipient"] = "Choose a directory entry or type the recipient's name."
    elif name and (len(name) > MAX_NAME or "\n" in name):
        problems["recipient"] = f"Keep the recipient's name to one line under {MAX_NAME}."
    elif address and len(address) > MAX_ADDRESS:
        problems["recipient"] = f"Keep the address under {MAX_ADDRESS} characters."
    description = _clean(new.description)
    purpose = _clean(new.purpose)
    for field, text, limit in (
        ("description", description, MAX_DESCRIPTION),
        ("purpose", purpose, MAX_PURPOSE),
    ):
        if not text:
            problems[field] = (
                "Say what was disclosed."
                if field == "description"
                else ("Say why it was disclosed (or attach the written request).")
            )
        elif len(text) > limit:
            problems[field] = f"Keep this under {limit:,} characters."
    if new.request_document is not None:
        # a scanned subpoena or order, so the limit of every scan (a letter or an email may be
        # plain text, which no other scan may)
        problem = attachments.problem(new.request_document, max_bytes=attachments.MAX_SCAN_BYTES)
        if problem:
            problems["request_document"] = problem
    if problems:
        raise Invalid(problems)
    return {
        "recipient_name_sealed": name,
        "recipient_address_sealed": address,
        "description_sealed": description,
        "purpose_sealed": purpose,
    }


def _clean(text: str | None) -> str | None:
    """Stripped text without NUL (which no database stores), or None when empty."""
    cleaned = (text or "").replace("\x00", "").strip()
    return cleaned or None


def _client(session: Session, actor: Actor, client_id: int) -> Client:
    client = session.scalar(
        select(Client).where(Client.id == client_id, organization_clients(actor))
    )
    if client is None:
        raise NotFound("client")
    return client


def _open(found: OutsideDisclosure, column: str) -> str | None:
    blob: bytes | None = getattr(found, column)
    if blob is None:
        return None
    return vault.open_sealed(blob, _place(found, column)).decode("utf-8")


def _place(found: OutsideDisclosure, column: str) -> vault.Place:
    return vault.Place(TABLE, column, found.uuid)
