"""A client's accounting of disclosures (45 CFR 164.528), and its Part 2 version (42 CFR 2.25).

The rows are exactly the `disclosure.permitted` audit entries about the client in the range
(SECURITY G6), read by `roi.audit.accounting`; this module adds what a person reads: the
recipient's name and address from the provider directory (loaded in bulk), the category labels
as the description, the purpose label. Message bodies are never opened: the audit entry says
what was disclosed in the words of the release form.

Who may see it: compliance staff for their organization's clients, and the client their own
(`client_for_accounting`, a SQL filter: anyone else's client is "not found"). Every view and
every export is audited, with ids, dates and the format only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Client, Provider
from roi.accounts.policy import Permission, answerable_clients, require
from roi.actor import Actor
from roi.audit import Action
from roi.audit.accounting import PermittedDisclosure, permitted_disclosures
from roi.clock import iso, now
from roi.compliance.spreadsheet import csv_file
from roi.consent.library import Category, FormLibrary
from roi.db import unit_of_work
from roi.documents import AccountingDocument, AccountingLine, render_accounting
from roi.errors import Invalid, NotFound

#: 164.528(a)(1): the six years before the request
HIPAA_YEARS = 6
#: 42 CFR 2.25(a): the three years before the request
PART2_YEARS = 3
PART2_SUFFIX = " (42 CFR Part 2 records)"
CSV_HEADER = (
    "Date (UTC)",
    "Recipient",
    "Recipient organization",
    "Recipient address",
    "What was disclosed",
    "Purpose",
    "42 CFR Part 2",
    "Consent",
    "Message",
)


class Shown(StrEnum):
    """How an accounting left roi: viewed (a page, the API) or exported (a file)."""

    PAGE = "page"
    JSON = "json"
    PDF = "pdf"
    CSV = "csv"


@dataclass(frozen=True)
class Period:
    """A range of days, both included, read in UTC."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.until + timedelta(days=1), time.min, UTC)


@dataclass(frozen=True)
class Recipient:
    provider_id: int | None
    #: the provider's name, with credentials when the directory has them
    name: str
    organization: str
    address: str


@dataclass(frozen=True)
class Row:
    """One disclosure, as the accounting prints it."""

    at: datetime
    recipient: Recipient
    #: the category labels, "; "-separated, plus the Part 2 note when SUD records were in it
    description: str
    #: the purpose label
    purpose: str
    purpose_code: str | None
    categories: tuple[str, ...]
    #: it carried substance use disorder records (42 CFR Part 2)
    part2: bool
    consent_id: int | None
    message_id: int | None
    #: the audit entry it comes from
    seq: int


@dataclass(frozen=True)
class Accounting:
    client_id: int
    client_name: str
    client_birth_date: date
    practice: str
    period: Period
    #: only Part 2 disclosures (42 CFR 2.25)
    part2: bool
    generated_at: datetime
    rows: tuple[Row, ...]

    def document(self, request_id: int | None = None) -> AccountingDocument:
        """The plain data the PDF is rendered from."""
        return AccountingDocument(
            client_name=self.client_name,
            client_birth_date=self.client_birth_date,
            practice=self.practice,
            since=self.period.since,
            until=self.period.until,
            generated_at=self.generated_at,
            part2=self.part2,
            lines=tuple(
                AccountingLine(
                    at=row.at,
                    recipient_name=row.recipient.name,
                    recipient_organization=row.recipient.organization,
                    recipient_address=row.recipient.address,
                    description=row.description,
                    purpose=row.purpose,
                )
                for row in self.rows
            ),
            request_id=request_id,
        )


@dataclass(frozen=True)
class Export:
    """A file to download: its bytes, a name with ids only (no PHI), and its type."""

    data: bytes
    filename: str
    mimetype: str


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def period_for(
    since: date | None, until: date | None, *, part2: bool = False, today: date | None = None
) -> Period:
    """The range asked for; by default the six years (Part 2: three) up to today.

    Raises:
        Invalid: the start is after the end.
    """
    until = until or (today or now().date())
    since = since or years_before(until, PART2_YEARS if part2 else HIPAA_YEARS)
    if since > until:
        raise Invalid({"since": "The start date must be on or before the end date."})
    return Period(since, until)


def client_for_accounting(
    session: Session, actor: Actor, client_id: int, *, lock: bool = False
) -> Client:
    """The client whose accounting `actor` asks for; `lock` serializes writers per client.

    Raises:
        Forbidden: the actor's role has no accounting (clinicians, admins).
        NotFound: no such client, or not one the actor may see.
    """
    require(actor, Permission.VIEW_ACCOUNTING)
    query = select(Client).where(Client.id == client_id, answerable_clients(actor))
    if lock:
        query = query.with_for_update()
    client = session.scalar(query)
    if client is None:
        raise NotFound("client")
    return client


def clients_for_accounting(session: Session, actor: Actor) -> list[Client]:
    """The clients whose accounting `actor` may see, by family name."""
    require(actor, Permission.VIEW_ACCOUNTING)
    return list(
        session.scalars(
            select(Client)
            .where(answerable_clients(actor))
            .order_by(Client.family_name, Client.given_name, Client.id)
        )
    )


