"""Suspensions of the accounting (45 CFR 164.528(a)(2)).

A health oversight agency or law enforcement official may tell the practice that giving a client
an accounting of its disclosures would be reasonably likely to impede its activities. With a
written statement naming how long, the practice suspends those entries for that long; with an
oral one, it documents the statement and who made it, and the suspension lasts no more than 30
days unless a written statement follows. While a suspension holds, every accounting the practice
produces (`roi.compliance.accounting.build`) leaves out the entries to that agency: its
directory entry, or an outside disclosure typed with its name.

Compliance officers record suspensions for their organization; each is audited as
`accounting.suspended`. The statement is sealed: it may say what is being investigated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit, vault
from roi.accounts.policy import Permission, require
from roi.accounts.practice import today_in_practice
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.compliance.disclosures import known_provider
from roi.compliance.models import AccountingSuspension
from roi.db import new_uuid, unit_of_work
from roi.errors import Invalid
from roi.i18n import N_, Message

#: 164.528(a)(2)(ii): an oral statement suspends for no longer than 30 days
ORAL_DAYS = 30
MAX_AGENCY = 200
MAX_STATEMENT = 4000
TABLE = "accounting_suspensions"


@dataclass(frozen=True)
class NewSuspension:
    agency: str
    until: date
    written: bool
    recipient_provider_id: int | None = None
    #: the statement; for an oral one, what was said and by whom (required)
    statement: str | None = None


def suspend(session: Session, actor: Actor, new: NewSuspension) -> AccountingSuspension:
    """Record an agency's statement; its entries leave the organization's accountings until
    `until` (included). Audited as `accounting.suspended`.

    Raises:
        Forbidden: the actor is not a compliance officer.
        Invalid: a field is missing or wrong, named in `fields`.
    """
    require(actor, Permission.MANAGE_ACCOUNTING_POLICY)
    agency = " ".join((new.agency or "").split())
    statement = (new.statement or "").replace("\x00", "").strip() or None
    _check(new, agency, statement, today=today_in_practice(session, actor))
    assert actor.organization_id is not None  # noqa: S101 - compliance officers have one
    with unit_of_work(session):
        if new.recipient_provider_id is not None and not known_provider(
            session, new.recipient_provider_id
        ):
            raise Invalid({"recipient_provider_id": N_("No such directory entry.")})
        found = AccountingSuspension(
            organization_id=actor.organization_id,
            agency=agency,
            recipient_provider_id=new.recipient_provider_id,
            until=new.until,
            written=new.written,
            recorded_by_id=actor.user_id,
            recorded_at=now(),
        )
        found.uuid = new_uuid()
        if statement is not None:
            found.statement_sealed = vault.seal(statement.encode("utf-8"), _place(found))
        session.add(found)
        session.flush()
        audit.record(
            session,
            actor,
            Action.ACCOUNTING_SUSPENDED,
            recipient_provider_id=found.recipient_provider_id,
            detail={
                "suspension_id": found.id,
                "until": found.until.isoformat(),
                "written": found.written,
            },
        )
    return found


def suspensions(session: Session, actor: Actor) -> list[AccountingSuspension]:
    """The organization's suspensions, the latest ending first."""
    require(actor, Permission.MANAGE_ACCOUNTING_POLICY)
    return list(
        session.scalars(
            select(AccountingSuspension)
            .where(AccountingSuspension.organization_id == actor.organization_id)
            .order_by(AccountingSuspension.until.desc(), AccountingSuspension.id.desc())
        )
    )


def statement_of(found: AccountingSuspension) -> str | None:
    """The documented statement, unsealed."""
    if found.statement_sealed is None:
        return None
    return vault.open_sealed(found.statement_sealed, _place(found)).decode("utf-8")


def _check(new: NewSuspension, agency: str, statement: str | None, *, today: date) -> None:
    problems: dict[str, str] = {}
    if not agency:
        problems["agency"] = N_("Name the agency or official, as their statement does.")
    elif len(agency) > MAX_AGENCY:
        problems["agency"] = Message("Keep the name under %(most)d characters.", most=MAX_AGENCY)
    if new.until < today:
        problems["until"] = N_("The suspension must end today or later.")
    elif not new.written and new.until > today + timedelta(days=ORAL_DAYS):
        problems["until"] = Message(
            "An oral statement suspends for at most %(days)d days (until %(day)s): ask for it in "
            "writing (45 CFR 164.528(a)(2)(ii)).",
            days=ORAL_DAYS,
            day=today + timedelta(days=ORAL_DAYS),
        )
    if not new.written and statement is None:
        problems["statement"] = N_(
            "Document the oral statement: what was said, and the official who said it."
        )
    elif statement is not None and len(statement) > MAX_STATEMENT:
        problems["statement"] = Message(
            "Keep the statement under %(most)s characters.", most=format(MAX_STATEMENT, ",")
        )
    if problems:
        raise Invalid(problems)


def _place(found: AccountingSuspension) -> vault.Place:
    return vault.Place(TABLE, "statement_sealed", found.uuid)
