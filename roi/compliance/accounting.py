"""A client's accounting of disclosures (45 CFR 164.528), and its Part 2 version (42 CFR 2.25).

The rows are exactly the disclosure entries of the audit log about the client in the range
(SECURITY G6), read by `roi.audit.accounting`: disclosures roi sent under a consent, sent in an
emergency without one, and made outside roi and recorded by staff. This module adds what a
person reads: the recipient's name and address from the provider directory (loaded in bulk) or
as typed, the category labels or the recorded description, the purpose, the basis. Message
bodies are never opened: the audit entry says what was disclosed in the words of the release form.

HIPAA's accounting lists the disclosures made without the client's authorization (emergency and
164.512 bases: `required_by_hipaa`); disclosures the client authorized are excluded by
164.528(a)(1)(iv), so roi lists them in their own section, "beyond what HIPAA requires". The
Part 2 accounting (42 CFR 2.25) lists the consented disclosures of SUD records. Entries to an
agency whose statement suspends the accounting (164.528(a)(2)) are left out while it holds, and
repeated disclosures to one recipient for one purpose may be summarized (164.528(b)(3)).

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

from roi import audit, i18n
from roi.accounts.models import Client, Organization, Provider
from roi.accounts.policy import Permission, answerable_clients, require
from roi.accounts.practice import practice_day
from roi.actor import Actor
from roi.audit import Action
from roi.audit.accounting import LoggedDisclosure, logged_disclosures
from roi.clock import day_start, iso, local_day, now
from roi.compliance import disclosures as outside
from roi.compliance.models import AccountingSuspension, DisclosureBasis, OutsideDisclosure
from roi.compliance.spreadsheet import csv_file
from roi.consent.library import Category, FormLibrary
from roi.db import unit_of_work
from roi.documents import AccountingDocument, AccountingLine, render_accounting
from roi.errors import Invalid, NotFound
from roi.i18n import N_, Message
from roi.inputs import FIRST_DAY

#: 164.528(a)(1): the six years before the request
HIPAA_YEARS = 6
#: 42 CFR 2.25(a): the three years before the request
PART2_YEARS = 3
PART2_DESCRIPTION = N_("%(what)s (42 CFR Part 2 records)")
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
    "Basis",
    "Required by HIPAA",
    "Disclosures summarized",
    "Last of them (UTC)",
)
#: the basis of a disclosure made under the client's written authorization (a consent)
AUTHORIZATION = "authorization"
#: each basis as the accounting states it
BASIS_LABELS = {
    AUTHORIZATION: N_("The client's written authorization"),
    "medical_emergency": N_("Medical emergency (42 CFR 2.51)"),
    "serious_threat": N_("Serious and imminent threat to health or safety (45 CFR 164.512(j))"),
    "required_by_law": N_("Required by law (45 CFR 164.512(a))"),
    "public_health": N_("Public health activity (45 CFR 164.512(b))"),
    "abuse_neglect": N_("Report of abuse, neglect or domestic violence (45 CFR 164.512(c))"),
    "health_oversight": N_("Health oversight (45 CFR 164.512(d))"),
    "judicial": N_("Judicial or administrative proceeding (45 CFR 164.512(e))"),
    "law_enforcement": N_("Law enforcement (45 CFR 164.512(f))"),
    "decedents": N_("About a decedent (45 CFR 164.512(g))"),
    "research": N_("Research (45 CFR 164.512(i))"),
    "specialized_government": N_("Specialized government function (45 CFR 164.512(k))"),
    "workers_compensation": N_("Workers' compensation (45 CFR 164.512(l))"),
}


class Kind(StrEnum):
    """How a disclosure left the practice."""

    #: sent through roi under a consent
    CONSENTED = "consented"
    #: sent through roi without a consent, under an emergency basis
    EMERGENCY = "emergency"
    #: made outside roi (phone, fax, mail, court) and recorded by staff
    OUTSIDE = "outside"


KINDS = {
    Action.DISCLOSURE_PERMITTED: Kind.CONSENTED,
    Action.DISCLOSURE_EMERGENCY: Kind.EMERGENCY,
    Action.DISCLOSURE_RECORDED: Kind.OUTSIDE,
}


class Shown(StrEnum):
    """How an accounting left roi: viewed (a page, the API) or exported (a file)."""

    PAGE = "page"
    JSON = "json"
    PDF = "pdf"
    CSV = "csv"


@dataclass(frozen=True)
class Period:
    """A range of days, both included, of the client's practice's calendar (as every day staff
    and clients name in roi: an accounting request's among them)."""

    since: date
    until: date

    def instants(self, time_zone: str) -> tuple[datetime, datetime]:
        """The period where `time_zone` is: from its first day's midnight up to, not including,
        the midnight after its last day."""
        return day_start(self.since, time_zone), day_start(
            self.until + timedelta(days=1), time_zone
        )


@dataclass(frozen=True)
class Recipient:
    provider_id: int | None
    #: the provider's name, with credentials when the directory has them
    name: str
    organization: str
    address: str
    #: the roi practice the directory entry belongs to (None: a provider outside roi)
    organization_id: int | None = None


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
    kind: Kind = Kind.CONSENTED
    #: `authorization`, an emergency basis or a 164.512 basis (CONTRACT.md)
    basis: str = AUTHORIZATION
    #: the outside or emergency disclosure's own record
    record_id: int | None = None
    #: only the day is known (a disclosure made outside roi)
    date_only: bool = False

    def day_in(self, time_zone: str) -> date:
        """The day it was made where `time_zone` is; a date-only one's own day."""
        return self.at.date() if self.date_only else local_day(self.at, time_zone)

    @property
    def required_by_hipaa(self) -> bool:
        """HIPAA's accounting must list it: made without the client's authorization."""
        return self.basis != AUTHORIZATION

    @property
    def basis_label(self) -> str:
        return BASIS_LABELS.get(self.basis, self.basis)


@dataclass(frozen=True)
class Entry:
    """A line of the accounting: one disclosure, or the first of repeated ones to one recipient
    for one purpose, with how many there were and the date of the last (164.528(b)(3))."""

    row: Row
    count: int = 1
    #: the last of the repeated ones (None: one disclosure)
    last: Row | None = None
    #: the time zone its days are counted in (the accounting's times')
    time_zone: str = "UTC"

    @property
    def last_at(self) -> datetime | None:
        return self.last.at if self.last is not None else None

    @property
    def last_day(self) -> date | None:
        """The day of the last one where the accounting's times are read."""
        return self.last.day_in(self.time_zone) if self.last is not None else None

    @property
    def frequency(self) -> str | None:
        """'about every 12 days' for a summary of several disclosures, in calendar days (a
        daily one across a change of the clocks is still daily); None for one."""
        if self.count < 2 or self.last_day is None:
            return None
        first = self.row.day_in(self.time_zone)
        days = round((self.last_day - first).days / (self.count - 1))
        if days < 1:
            return N_("several a day")
        if days == 1:
            return N_("about every day")
        return Message("about every %(days)d days", days=days)


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
    #: repeated disclosures to one recipient for one purpose are summarized (164.528(b)(3))
    summarized: bool = False
    #: entries left out under a suspension (164.528(a)(2)); staff see the number, the client
    #: is not told (telling would defeat the agency's request)
    withheld: int = 0
    #: the client's language and time zone: the PDF the client gets is written in them
    language: str = "en"
    time_zone: str = "UTC"
    #: the time zone of the calendar `period`'s days belong to (the practice's)
    calendar_zone: str = "UTC"

    @property
    def required(self) -> tuple[Entry, ...]:
        """What HIPAA requires in the accounting (the Part 2 version: every row it lists)."""
        return self._entries([r for r in self.rows if self.part2 or r.required_by_hipaa])

    @property
    def beyond(self) -> tuple[Entry, ...]:
        """Disclosures the client authorized: beyond what HIPAA requires (none in Part 2)."""
        return self._entries([r for r in self.rows if not self.part2 and not r.required_by_hipaa])

    def _entries(self, rows: Sequence[Row]) -> tuple[Entry, ...]:
        if not self.summarized:
            return tuple(Entry(row, time_zone=self.time_zone) for row in rows)
        return summarize(rows, self.time_zone)

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
            lines=tuple(_line(entry, self.language) for entry in self.required),
            beyond=tuple(_line(entry, self.language) for entry in self.beyond),
            request_id=request_id,
            language=self.language,
            time_zone=self.time_zone,
            calendar_zone=self.calendar_zone,
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
    since: date | None, until: date | None, *, today: date, part2: bool = False
) -> Period:
    """The range asked for; by default the six years (Part 2: three) up to `today` (on the
    accounting's calendar).

    Raises:
        Invalid: the start is after the end.
    """
    until = until or today
    since = since or years_before(until, PART2_YEARS if part2 else HIPAA_YEARS)
    if since > until:
        raise Invalid({"since": "The start date must be on or before the end date."})
    return Period(since, until)


