"""Accounting requests: record one, extend it once, fulfil it with a sealed report, list them;
the fee of a repeat request and the letters a client is sent.

The rules are 45 CFR 164.528(c): act no later than 60 days after receipt; if that cannot be
done, extend once by no more than 30 days, with a written statement of the reasons and the new
date (the extension letter), given within the first 60 days; the first accounting in any
12-month period is free, a later one may carry the practice's reasonable fee, which the client
is told in advance (the fee letter, and the portal) with the chance to withdraw or change the
request; it is fulfilled once they agree. A Part 2 request (42 CFR 2.25) covers at most the
three years before it.

Each step owns its transaction, with its audit entry (`accounting.requested`, `.extended`,
`.fulfilled`, `.fee_set`, `.fee_accepted`, `.changed`, `.withdrawn`). Compliance staff record,
extend and fulfil for their organization's clients; a client may ask for their own accounting in
the portal (`ask`), answer the fee, and download the answer and the letters.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from roi import audit, i18n, vault
from roi.accounts.models import Client
from roi.accounts.policy import Permission, allows, answerable_clients, require
from roi.accounts.practice import practice_day, today_in_practice
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.compliance.accounting import (
    HIPAA_YEARS,
    PART2_YEARS,
    Period,
    build,
    client_for_accounting,
    period_for,
    to_pdf,
    years_before,
)
from roi.compliance.models import AccountingRequest, AccountingSettings, Channel
from roi.consent.client_notices import tell_client
from roi.consent.library import FormLibrary
from roi.db import new_uuid, unit_of_work
from roi.documents import AccountingLetter, render_letter, wording
from roi.errors import Forbidden, Invalid, NotFound, WrongState
from roi.i18n import N_, Message
from roi.mail import Mail, links

#: 164.528(c)(1): act no later than 60 days after receipt
DEADLINE = timedelta(days=60)
#: 164.528(c)(1)(ii): one extension of no more than 30 days
EXTENSION = timedelta(days=30)
#: 164.528(c)(2): the first accounting in any 12-month period is free
FREE_MONTHS = 12
MAX_NOTE = 2000
MAX_REASON = 2000
#: $10,000: a fee above it is a typing mistake, not a cost-based fee
MAX_FEE_CENTS = 1_000_000


@dataclass(frozen=True)
class NewRequest:
    """A request as staff record it: whose, when it arrived, how, and the range asked for."""

    client_id: int
    received_on: date
    channel: Channel
    #: None: the whole window (six years, Part 2: three) up to the day received
    since: date | None = None
    until: date | None = None
    part2: bool = False
    note: str | None = None


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, or that month's last day."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def months_after(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day."""
    return months_before(day, -months)


def record(session: Session, actor: Actor, new: NewRequest) -> AccountingRequest:
    """Record a client's request for an accounting, received by letter, phone or the portal.

    Raises:
        Forbidden: the actor may not manage accounting requests (only compliance may).
        NotFound: the client is not one of the actor's organization.
        Invalid: a date is in the future, the range is backwards or reaches past the window,
            or the note is too long.
    """
    require(actor, Permission.MANAGE_ACCOUNTING_REQUESTS)
    return _create(session, actor, new)


def ask(
    session: Session,
    actor: Actor,
    *,
    since: date | None = None,
    until: date | None = None,
    part2: bool = False,
    note: str | None = None,
) -> AccountingRequest:
    """A client asks for their own full accounting in the portal; received today.

    Raises:
        Forbidden: the actor is not a client linked to a client record.
        WrongState: an earlier request of theirs is still open.
        Invalid: the range is backwards or reaches past the window, or the note is too long.
    """
    require(actor, Permission.VIEW_ACCOUNTING)
    if not allows(actor.role, Permission.REQUEST_OWN_ACCOUNTING) or actor.client_id is None:
        raise Forbidden("Only a client can ask for their own accounting here.")
    pending = [r for r in requests_for(session, actor, client_id=actor.client_id) if not r.closed]
    if pending:
        raise WrongState(
            Message(
                "You already asked for an accounting on %(asked)s; it is due by %(due)s. You can "
                "ask again once it is ready.",
                asked=pending[0].received_on,
                due=pending[0].due,
            )
        )
    new = NewRequest(
        client_id=actor.client_id,
        received_on=today_in_practice(session, actor),
        channel=Channel.PORTAL,
        since=since,
        until=until,
        part2=part2,
        note=note,
    )
    return _create(session, actor, new)


