"""A client asks, from the portal, to share their records with a provider (issue 12 item 7).

The request reaches the clinicians of the client's practice, who turn it into a release. Only
such a release may give the purpose "at the request of the individual" (164.508(c)(1)(iv)): the
client started it. Drafting refuses that purpose anywhere else (`check_purposes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from roi import audit, vault
from roi.accounts.models import Client, Provider
from roi.accounts.policy import Permission, require
from roi.accounts.service import text_search
from roi.actor import Actor, Role
from roi.audit import Action
from roi.consent.models import ShareRequest, ShareRequestStatus
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound
from roi.i18n import N_, Message

#: the purpose only a client's own request may give (164.508(c)(1)(iv))
AT_REQUEST = "at_request_of_individual"
MAX_NOTE = 1000
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class NewShareRequest:
    """A directory entry, or a typed name and address; and what the client wants to say."""

    provider_id: int | None = None
    provider_name: str = ""
    provider_address: str = ""
    note: str = ""


def check_purposes(purposes: tuple[str, ...], share_request_id: int | None) -> None:
    """Raises:
    Invalid: "at the request of the individual" on a release no client asked for.
    """
    if AT_REQUEST in purposes and share_request_id is None:
        raise Invalid(
            {
                "purposes": N_(
                    "“At the request of the individual” is only for a release the client asked "
                    "for from their portal (45 CFR 164.508(c)(1)(iv)); choose another purpose."
                )
            }
        )


def find_providers(session: Session, actor: Actor, search: str) -> list[Provider]:
    """Directory entries matching `search`, for a client choosing whom to share with."""
    require(actor, Permission.REQUEST_SHARING)
    if not search.strip():
        return []
    query = select(Provider).where(
        text_search(search[:100], Provider.name, Provider.organization_name)
    )
    return list(session.scalars(query.order_by(Provider.name, Provider.id).limit(SEARCH_LIMIT)))


def request_sharing(session: Session, actor: Actor, new: NewShareRequest) -> ShareRequest:
    """The client asks their practice to share their records; audited.

    Raises:
        Forbidden: not a client.
        Invalid: neither a directory entry nor a typed name and address, or a note too long.
    """
    require(actor, Permission.REQUEST_SHARING)
    name, address = new.provider_name.strip(), new.provider_address.strip()
    problems: dict[str, str] = {}
    if new.provider_id is None and not (name and address):
        problems["provider_name"] = N_(
            "Choose a provider from the directory, or type their name and address."
        )
    if len(name) > 200 or len(address) > 500:
        problems["provider_address"] = N_(
            "Keep the name under 200 and the address under 500 characters."
        )
    if len(new.note) > MAX_NOTE:
        problems["note"] = Message("Keep the note under %(limit)s characters.", limit=MAX_NOTE)
    if problems:
        raise Invalid(problems)
    with unit_of_work(session):
        client = session.get(Client, actor.client_id) if actor.client_id else None
        if client is None:
            raise NotFound("client")
        if new.provider_id is not None and session.get(Provider, new.provider_id) is None:
            raise Invalid({"provider_id": N_("No such provider in the directory.")})
        row = ShareRequest(
            client_id=client.id,
            organization_id=client.organization_id,
            requested_by_id=actor.user_id,
            provider_id=new.provider_id,
            provider_name=None if new.provider_id is not None else name,
            provider_address=None if new.provider_id is not None else address,
        )
        session.add(row)
        session.flush()
        if new.note.strip():
            row.note_sealed = vault.seal(
                new.note.strip().encode(), vault.Place("share_requests", "note_sealed", row.uuid)
            )
        audit.record(
            session,
            actor,
            Action.SHARE_REQUESTED,
            client_id=client.id,
            recipient_provider_id=new.provider_id,
            detail={"share_request_id": row.id},
        )
    return row


def requests_for(
    session: Session, actor: Actor, *, status: ShareRequestStatus | None = None
) -> list[ShareRequest]:
    """A clinician's practice's requests, or a client's own, newest first."""
    require(actor, Permission.VIEW_CONSENTS)
    query = select(ShareRequest).where(_visible(actor))
    if status is not None:
        query = query.where(ShareRequest.status == status)
    return list(session.scalars(query.order_by(ShareRequest.id.desc())))


def request_for(session: Session, actor: Actor, request_id: int) -> ShareRequest:
    """One request the actor may see (their practice's, or their own).

    Raises:
        NotFound: no such request, or not the actor's.
    """
    require(actor, Permission.VIEW_CONSENTS)
    found = session.scalar(
        select(ShareRequest).where(ShareRequest.id == request_id, _visible(actor))
    )
    if found is None:
        raise NotFound("share request")
    return found


def note_of(request: ShareRequest) -> str:
    """The client's note, unsealed."""
    if request.note_sealed is None:
        return ""
    place = vault.Place("share_requests", "note_sealed", request.uuid)
    return vault.open_sealed(request.note_sealed, place).decode()


def open_request_to_prepare(
    session: Session, actor: Actor, request_id: int, client_id: int
) -> ShareRequest:
    """The open request of `client_id` a clinician of its practice turns into a release, locked.

    Raises:
        Invalid: not an open request of this client of the actor's practice.
    """
    request = session.scalar(
        select(ShareRequest)
        .where(
            ShareRequest.id == request_id,
            ShareRequest.client_id == client_id,
            ShareRequest.organization_id == actor.organization_id,
            ShareRequest.status == ShareRequestStatus.OPEN,
        )
        .with_for_update()
    )
    if request is None:
        raise Invalid({"share_request_id": N_("No open request of this client to share records.")})
    return request


def _visible(actor: Actor) -> ColumnElement[bool]:
    """A client sees their own requests, a clinician their practice's; nobody else any."""
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return ShareRequest.client_id == actor.client_id
    if actor.role is Role.CLINICIAN and actor.organization_id is not None:
        return ShareRequest.organization_id == actor.organization_id
    return false()