def client_for_accounting(
    session: Session, actor: Actor, client_id: int, *, lock: bool = False
) -> Client:
    """The client whose accounting `actor` asks for; `lock` serializes writers per client.

    The lock is FOR NO KEY UPDATE: it keeps out another writer of the client's accounting, not
    a send that writes rows naming the client (see `roi.audit.record`'s `writing`).

    Raises:
        Forbidden: the actor's role has no accounting (clinicians, admins).
        NotFound: no such client, or not one the actor may see.
    """
    require(actor, Permission.VIEW_ACCOUNTING)
    query = select(Client).where(Client.id == client_id, answerable_clients(actor))
    if lock:
        query = query.with_for_update(key_share=True)
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
    summarized: bool = False,
    language: str | None = None,
) -> Accounting:
    """The accounting of `client` over `period`; no authorization and no audit (callers do both).

    Categories and purposes are worded in `language` (default: the client's own, as the PDF the
    client gets).

    `part2` keeps only consented disclosures whose categories include a substance-use-disorder
    one. Entries to an agency whose suspension holds at `at` (default now) are left out.
    """
    at = at or now()
    calendar = client.organization.time_zone
    start, end = period.instants(calendar)
    entries = logged_disclosures(session, client.id, start=start, end=end)
    records = outside.texts_of(
        session, (e.record_id for e in entries if e.action is Action.DISCLOSURE_RECORDED)
    )
    wording = language or i18n.supported(client.language)
    categories = {c.code: c for c in library.categories(wording)}
    purposes = {p.code: p.label for p in library.purposes(wording)}
    recipients = _recipients(
        session,
        [e.recipient_provider_id for e in entries]
        + [found.recipient_provider_id for found, _ in records.values()],
    )
    rows = []
    for entry in entries:
        if entry.action is Action.DISCLOSURE_RECORDED:
            made = _outside_row(entry, records, recipients)
            if made is None or not period.since <= made.at.date() <= period.until:
                continue
            rows.append(made)
        elif _received(entry, recipients, client):
            continue
        else:
            rows.append(_row(entry, categories, purposes, recipients))
    if part2:
        rows = [row for row in rows if row.part2 and _consented(row)]
    shown = _not_suspended(session, client.organization, rows, at)
    shown_in = client.time_zone or calendar
    # by the day each is listed on (a date-only one's own day comes first in it), then the time
    shown.sort(key=lambda row: (row.day_in(shown_in), not row.date_only, row.at, row.seq))
    return Accounting(
        client_id=client.id,
        client_name=client.display_name,
        client_birth_date=client.birth_date,
        practice=client.organization.name,
        period=period,
        part2=part2,
        generated_at=at,
        rows=tuple(shown),
        summarized=summarized,
        withheld=len(rows) - len(shown),
        language=i18n.supported(client.language),
        time_zone=shown_in,
        calendar_zone=calendar,
    )