def build(
    session: Session,
    library: FormLibrary,
    client: Client,
    period: Period,
    *,
    part2: bool = False,
    at: datetime | None = None,
) -> Accounting:
    """The accounting of `client` over `period`; no authorization and no audit (callers do both).

    `part2` keeps only disclosures whose categories include a substance-use-disorder one.
    """
    entries = permitted_disclosures(session, client.id, start=period.start, end=period.end)
    categories = {c.code: c for c in library.categories()}
    purposes = {p.code: p.label for p in library.purposes()}
    recipients = _recipients(session, (e.recipient_provider_id for e in entries))
    rows = [_row(entry, categories, purposes, recipients) for entry in entries]
    if part2:
        rows = [row for row in rows if row.part2]
    return Accounting(
        client_id=client.id,
        client_name=client.display_name,
        client_birth_date=client.birth_date,
        practice=client.organization.name,
        period=period,
        part2=part2,
        generated_at=at or now(),
        rows=tuple(rows),
    )


def accounting(
    session: Session,
    actor: Actor,
    library: FormLibrary,
    client_id: int,
    *,
    since: date | None = None,
    until: date | None = None,
    part2: bool = False,
    shown: Shown = Shown.PAGE,
) -> Accounting:
    """A client's accounting to look at (a page, the API); audited as `audit.viewed`.

    Raises:
        Forbidden: the actor's role has no accounting.
        NotFound: not a client the actor may see.
        Invalid: the start date is after the end date.
    """
    client = client_for_accounting(session, actor, client_id)
    found = build(session, library, client, period_for(since, until, part2=part2), part2=part2)
    _audit(session, actor, Action.AUDIT_VIEWED, found, shown)
    return found


def export(
    session: Session,
    actor: Actor,
    library: FormLibrary,
    client_id: int,
    *,
    file_format: Shown,
    since: date | None = None,
    until: date | None = None,
    part2: bool = False,
) -> Export:
    """A client's accounting as a PDF or CSV file; audited as `audit.exported`.

    Raises:
        Forbidden: the actor's role has no accounting.
        NotFound: not a client the actor may see.
        Invalid: the start date is after the end date, or the format is not a file format.
    """
    if file_format not in (Shown.PDF, Shown.CSV):
        raise Invalid({"format": "Choose PDF or CSV."})
    client = client_for_accounting(session, actor, client_id)
    found = build(session, library, client, period_for(since, until, part2=part2), part2=part2)
    name = f"accounting-client-{client_id}{'-part2' if part2 else ''}"
    if file_format is Shown.PDF:
        result = Export(to_pdf(found), f"{name}.pdf", "application/pdf")
    else:
        result = Export(to_csv(found), f"{name}.csv", "text/csv")
    _audit(session, actor, Action.AUDIT_EXPORTED, found, file_format)
    return result


def to_pdf(found: Accounting, request_id: int | None = None) -> bytes:
    """The accounting as a PDF (WeasyPrint, through roi.documents)."""
    return render_accounting(found.document(request_id))


def to_csv(found: Accounting) -> bytes:
    """The accounting as CSV (`spreadsheet.csv_file`), one row per disclosure; no cell can
    start a formula, and an address keeps its lines."""
    rows = (
        (
            iso(row.at),
            row.recipient.name,
            row.recipient.organization,
            row.recipient.address,
            row.description,
            row.purpose,
            "yes" if row.part2 else "no",
            row.consent_id,
            row.message_id,
        )
        for row in found.rows
    )
    return csv_file(CSV_HEADER, rows, multiline=True)


def describe(codes: Sequence[str], categories: dict[str, Category]) -> tuple[str, bool]:
    """The category labels as one description, and whether SUD records were in it.

    A code no form offers any more is shown as itself rather than dropped: the accounting must
    still say what went out.
    """
    known = [categories.get(code) for code in codes]
    labels = [c.label if c is not None else code for c, code in zip(known, codes, strict=True)]
    part2 = any(c is not None and c.substance_use_disorder for c in known)
    description = "; ".join(labels) or "Not recorded"
    return (description + PART2_SUFFIX if part2 else description), part2


def _row(
    entry: PermittedDisclosure,
    categories: dict[str, Category],
    purposes: dict[str, str],
    recipients: dict[int, Recipient],
) -> Row:
    description, part2 = describe(entry.categories, categories)
    purpose = purposes.get(entry.purpose, entry.purpose) if entry.purpose else "Not recorded"
    return Row(
        at=entry.at.astimezone(UTC),
        recipient=_recipient(entry.recipient_provider_id, recipients),
        description=description,
        purpose=purpose,
        purpose_code=entry.purpose,
        categories=entry.categories,
        part2=part2,
        consent_id=entry.consent_id,
        message_id=entry.message_id,
        seq=entry.seq,
    )


def _recipients(session: Session, ids: Iterable[int | None]) -> dict[int, Recipient]:
    """The directory entries of every recipient at once (one query, not one per row)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    # Columns, not entities: the accounting only reads them, and a busy client has many.
    rows = session.execute(
        select(
            Provider.id,
            Provider.name,
            Provider.credentials,
            Provider.organization_name,
            Provider.address,
        ).where(Provider.id.in_(wanted))
    )
    return {
        row.id: Recipient(
            row.id,
            f"{row.name}, {row.credentials}" if row.credentials else row.name,
            row.organization_name,
            row.address or "",
        )
        for row in rows
    }


def _recipient(provider_id: int | None, recipients: dict[int, Recipient]) -> Recipient:
    if provider_id is not None and provider_id in recipients:
        return recipients[provider_id]
    # The directory keeps every entry (nothing is deleted), so this is only a damaged database.
    label = f"Directory entry #{provider_id}" if provider_id else "Not recorded"
    return Recipient(provider_id, label, "", "")


def _audit(session: Session, actor: Actor, action: Action, found: Accounting, shown: Shown) -> None:
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            action,
            client_id=found.client_id,
            detail={
                "since": found.period.since.isoformat(),
                "until": found.period.until.isoformat(),
                "format": shown.value,
                "part2": found.part2,
                "entries": len(found.rows),
            },
        )