def extend(session: Session, actor: Actor, request_id: int, reason: str) -> AccountingRequest:
    """Extend the deadline once by 30 days, recording the written reason for the delay.

    Raises:
        Forbidden: the actor may not manage accounting requests.
        NotFound: not a request of the actor's organization.
        Invalid: no reason given, or a reason that is too long.
        WrongState: already extended, already fulfilled, or the 60 days are over.
    """
    require(actor, Permission.MANAGE_ACCOUNTING_REQUESTS)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(
            {
                "reason": N_(
                    "Write the reason for the delay: the client must be told why in writing."
                )
            }
        )
    if len(reason) > MAX_REASON:
        raise Invalid(
            {"reason": Message("Keep the reason under %(most)d characters.", most=MAX_REASON)}
        )
    with unit_of_work(session):
        found = request_for(session, actor, request_id, lock=True)
        today = today_in_practice(session, actor)
        if found.closed:
            raise WrongState(
                Message(
                    "Request #%(id)d is already withdrawn: there is nothing to extend.", id=found.id
                )
                if found.withdrawn
                else Message(
                    "Request #%(id)d is already fulfilled: there is nothing to extend.", id=found.id
                )
            )
        if found.extended_to is not None:
            raise WrongState(
                Message(
                    "Request #%(id)d was already extended once, to %(day)s. The rule allows a "
                    "single 30-day extension (45 CFR 164.528(c)(1)(ii)).",
                    id=found.id,
                    day=found.extended_to,
                )
            )
        if today > found.due_on:
            raise WrongState(
                Message(
                    "Request #%(id)d was due on %(day)s. An extension must be given within the "
                    "first 60 days (45 CFR 164.528(c)(1)(ii)).",
                    id=found.id,
                    day=found.due_on,
                )
            )
        found.extended_to = found.due_on + EXTENSION
        found.extended_at = now()
        found.extended_by_id = actor.user_id
        found.extension_reason_sealed = vault.seal(
            reason.encode("utf-8"), _place(found, "extension_reason_sealed")
        )
        audit.record(
            session,
            actor,
            Action.ACCOUNTING_EXTENDED,
            client_id=found.client_id,
            detail={
                "accounting_request_id": found.id,
                "extended_to": found.extended_to.isoformat(),
            },
        )
    return found


def fulfil(
    session: Session, actor: Actor, library: FormLibrary, request_id: int
) -> AccountingRequest:
    """Generate the accounting for the range asked for and attach it, sealed, with its SHA-256.

    Raises:
        Forbidden: the actor may not manage accounting requests.
        NotFound: not a request of the actor's organization.
        WrongState: already fulfilled (a request is answered once).
    """
    require(actor, Permission.MANAGE_ACCOUNTING_REQUESTS)
    found = request_for(session, actor, request_id)
    _check_not_fulfilled(found)
    # Rendered before the write transaction: a PDF takes a fraction of a second, and the write
    # lock (on SQLite, the whole database's) should not wait for WeasyPrint.
    accounting = build(
        session,
        library,
        found.client,
        Period(found.period_start, found.period_end),
        part2=found.part2,
    )
    pdf = to_pdf(accounting, request_id=found.id)
    digest = hashlib.sha256(pdf).hexdigest()
    with unit_of_work(session):
        found = request_for(session, actor, request_id, lock=True)
        _check_not_fulfilled(found)  # a colleague may have fulfilled it meanwhile
        found.report_sealed = vault.seal(pdf, _place(found, "report_sealed"))
        found.report_sha256 = digest
        found.report_entries = len(accounting.rows)
        found.fulfilled_at = now()
        found.fulfilled_by_id = actor.user_id
        audit.record(
            session,
            actor,
            Action.ACCOUNTING_FULFILLED,
            client_id=found.client_id,
            detail={
                "accounting_request_id": found.id,
                "since": found.period_start.isoformat(),
                "until": found.period_end.isoformat(),
                "part2": found.part2,
                "entries": len(accounting.rows),
                "sha256": digest,
            },
        )
    return found