def listed_disclosures(
    session: Session, library: FormLibrary, client: Client, at: datetime | None = None
) -> frozenset[int]:
    """The audit entries (seqs) of every disclosure `client`'s accounting lists at `at` (now),
    over their whole record: what another export of their disclosures may carry, so none shows
    what the accounting leaves out (a suspended one, one made to the practice)."""
    at = at or now()
    whole = Period(FIRST_DAY, practice_day(client.organization, at))
    return frozenset(row.seq for row in build(session, library, client, whole, at=at).rows)


def summarize(rows: Sequence[Row], time_zone: str) -> tuple[Entry, ...]:
    """Repeated disclosures to one recipient for one purpose under one basis as one entry: the
    first in full, how many, and the date of the last (164.528(b)(3)); in order of the first."""
    groups: dict[tuple[object, ...], list[Row]] = {}
    for row in rows:
        recipient = row.recipient
        key = (recipient.provider_id, recipient.name, recipient.address, row.purpose, row.basis)
        groups.setdefault(key, []).append(row)
    return tuple(
        Entry(group[0], len(group), group[-1] if len(group) > 1 else None, time_zone)
        for group in groups.values()
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
    summarized: bool = False,
    shown: Shown = Shown.PAGE,
    language: str = "en",
) -> Accounting:
    """A client's accounting to look at (a page, the API); audited as `audit.viewed`. Categories
    and purposes are worded in `language` (the page's; the API's is English).

    Raises:
        Forbidden: the actor's role has no accounting.
        NotFound: not a client the actor may see.
        Invalid: the start date is after the end date.
    """
    client = client_for_accounting(session, actor, client_id)
    period = period_for(since, until, part2=part2, today=practice_day(client.organization))
    found = build(
        session,
        library,
        client,
        period,
        part2=part2,
        summarized=summarized,
        language=language,
    )
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
    summarized: bool = False,
) -> Export:
    """A client's accounting as a PDF or CSV file; audited as `audit.exported`.

    Raises:
        Forbidden: the actor's role has no accounting.
        NotFound: not a client the actor may see.
        Invalid: the start date is after the end date, or the format is not a file format.
    """
    if file_format not in (Shown.PDF, Shown.CSV):
        raise Invalid({"format": N_("Choose PDF or CSV.")})
    client = client_for_accounting(session, actor, client_id)
    period = period_for(since, until, part2=part2, today=practice_day(client.organization))
    # the PDF is written in the client's language; the CSV, a working file for staff, in English
    language = None if file_format is Shown.PDF else "en"
    found = build(
        session,
        library,
        client,
        period,
        part2=part2,
        summarized=summarized,
        language=language,
    )
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
    """The accounting as CSV (`spreadsheet.csv_file`), one row per disclosure (or summary),
    what HIPAA requires first; no cell can start a formula, and an address keeps its lines."""
    rows = (
        (
            _csv_when(row),
            row.recipient.name,
            row.recipient.organization,
            row.recipient.address,
            row.description,
            row.purpose,
            "yes" if row.part2 else "no",
            row.consent_id,
            row.message_id,
            row.basis,
            "yes" if row.required_by_hipaa else "no",
            entry.count,
            _csv_when(entry.last) if entry.last else "",
        )
        for entry in (*found.required, *found.beyond)
        for row in (entry.row,)
    )
    return csv_file(CSV_HEADER, rows, multiline=True)


