"""The accounting of disclosures as a PDF (45 CFR 164.528; 42 CFR 2.25 for the Part 2 version),
and the letters about an accounting request (its fee, its delay).

Plain data in, PDF bytes out, through the same locked WeasyPrint machinery as the consent PDF
(`roi.documents.pdf.render`). Every string may hold typed text (a provider's name or address):
the template autoescapes all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from roi.documents.pdf import render

ACCOUNTING_TEMPLATE = "accounting.html"
LETTER_TEMPLATE = "accounting_letter.html"


@dataclass(frozen=True)
class AccountingLine:
    """One disclosure: when, to whom, what and why (164.528(b)(2)); or the first of repeated
    ones, with how many and the date of the last (164.528(b)(3))."""

    at: datetime
    recipient_name: str
    recipient_organization: str
    recipient_address: str
    description: str
    purpose: str
    #: the basis, as the accounting states it
    basis: str = ""
    #: only the day is known (a disclosure made outside roi)
    date_only: bool = False
    count: int = 1
    #: the day of the last of repeated ones, where the document's times are read
    last_on: date | None = None
    #: 'about every 12 days', for a summary
    frequency: str | None = None


@dataclass(frozen=True)
class AccountingDocument:
    """A client's accounting of disclosures over a range of dates (both ends included)."""

    client_name: str
    client_birth_date: date
    practice: str
    since: date
    until: date
    generated_at: datetime
    #: True: only disclosures of substance use disorder records (42 CFR 2.25, three years)
    part2: bool
    #: what HIPAA requires in the accounting (the Part 2 version: what it lists)
    lines: tuple[AccountingLine, ...]
    #: the accounting request this document answers, when it answers one
    request_id: int | None = None
    #: disclosures the client authorized: beyond what HIPAA requires (164.528(a)(1)(iv))
    beyond: tuple[AccountingLine, ...] = ()
    #: the language it is written in (the client's), and the zone its times are shown in
    language: str = "en"
    time_zone: str = "UTC"
    #: the zone of the calendar `since` and `until` belong to (the practice's)
    calendar_zone: str = "UTC"


def render_accounting(doc: AccountingDocument) -> bytes:
    """The accounting as PDF bytes; nothing is fetched from disk or network."""
    if doc.generated_at.tzinfo is None:
        raise ValueError("naive datetime given to a PDF")
    return render(ACCOUNTING_TEMPLATE, {"doc": doc}, language=doc.language)


@dataclass(frozen=True)
class AccountingLetter:
    """A letter to a client about their accounting request: the fee they are told in advance
    (164.528(c)(2)), or the delay, its reasons and the new date (164.528(c)(1)(ii)(A))."""

    practice: str
    client_name: str
    written_on: date
    request_id: int
    received_on: date
    subject: str
    #: the letter's body, one paragraph each; typed text (a reason) stays as typed
    paragraphs: tuple[str, ...]
    #: facts set apart under the paragraphs (label, value), e.g. the new date
    facts: tuple[tuple[str, str], ...] = ()
    #: the language it is written in (the client's): its fixed words follow, the caller writes
    #: the subject, paragraphs and facts in it
    language: str = "en"


def render_letter(letter: AccountingLetter) -> bytes:
    """The letter as PDF bytes; nothing is fetched from disk or network."""
    return render(LETTER_TEMPLATE, {"letter": letter}, language=letter.language)