def report(session: Session, actor: Actor, request_id: int) -> tuple[AccountingRequest, bytes]:
    """The report a fulfilled request was answered with, byte for byte; audited as an export.

    Raises:
        NotFound: not a request the actor may see.
        WrongState: not fulfilled yet.
        IntegrityFailure: the stored report does not open, or is not the one given (fails closed).
    """
    require(actor, Permission.VIEW_ACCOUNTING)
    with unit_of_work(session):
        found = request_for(session, actor, request_id)
        if found.report_sealed is None or found.report_sha256 is None:
            raise WrongState(
                Message("Request #%(id)d is not fulfilled yet: there is no report.", id=found.id)
            )
        place = _place(found, "report_sealed")
        data = vault.open_sealed(found.report_sealed, place)
        if hashlib.sha256(data).hexdigest() != found.report_sha256:
            raise vault.IntegrityFailure(place)
        audit.record(
            session,
            actor,
            Action.AUDIT_EXPORTED,
            client_id=found.client_id,
            detail={
                "accounting_request_id": found.id,
                "since": found.period_start.isoformat(),
                "until": found.period_end.isoformat(),
                "part2": found.part2,
                "format": "pdf",
            },
        )
    return found, data


def request_for(
    session: Session, actor: Actor, request_id: int, *, lock: bool = False
) -> AccountingRequest:
    """A request the actor may see: compliance their organization's, a client their own.

    Raises:
        NotFound: no such request, or not one the actor may see.
    """
    require(actor, Permission.VIEW_ACCOUNTING)
    query = _visible(actor).where(AccountingRequest.id == request_id)
    if lock:
        query = query.with_for_update(of=AccountingRequest)
    found = session.scalar(query)
    if found is None:
        raise NotFound("accounting request")
    return found


def requests_for(
    session: Session, actor: Actor, *, client_id: int | None = None
) -> list[AccountingRequest]:
    """The requests the actor may see (of one client, when given), newest first."""
    require(actor, Permission.VIEW_ACCOUNTING)
    query = _visible(actor)
    if client_id is not None:
        query = query.where(AccountingRequest.client_id == client_id)
    return list(
        session.scalars(
            query.order_by(AccountingRequest.received_on.desc(), AccountingRequest.id.desc())
        )
    )


def client_requests(session: Session, actor: Actor, client_id: int) -> list[AccountingRequest]:
    """One client's requests, newest first.

    Raises:
        NotFound: not a client whose accounting the actor may see.
    """
    client = client_for_accounting(session, actor, client_id)
    return requests_for(session, actor, client_id=client.id)


def open_requests(session: Session, actor: Actor) -> list[AccountingRequest]:
    """The requests not yet fulfilled, the soonest due first (the compliance dashboard)."""
    require(actor, Permission.MANAGE_ACCOUNTING_REQUESTS)
    due = func.coalesce(AccountingRequest.extended_to, AccountingRequest.due_on)
    return list(
        session.scalars(
            _visible(actor)
            .where(
                AccountingRequest.fulfilled_at.is_(None), AccountingRequest.withdrawn_at.is_(None)
            )
            .order_by(due, AccountingRequest.id)
        )
    )


def fulfilled_requests(session: Session, actor: Actor, limit: int = 50) -> list[AccountingRequest]:
    """The latest fulfilled requests, newest first."""
    require(actor, Permission.MANAGE_ACCOUNTING_REQUESTS)
    return list(
        session.scalars(
            _visible(actor)
            .where(AccountingRequest.fulfilled_at.is_not(None))
            .order_by(AccountingRequest.fulfilled_at.desc(), AccountingRequest.id.desc())
            .limit(limit)
        )
    )


