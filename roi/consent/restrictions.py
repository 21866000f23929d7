"""Restrictions the client asked for (45 CFR 164.522(a), 42 CFR 2.26): that roi not share some
information — some categories, with one recipient, or both.

A client asks in the portal, or staff of the client's practice record the request on their
behalf. Staff agree or decline (a decline says why); a request not to disclose to a health plan
for care paid in full out of pocket must be agreed (164.522(a)(1)(vi)), so declining it is
refused. An agreed restriction wins over every consent: `gate.decide` denies with
`restricted_by_agreement` from the agreement on, except in an emergency (164.522(a)(1)(iii)).
The client may end it at any time; the practice may end it only for what comes after (the
termination takes effect when recorded, never earlier), and the client is told by a portal
notice and a mail that carries no health information (164.522(a)(2)(iii)). The practice cannot
end one on a health plan for care paid out of pocket: only the client can.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit, vault
from roi.accounts.models import Client, Provider
from roi.accounts.policy import Permission, require, restriction_clients
from roi.actor import Actor, Role
from roi.audit import Action
from roi.clock import now
from roi.consent import gate, notices
from roi.consent.client_notices import tell_client
from roi.consent.library import FormLibrary
from roi.consent.models import Restriction, RestrictionStatus
from roi.db import new_uuid, unit_of_work
from roi.errors import Invalid, NotFound, WrongState
from roi.i18n import N_, Message

MAX_DESCRIPTION = 2000
MAX_REASON = 1000
#: why staff cannot end a restriction on a health plan for care paid in full out of pocket
_CLIENTS_TO_END = N_(
    "Restriction #%(number)s stays in force: it keeps a health plan from care the client paid "
    "for in full out of pocket, and only the client can end it (45 CFR 164.522(a)(2)(iii)). "
    "Record their request to end it, if they made one."
)


@dataclass(frozen=True)
class NewRestriction:
    """What the client asks not to be shared: categories, a recipient, or both, in their words."""

    recipient_provider_id: int | None
    categories: tuple[str, ...]
    description: str
    #: the recipient is a health plan and the care was paid in full out of pocket
    paid_out_of_pocket: bool = False


def request(
    session: Session, actor: Actor, library: FormLibrary, client_id: int, new: NewRestriction
) -> Restriction:
    """Record a client's request for a restriction (from the portal, or by staff on their behalf).

    Raises:
        Forbidden: the actor may not ask for restrictions.
        NotFound: not the actor's client (or, for a client, not their own record).
        Invalid: no category and no recipient, an unknown one, or no description.
    """
    require(actor, Permission.REQUEST_RESTRICTION)
    with unit_of_work(session):
        # whose first: a client not the actor's is "not found", whatever the fields say
        client = _client(session, actor, client_id)
        _check_new(session, library, new)
        # before the restriction is written: a send deciding about the client finishes first
        gate.mark_restricted(session, client)
        uuid = new_uuid()
        restriction = Restriction(
            uuid=uuid,
            client_id=client.id,
            organization_id=client.organization_id,
            recipient_provider_id=new.recipient_provider_id,
            categories=sorted(set(new.categories)),
            paid_out_of_pocket=new.paid_out_of_pocket,
            description_sealed=vault.seal(
                new.description.strip().encode(), _place(uuid, "description_sealed")
            ),
            status=RestrictionStatus.REQUESTED,
            requested_at=now(),
            requested_by_id=actor.user_id,
            requested_via="portal" if actor.role is Role.CLIENT else "staff",
        )
        session.add(restriction)
        session.flush()
        _audit(session, actor, Action.RESTRICTION_REQUESTED, restriction)
    return restriction


def decide(
    session: Session, actor: Actor, restriction_id: int, *, agree: bool, reason: str | None
) -> Restriction:
    """Agree to or decline a requested restriction; an agreement binds every later decision.

    Raises:
        Forbidden: the actor may not decide restrictions (only staff of the client's practice).
        NotFound: not a restriction of the actor's practice.
        WrongState: it was already decided or ended.
        Invalid: a decline without a reason, or of a request the practice must agree to.
    """
    require(actor, Permission.DECIDE_RESTRICTION)
    reason = (reason or "").strip()
    _check_reason(reason)
    with unit_of_work(session):
        restriction = restriction_for(session, actor, restriction_id, lock=True)
        if restriction.status is not RestrictionStatus.REQUESTED:
            raise WrongState(f"Restriction #{restriction.id} is {restriction.status.value}.")
        if not agree and restriction.paid_out_of_pocket:
            raise Invalid(
                {
                    "agree": "A request not to disclose to a health plan for care paid in full "
                    "out of pocket must be agreed (45 CFR 164.522(a)(1)(vi))."
                }
            )
        if not agree and not reason:
            raise Invalid({"reason": "Say why the practice declines."})
        # taken after the row lock, so a send holding the lock decides before the agreement
        restriction.decided_at = now()
        restriction.decided_by_id = actor.user_id
        restriction.status = RestrictionStatus.AGREED if agree else RestrictionStatus.DECLINED
        if reason:
            restriction.decision_reason_sealed = vault.seal(
                reason.encode(), _place(restriction.uuid, "decision_reason_sealed")
            )
        action = Action.RESTRICTION_AGREED if agree else Action.RESTRICTION_DECLINED
        _audit(session, actor, action, restriction)
    return restriction


def terminate(
    session: Session,
    actor: Actor,
    restriction_id: int,
    *,
    reason: str | None,
    clients_request: bool = False,
) -> Restriction:
    """End a restriction from now on: the client at any time (also withdrawing a request not yet
    decided); the practice an agreed one, telling the client. Staff record the client's own
    request to end one (`clients_request`: by letter, phone or in person, for a client who has
    no account): it is then the client's termination, and the client needs no notice.

    Raises:
        Forbidden: the actor may not end restrictions.
        NotFound: not a restriction the actor may see.
        WrongState: declined or already ended; or, for staff, not agreed, or one on a health
            plan for care paid out of pocket (only the client ends that).
        Invalid: the reason is too long.
    """
    require(actor, Permission.REQUEST_RESTRICTION)
    reason = (reason or "").strip()
    _check_reason(reason)
    by_client = actor.role is Role.CLIENT or clients_request
    endable = {RestrictionStatus.AGREED} | ({RestrictionStatus.REQUESTED} if by_client else set())
    with unit_of_work(session):
        restriction = restriction_for(session, actor, restriction_id, lock=True)
        if restriction.status not in endable:
            raise WrongState(f"Restriction #{restriction.id} is {restriction.status.value}.")
        if restriction.paid_out_of_pocket and not by_client:
            # the practice's termination of such a restriction is not effective (164.522(a)(2)(iii))
            raise WrongState(Message(_CLIENTS_TO_END, number=restriction.id))
        # now, never earlier: the practice's termination holds only for what comes after it
        restriction.terminated_at = now()
        restriction.terminated_by_id = actor.user_id
        restriction.terminated_by = "client" if by_client else "practice"
        restriction.status = RestrictionStatus.TERMINATED
        if reason:
            restriction.termination_reason_sealed = vault.seal(
                reason.encode(), _place(restriction.uuid, "termination_reason_sealed")
            )
        if not by_client:
            _tell_client(session, restriction)
        _audit(session, actor, Action.RESTRICTION_TERMINATED, restriction)
    return restriction


def restriction_for(
    session: Session, actor: Actor, restriction_id: int, *, lock: bool = False
) -> Restriction:
    """A restriction of a client the actor answers for (`policy.restriction_clients`).

    Raises:
        NotFound: no such restriction, or not one the actor may see.
    """
    require(actor, Permission.REQUEST_RESTRICTION)
    query = (
        select(Restriction)
        .join(Client, Client.id == Restriction.client_id)
        .where(Restriction.id == restriction_id, restriction_clients(actor))
    )
    found = session.scalar(query.with_for_update(of=Restriction) if lock else query)
    if found is None:
        raise NotFound("restriction")
    return found


def restrictions_for(session: Session, actor: Actor, client_id: int) -> list[Restriction]:
    """A client's restrictions, newest first.

    Raises:
        NotFound: not a client the actor answers for.
    """
    require(actor, Permission.REQUEST_RESTRICTION)
    client = _client(session, actor, client_id)
    return list(
        session.scalars(
            select(Restriction)
            .where(Restriction.client_id == client.id)
            .order_by(Restriction.requested_at.desc(), Restriction.id.desc())
        )
    )


def open_for_practice(session: Session, actor: Actor) -> list[Restriction]:
    """The practice's restrictions waiting for a decision, then those in force, oldest first.

    Raises:
        Forbidden: the actor does not decide restrictions.
    """
    require(actor, Permission.DECIDE_RESTRICTION)
    waiting_first = Restriction.status != RestrictionStatus.REQUESTED
    return list(
        session.scalars(
            select(Restriction)
            .join(Client, Client.id == Restriction.client_id)
            .where(
                restriction_clients(actor),
                Restriction.status.in_([RestrictionStatus.REQUESTED, RestrictionStatus.AGREED]),
            )
            .order_by(waiting_first, Restriction.requested_at, Restriction.id)
        )
    )


def text_of(restriction: Restriction, column: str) -> str:
    """One sealed text of a restriction, opened ("" when none was given)."""
    sealed: bytes | None = getattr(restriction, column)
    if sealed is None:
        return ""
    return vault.open_sealed(sealed, _place(restriction.uuid, column)).decode()


def _client(session: Session, actor: Actor, client_id: int) -> Client:
    client = session.scalar(
        select(Client).where(Client.id == client_id, restriction_clients(actor))
    )
    if client is None:
        raise NotFound("client")
    return client


def _check_new(session: Session, library: FormLibrary, new: NewRestriction) -> None:
    problems: dict[str, str] = {}
    known = {category.code for category in library.categories()}
    unknown = [code for code in new.categories if code not in known]
    if unknown:
        problems["categories"] = Message(
            "Not a category any release form offers: %(codes)s.", codes=", ".join(unknown)
        )
    elif not new.categories and new.recipient_provider_id is None:
        problems["categories"] = N_("Name the information, the recipient, or both.")
    if new.recipient_provider_id is not None and (
        session.get(Provider, new.recipient_provider_id) is None
    ):
        problems["recipient_provider_id"] = N_("No such provider in the directory.")
    if new.paid_out_of_pocket and new.recipient_provider_id is None:
        problems["recipient_provider_id"] = N_("Name the health plan.")
    description = new.description.strip()
    if not description:
        problems["description"] = N_("Say in your own words what should not be shared.")
    elif len(description) > MAX_DESCRIPTION or "\x00" in description:
        problems["description"] = Message(
            "Keep this under %(limit)s characters.", limit=format(MAX_DESCRIPTION, ",")
        )
    if problems:
        raise Invalid(problems)


def _check_reason(reason: str) -> None:
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise Invalid(
            {
                "reason": Message(
                    "Keep the reason under %(limit)s characters.", limit=format(MAX_REASON, ",")
                )
            }
        )


def _tell_client(session: Session, restriction: Restriction) -> None:
    """The practice ended a restriction: a portal notice and a mail with no health information."""
    tell_client(
        session,
        restriction.client,
        Message(
            "Your practice ended restriction #%(number)s you had asked for. It still covers "
            "information created or received before today.",
            number=restriction.id,
        ),
        notices.restriction_ended_mail,
    )


def _audit(session: Session, actor: Actor, action: Action, restriction: Restriction) -> None:
    audit.record(
        session,
        actor,
        action,
        client_id=restriction.client_id,
        recipient_provider_id=restriction.recipient_provider_id,
        categories=restriction.categories,
        detail={"restriction_id": restriction.id, "status": restriction.status.value},
    )


def _place(uuid: str, column: str) -> vault.Place:
    return vault.Place("restrictions", column, uuid)
