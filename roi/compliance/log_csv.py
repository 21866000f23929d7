"""The disclosure log as CSV: its columns, one log row as those columns, the audited export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action, search
from roi.audit.search import EntryFilter
from roi.clock import iso, now
from roi.compliance.log import LogRow, filter_detail, names_for, row_of
from roi.compliance.scope import officer_scope
from roi.compliance.spreadsheet import csv_file
from roi.compliance.wording import reason_sentence
from roi.consent.library import FormLibrary
from roi.db import unit_of_work
from roi.errors import Invalid

#: an export is built in memory inside one transaction; past this, ask for a narrower range
MAX_EXPORT_ROWS = 100_000
_EXPORT_BATCH = 1000

CSV_HEADER = (
    "seq",
    "at",
    "action",
    "event",
    "outcome",
    "actor_id",
    "actor_name",
    "actor_role",
    "organization_id",
    "client_id",
    "client_name",
    "consent_id",
    "recipient_provider_id",
    "recipient_name",
    "message_id",
    "subject_user_id",
    "categories",
    "purpose",
    "reasons",
    "reason_text",
    "request_id",
    "ip",
    "hash",
)


@dataclass(frozen=True)
class CsvExport:
    """A CSV file (`spreadsheet.csv_file`) and how many entries it holds."""

    filename: str
    content: bytes
    rows: int


def csv_values(row: LogRow, library: FormLibrary | None = None) -> list[object]:
    """One log row as the CSV's columns (CSV_HEADER), before cell escaping."""
    entry = row.entry
    reasons = entry.reasons
    return [
        entry.seq,
        iso(entry.at),
        str(entry.action),
        row.action_label,
        str(entry.outcome),
        entry.actor_id,
        row.actor_name,
        entry.actor_role,
        entry.organization_id,
        entry.client_id,
        row.client_name,
        entry.consent_id,
        entry.recipient_provider_id,
        row.recipient_name,
        entry.message_id,
        entry.subject_user_id,
        ";".join(entry.categories or []),
        entry.purpose,
        ";".join(reasons),
        " ".join(reason_sentence(code, library) for code in reasons),
        entry.request_id,
        entry.ip,
        entry.hash,
    ]


def export_csv(
    session: Session, actor: Actor, entry_filter: EntryFilter, library: FormLibrary | None = None
) -> CsvExport:
    """Every entry of the officer's log matching the filter, newest first, as CSV; audited.

    Raises:
        Forbidden: the actor may not view the disclosure log.
        Invalid: more than MAX_EXPORT_ROWS entries match; nothing is exported.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    counted = [0]

    def rows() -> Iterator[list[object]]:
        batches = search.walk(
            session, entry_filter, scope=officer_scope(actor), batch_size=_EXPORT_BATCH
        )
        for batch in batches:
            counted[0] += len(batch)
            if counted[0] > MAX_EXPORT_ROWS:
                raise Invalid(
                    {"since": f"More than {MAX_EXPORT_ROWS:,} entries match."},
                    f"More than {MAX_EXPORT_ROWS:,} entries match: narrow the dates or filters "
                    "and export in parts.",
                )
            names = names_for(session, actor, batch)
            for entry in batch:
                yield csv_values(row_of(entry, names), library)

    with unit_of_work(session):
        content = csv_file(CSV_HEADER, rows())
        audit.record(
            session,
            actor,
            Action.AUDIT_EXPORTED,
            client_id=entry_filter.client_id,
            detail={"format": "csv", "rows": counted[0], **filter_detail(entry_filter)},
        )
    # Ids and a time only: a file name ends up in download folders and mail subjects.
    filename = f"disclosure-log-{now():%Y%m%d-%H%M%S}.csv"
    return CsvExport(filename, content, counted[0])