def fulfilled_late(found: AccountingRequest) -> bool:
    """Whether the accounting went out after its due day, on the practice's calendar: due on
    the 5th and sent at 8 p.m. that day in California is on time, though UTC says the 6th."""
    if found.fulfilled_at is None:
        return False
    return practice_day(found.client.organization, found.fulfilled_at) > found.due


def note_of(found: AccountingRequest) -> str | None:
    """Staff's note on the request, unsealed."""
    if found.note_sealed is None:
        return None
    return vault.open_sealed(found.note_sealed, _place(found, "note_sealed")).decode("utf-8")


def extension_reason_of(found: AccountingRequest) -> str | None:
    """The written reason for the extension, unsealed (the client is told it too)."""
    if found.extension_reason_sealed is None:
        return None
    place = _place(found, "extension_reason_sealed")
    return vault.open_sealed(found.extension_reason_sealed, place).decode("utf-8")


def _create(session: Session, actor: Actor, new: NewRequest) -> AccountingRequest:
    period = _checked_period(new, today=today_in_practice(session, actor))
    note = (new.note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid({"note": Message("Keep the note under %(most)d characters.", most=MAX_NOTE)})
    with unit_of_work(session):
        # The client row's lock makes two requests recorded at once take turns, so only one of
        # them can be the free one.
        client = client_for_accounting(session, actor, new.client_id, lock=True)
        free = not _free_one_before(session, client.id, new.received_on)
        fee = None if free else (repeat_fee(session, client.organization_id) or None)
        found = AccountingRequest(
            fee_cents=fee,
            client_id=client.id,
            received_on=new.received_on,
            channel=new.channel,
            period_start=period.since,
            period_end=period.until,
            part2=new.part2,
            due_on=new.received_on + DEADLINE,
            free=free,
            recorded_by_id=actor.user_id,
        )
        found.uuid = new_uuid()
        if note is not None:
            found.note_sealed = vault.seal(note.encode("utf-8"), _place(found, "note_sealed"))
        session.add(found)
        session.flush()
        audit.record(
            session,
            actor,
            Action.ACCOUNTING_REQUESTED,
            client_id=client.id,
            detail={
                "accounting_request_id": found.id,
                "channel": new.channel.value,
                "since": period.since.isoformat(),
                "until": period.until.isoformat(),
                "part2": new.part2,
                "free": free,
                "fee_cents": fee,
            },
        )
    return found


def money(cents: int) -> str:
    """'$25.00'."""
    return f"${cents // 100:,}.{cents % 100:02d}"


def repeat_fee(session: Session, organization_id: int) -> int:
    """The practice's fee for a repeat accounting within 12 months, in cents (0: none set)."""
    settings = session.get(AccountingSettings, organization_id)
    return settings.repeat_fee_cents if settings is not None else 0


def set_repeat_fee(session: Session, actor: Actor, cents: int) -> AccountingSettings:
    """Set the organization's fee for a repeat accounting; requests recorded from now on are
    quoted it (164.528(c)(2): a reasonable, cost-based fee). Audited as `accounting.fee_set`.

    Raises:
        Forbidden: the actor is not a compliance officer.
        Invalid: a negative or implausible amount (`fee_cents`).
    """
    require(actor, Permission.MANAGE_ACCOUNTING_POLICY)
    if cents < 0 or cents > MAX_FEE_CENTS:
        raise Invalid(
            {
                "fee_cents": Message(
                    "Give an amount between $0 and %(most)s.", most=money(MAX_FEE_CENTS)
                )
            }
        )
    assert actor.organization_id is not None  # noqa: S101 - compliance officers have one
    with unit_of_work(session):
        settings = session.get(AccountingSettings, actor.organization_id, with_for_update=True)
        if settings is None:
            settings = AccountingSettings(organization_id=actor.organization_id)
            session.add(settings)
        settings.repeat_fee_cents = cents
        settings.updated_by_id = actor.user_id
        settings.updated_at = now()
        audit.record(session, actor, Action.ACCOUNTING_FEE_SET, detail={"fee_cents": cents})
    return settings


def accept_fee(session: Session, actor: Actor, request_id: int) -> AccountingRequest:
    """The client agrees to the fee they were told; the request may then be fulfilled. The
    client in the portal, or compliance on the client's word. Audited.

    Raises:
        NotFound: not a request the actor may see.
        WrongState: no fee to accept, already accepted, or the request is closed.
    """
    with unit_of_work(session):
        found = _answerable(session, actor, request_id)
        if not found.awaiting_fee_answer:
            raise WrongState(
                Message("Request #%(id)d has no fee waiting for an answer.", id=found.id)
            )
        found.fee_accepted_at = now()
        _audit_answer(session, actor, Action.ACCOUNTING_FEE_ACCEPTED, found)
    return found


def withdraw(session: Session, actor: Actor, request_id: int) -> AccountingRequest:
    """The client withdraws the request (to avoid the fee, or for any reason): it is closed,
    never fulfilled. The client, or compliance on the client's word. Audited.

    A withdrawn free request provided no accounting, so another may now be the free one
    (`_free_the_next`): it is audited as `accounting.freed`, and a client whose fee was dropped is
    told in the portal and by mail.

    Raises:
        NotFound: not a request the actor may see.
        WrongState: already fulfilled or withdrawn.
    """
    with unit_of_work(session):
        found = _answerable(session, actor, request_id)
        found.withdrawn_at = now()
        # every row is locked and written before the audit head, the order each writer of roi
        # takes (the notice's rows lock the client's account and practice)
        freed = _free_the_next(session, found) if found.free else None
        if freed is not None and freed.fee_dropped_cents:
            tell_client(session, freed.client, _freed_notice(freed), _fee_dropped_mail)
        _audit_answer(session, actor, Action.ACCOUNTING_WITHDRAWN, found)
        if freed is not None:
            audit.record(
                session,
                actor,
                Action.ACCOUNTING_FREED,
                client_id=freed.client_id,
                detail={
                    "accounting_request_id": freed.id,
                    "withdrawn_request_id": found.id,
                    "fee_cents": freed.fee_dropped_cents,
                },
            )
    return found


def freed_by(session: Session, actor: Actor, request_id: int) -> AccountingRequest | None:
    """The request the withdrawal of request `request_id` made free, if any."""
    require(actor, Permission.VIEW_ACCOUNTING)
    return session.scalar(_visible(actor).where(AccountingRequest.freed_by_id == request_id))


def _free_the_next(session: Session, withdrawn: AccountingRequest) -> AccountingRequest | None:
    """A withdrawn free request provided no accounting (164.528(c)(2) frees the first one
    provided in any 12 months), so a request received in its 12 months that carries a fee may
    now be the free one: it becomes free, its fee dropped. The first, in order of receipt, with
    no other free request and no accounting provided before it within 12 months either side:
    once one was provided, that is the first provided (a fee the client agreed to is owed back),
    else the first open one. Every other candidate is within 12 months of it, so at most one is
    freed. Takes the client's lock, as recording a request does, so a request recorded meanwhile
    is decided after this."""
    session.scalar(
        select(Client.id).where(Client.id == withdrawn.client_id).with_for_update(key_share=True)
    )
    session.flush()
    charged = session.scalars(
        select(AccountingRequest)
        .where(
            AccountingRequest.client_id == withdrawn.client_id,
            AccountingRequest.free.is_(False),
            AccountingRequest.withdrawn_at.is_(None),
            AccountingRequest.received_on >= withdrawn.received_on,
            AccountingRequest.received_on < months_after(withdrawn.received_on, FREE_MONTHS),
        )
        .order_by(AccountingRequest.received_on, AccountingRequest.id)
        .with_for_update()
    ).all()
    for later in charged:
        if _free_near(session, later) or _provided_before(session, later):
            continue
        later.free = True
        later.freed_by_id = withdrawn.id
        later.fee_dropped_cents = later.fee_cents
        later.fee_cents = None
        session.flush()
        return later
    return None


def _freed_notice(freed: AccountingRequest) -> Message:
    """What the client reads in the portal about a request whose fee was dropped."""
    why = Message(
        "The request for an accounting of disclosures you made on %(day)s is now free: you "
        "withdrew an earlier request, so this one is your first in 12 months.",
        day=freed.received_on,
    )
    fee = money(freed.fee_dropped_cents or 0)
    if freed.refund_owed:
        return Message(
            "%(why)s You had agreed to its fee of %(fee)s: if you paid it, your practice will "
            "refund it.",
            why=why,
            fee=fee,
        )
    return Message("%(why)s Its fee of %(fee)s no longer applies.", why=why, fee=fee)


def _fee_dropped_mail(to: str) -> Mail:
    """Tell the client a fee no longer applies; which request is behind the sign-in. In the
    language being spoken (`tell_client` speaks the client's)."""
    return Mail(
        to=to,
        subject=i18n.gettext("A fee no longer applies to your request"),
        text=i18n.gettext(
            "A request you made for an accounting of disclosures is now free of charge. Sign in "
            "to see it:"
        ),
        link=links.portal(),
        closing=i18n.gettext("To protect your privacy, this email does not say more."),
    )


def change(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    since: date | None,
    until: date | None,
    part2: bool,
) -> AccountingRequest:
    """The client changes what the request covers (to reduce what is prepared, or the fee);
    the dates and fee stay those of the request. Audited.

    Raises:
        NotFound: not a request the actor may see.
        WrongState: already fulfilled or withdrawn.
        Invalid: the range is backwards or reaches past the window.
    """
    with unit_of_work(session):
        found = _answerable(session, actor, request_id)
        period = _checked_period(
            NewRequest(
                client_id=found.client_id,
                received_on=found.received_on,
                channel=found.channel,
                since=since,
                until=until,
                part2=part2,
            ),
            today=today_in_practice(session, actor),
        )
        found.period_start, found.period_end, found.part2 = period.since, period.until, part2
        _audit_answer(session, actor, Action.ACCOUNTING_CHANGED, found)
    return found


def fee_letter(session: Session, actor: Actor, request_id: int) -> tuple[AccountingRequest, bytes]:
    """The letter telling the client the fee in advance, and how to withdraw or change the
    request; downloading it is audited.

    Raises:
        NotFound: not a request the actor may see.
        WrongState: the request carries no fee.
    """
    found = request_for(session, actor, request_id)
    if not found.fee_cents:
        raise WrongState(
            Message("Request #%(id)d is free: there is no fee to tell the client.", id=found.id)
        )
    fee = money(found.fee_cents)
    with i18n.speaking(found.client.language):
        letter = _letter(
            found,
            i18n.gettext("The fee for your accounting of disclosures"),
            (
                i18n.gettext(
                    "You asked for an accounting of disclosures less than 12 months after an "
                    "earlier request. The first accounting in any 12 months is free; for this one "
                    "the practice charges a fee of %(fee)s to cover its cost "
                    "(45 CFR 164.528(c)(2)).",
                    fee=fee,
                ),
                i18n.gettext(
                    "We tell you before we prepare it so you can decide. You may go ahead and "
                    "accept the fee, change your request (for example to a shorter period), or "
                    "withdraw it at no charge: in the client portal, under "
                    '"Who received my information", or by contacting the practice.'
                ),
                i18n.gettext("We will not prepare the accounting until you tell us to go ahead."),
            ),
            ((i18n.gettext("Fee"), fee), (i18n.gettext("Period asked for"), _range_words(found))),
        )
    return found, _issued(session, actor, found, "fee_letter", letter)


def extension_letter(
    session: Session, actor: Actor, request_id: int
) -> tuple[AccountingRequest, bytes]:
    """The written statement of the reasons for the delay and the date by which the accounting
    will be provided (164.528(c)(1)(ii)(A)); downloading it is audited.

    Raises:
        NotFound: not a request the actor may see.
        WrongState: the request was not extended.
    """
    found = request_for(session, actor, request_id)
    reason = extension_reason_of(found)
    if found.extended_to is None or reason is None:
        raise WrongState(
            Message("Request #%(id)d was not extended: there is no delay to explain.", id=found.id)
        )
    with i18n.speaking(found.client.language):
        letter = _letter(
            found,
            i18n.gettext("Your accounting of disclosures will be delayed"),
            (
                i18n.gettext(
                    "We are not able to provide your accounting within 60 days of your request. "
                    "The law allows one extension of no more than 30 days, with a written "
                    "statement of the reasons and the date by which we will provide it "
                    "(45 CFR 164.528(c)(1)(ii))."
                ),
                i18n.gettext("The reasons for the delay:"),
                reason,
            ),
            (
                (i18n.gettext("First due on"), wording.long_date(found.due_on)),
                (i18n.gettext("We will provide it by"), wording.long_date(found.extended_to)),
            ),
        )
    return found, _issued(session, actor, found, "extension_letter", letter)


def _letter(
    found: AccountingRequest,
    subject: str,
    paragraphs: tuple[str, ...],
    facts: tuple[tuple[str, str], ...],
) -> AccountingLetter:
    return AccountingLetter(
        practice=found.client.organization.name,
        client_name=found.client.display_name,
        written_on=practice_day(found.client.organization),
        request_id=found.id,
        received_on=found.received_on,
        subject=subject,
        paragraphs=paragraphs,
        facts=facts,
        language=i18n.current_language(),
    )


def _issued(
    session: Session, actor: Actor, found: AccountingRequest, kind: str, letter: AccountingLetter
) -> bytes:
    pdf = render_letter(letter)
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.DOCUMENT_DOWNLOADED,
            client_id=found.client_id,
            detail={"document": kind, "accounting_request_id": found.id},
        )
    return pdf