def _csv_when(row: Row) -> str:
    """The time in UTC, or only the day when only the day is known."""
    return row.at.date().isoformat() if row.date_only else iso(row.at)


def describe(codes: Sequence[str], categories: dict[str, Category]) -> tuple[str, bool]:
    """The category labels as one description, and whether SUD records were in it.

    A code no form offers any more is shown as itself rather than dropped: the accounting must
    still say what went out.
    """
    known = [categories.get(code) for code in codes]
    labels = [c.label if c is not None else code for c, code in zip(known, codes, strict=True)]
    part2 = any(c is not None and c.substance_use_disorder for c in known)
    description = "; ".join(labels) or N_("Not recorded")
    if part2:
        return Message(PART2_DESCRIPTION, what=description), part2
    return description, part2


def _row(
    entry: LoggedDisclosure,
    categories: dict[str, Category],
    purposes: dict[str, str],
    recipients: dict[int, Recipient],
) -> Row:
    description, part2 = describe(entry.categories, categories)
    purpose = purposes.get(entry.purpose, entry.purpose) if entry.purpose else N_("Not recorded")
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
        kind=KINDS[entry.action],
        basis=entry.basis or AUTHORIZATION,
        record_id=entry.record_id,
    )


def _consented(row: Row) -> bool:
    """Made under the client's consent: through roi's gate, or outside roi under an
    authorization (the Part 2 accounting lists what went under a Part 2 consent, 42 CFR 2.25)."""
    return row.kind is Kind.CONSENTED or (row.kind is Kind.OUTSIDE and row.basis == AUTHORIZATION)