def _range_words(found: AccountingRequest) -> str:
    """The period a request covers, in the language being spoken."""
    since, until = wording.long_date(found.period_start), wording.long_date(found.period_end)
    if found.part2:
        return i18n.gettext(
            "%(since)s to %(until)s (substance use disorder records only)", since=since, until=until
        )
    return i18n.gettext("%(since)s to %(until)s", since=since, until=until)


def _answerable(session: Session, actor: Actor, request_id: int) -> AccountingRequest:
    """An open request the client answers for themself, or compliance on their word; locked."""
    if actor.client_id is None:
        require(actor, Permission.MANAGE_ACCOUNTING_REQUESTS)
    found = request_for(session, actor, request_id, lock=True)
    _check_open(found)
    return found


def _audit_answer(session: Session, actor: Actor, action: Action, found: AccountingRequest) -> None:
    audit.record(
        session,
        actor,
        action,
        client_id=found.client_id,
        detail={
            "accounting_request_id": found.id,
            "since": found.period_start.isoformat(),
            "until": found.period_end.isoformat(),
            "part2": found.part2,
        },
    )


def _checked_period(new: NewRequest, *, today: date) -> Period:
    """The period `new` covers, checked (`today`: where the practice is)."""
    if new.received_on > today:
        raise Invalid({"received_on": N_("The day the request arrived cannot be in the future.")})
    years = PART2_YEARS if new.part2 else HIPAA_YEARS
    period = period_for(new.since, new.until, part2=new.part2, today=new.received_on)
    earliest = years_before(new.received_on, years)
    if period.until > new.received_on:
        raise Invalid(
            {"until": N_("The accounting can only cover disclosures up to the day of the request.")}
        )
    if period.since < earliest:
        day = earliest
        raise Invalid(
            {
                "since": Message(
                    "A Part 2 accounting covers at most the %(years)d years before the request: "
                    "start on %(day)s or later.",
                    years=years,
                    day=day,
                )
                if new.part2
                else Message(
                    "An accounting covers at most the %(years)d years before the request: start "
                    "on %(day)s or later.",
                    years=years,
                    day=day,
                )
            }
        )
    return period


def _free_one_before(session: Session, client_id: int, received_on: date) -> bool:
    """Whether the client had a free accounting in the 12 months up to `received_on`: a free
    request received then, not withdrawn (164.528(c)(2) frees the first accounting provided in any
    12 months; a withdrawn one provided none). Only earlier ones count: a request recorded late
    with its earlier day of receipt is as free as it was on that day."""
    return _received_between(
        session,
        client_id,
        months_before(received_on, FREE_MONTHS),
        received_on + timedelta(days=1),
        AccountingRequest.free.is_(True),
        AccountingRequest.withdrawn_at.is_(None),
    )


def _free_near(session: Session, found: AccountingRequest) -> bool:
    """Whether another request received within 12 months of `found`'s, before or after it, is
    free (and not withdrawn): the two share a 12-month period, and only one is free in it."""
    return _within_12_months(
        session,
        found,
        AccountingRequest.free.is_(True),
        AccountingRequest.withdrawn_at.is_(None),
    )


def _provided_before(session: Session, found: AccountingRequest) -> bool:
    """Whether an accounting was provided (with its fee) for another request received within 12
    months of `found`'s, before `found` was provided: `found` is then not the first provided."""
    earlier = (
        AccountingRequest.fulfilled_at < found.fulfilled_at
        if found.fulfilled_at is not None
        else AccountingRequest.fulfilled_at.is_not(None)
    )
    return _within_12_months(session, found, earlier)