def _received(entry: LoggedDisclosure, recipients: dict[int, Recipient], client: Client) -> bool:
    """Whether the client's own practice received this disclosure rather than made it (another
    practice writing back under a two-way release): an accounting lists the disclosures the
    practice made (164.528(a)); the other practice's own accounting is where this one belongs."""
    found = recipients.get(entry.recipient_provider_id or 0)
    return found is not None and found.organization_id == client.organization_id


def _outside_row(
    entry: LoggedDisclosure,
    records: dict[int, tuple[OutsideDisclosure, outside.OutsideText]],
    recipients: dict[int, Recipient],
) -> Row | None:
    """A disclosure made outside roi, on the day it was made, in the words staff recorded."""
    if entry.record_id not in records:
        return None  # only a damaged database: the record and its entry are written together
    found, text = records[entry.record_id]
    if found.recipient_provider_id is not None:
        recipient = _recipient(found.recipient_provider_id, recipients)
    else:
        recipient = Recipient(None, text.recipient_name or "", "", text.recipient_address or "")
    return Row(
        at=datetime.combine(found.disclosed_on, time.min, UTC),
        recipient=recipient,
        description=text.description,
        purpose=text.purpose,
        purpose_code=None,
        categories=(),
        part2=found.substance_use_records,
        consent_id=None,
        message_id=None,
        seq=entry.seq,
        kind=Kind.OUTSIDE,
        basis=found.basis.value,
        record_id=found.id,
        date_only=True,
    )


def _not_suspended(
    session: Session, practice: Organization, rows: list[Row], at: datetime
) -> list[Row]:
    """The rows without those to an agency whose suspension holds at `at` (164.528(a)(2)): a
    disclosure for health oversight or law enforcement (164.512(d), (f): the only ones the rule
    suspends; never one the client authorized, nor a Part 2 consented one) to its directory
    entry, or typed with the agency's name. A suspension lasts through its last day where the
    practice is (the day staff entered)."""
    suspensions = session.scalars(
        select(AccountingSuspension).where(
            AccountingSuspension.organization_id == practice.id,
            AccountingSuspension.until >= practice_day(practice, at),
            AccountingSuspension.recorded_at <= at,
        )
    ).all()
    if not suspensions:
        return rows
    providers = {s.recipient_provider_id for s in suspensions if s.recipient_provider_id}
    agencies = {_folded(s.agency) for s in suspensions}
    return [
        row
        for row in rows
        if row.basis not in _SUSPENDABLE
        or (
            row.recipient.provider_id not in providers
            and not (row.recipient.provider_id is None and _folded(row.recipient.name) in agencies)
        )
    ]


#: the bases whose disclosures an agency's statement suspends (164.528(a)(2)(i))
_SUSPENDABLE = frozenset({DisclosureBasis.HEALTH_OVERSIGHT, DisclosureBasis.LAW_ENFORCEMENT})


def _folded(name: str) -> str:
    return " ".join(name.casefold().split())


def _line(entry: Entry, language: str) -> AccountingLine:
    """A line of the PDF, its words in `language` (the client's)."""
    row = entry.row
    return AccountingLine(
        at=row.at,
        recipient_name=i18n.translate(row.recipient.name, language),
        recipient_organization=row.recipient.organization,
        recipient_address=row.recipient.address,
        description=i18n.translate(row.description, language),
        purpose=i18n.translate(row.purpose, language),
        basis=i18n.translate(row.basis_label, language),
        date_only=row.date_only,
        count=entry.count,
        last_on=entry.last_day,
        frequency=entry.frequency and i18n.translate(entry.frequency, language),
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
            Provider.organization_id,
        ).where(Provider.id.in_(wanted))
    )
    return {
        row.id: Recipient(
            row.id,
            f"{row.name}, {row.credentials}" if row.credentials else row.name,
            row.organization_name,
            row.address or "",
            row.organization_id,
        )
        for row in rows
    }


def _recipient(provider_id: int | None, recipients: dict[int, Recipient]) -> Recipient:
    if provider_id is not None and provider_id in recipients:
        return recipients[provider_id]
    # The directory keeps every entry (nothing is deleted), so this is only a damaged database.
    label = (
        Message("Directory entry #%(number)s", number=provider_id)
        if provider_id
        else N_("Not recorded")
    )
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
                "withheld": found.withheld,
            },
        )