def _within_12_months(
    session: Session, found: AccountingRequest, *conditions: ColumnElement[bool]
) -> bool:
    """Whether another request of the client received within 12 months of `found`'s, before or
    after it, meets `conditions`."""
    return _received_between(
        session,
        found.client_id,
        months_before(found.received_on, FREE_MONTHS),
        months_after(found.received_on, FREE_MONTHS),
        AccountingRequest.id != found.id,
        *conditions,
    )


def _received_between(
    session: Session, client_id: int, after: date, before: date, *conditions: ColumnElement[bool]
) -> bool:
    """Whether the client has a request received after `after` and before `before` (neither day
    included) that meets `conditions`."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    AccountingRequest.client_id == client_id,
                    AccountingRequest.received_on > after,
                    AccountingRequest.received_on < before,
                    *conditions,
                )
            )
        )
    )


def _visible(actor: Actor) -> Select[AccountingRequest]:
    return (
        select(AccountingRequest)
        .join(Client, Client.id == AccountingRequest.client_id)
        .where(answerable_clients(actor))
    )


def _check_not_fulfilled(found: AccountingRequest) -> None:
    if found.fulfilled_at is not None:
        raise WrongState(
            Message(
                "Request #%(id)d was already fulfilled on %(day)s. Download its report again "
                "instead.",
                id=found.id,
                # the day the practice provided it, as its page shows the moment
                day=practice_day(found.client.organization, found.fulfilled_at),
            )
        )
    if found.withdrawn_at is not None:
        raise WrongState(Message("Request #%(id)d was withdrawn by the client.", id=found.id))
    if found.awaiting_fee_answer:
        raise WrongState(
            Message(
                "The client has not yet agreed to the fee of %(fee)s for request #%(id)d: they "
                "may still withdraw or change it (45 CFR 164.528(c)(2)).",
                fee=money(found.fee_cents or 0),
                id=found.id,
            )
        )


def _check_open(found: AccountingRequest) -> None:
    if found.closed:
        raise WrongState(
            Message("Request #%(id)d is already withdrawn.", id=found.id)
            if found.withdrawn
            else Message("Request #%(id)d is already fulfilled.", id=found.id)
        )


def _place(found: AccountingRequest, column: str) -> vault.Place:
    return vault.Place("accounting_requests", column, found.uuid)
