"""Scoped loaders: the only way to load a consent (or a client, with consent-based access) by id.

Authorization is a SQL filter built from `accounts.policy`, so a record that is not yours is not
found, and never told apart from one that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, exists, select
from sqlalchemy.orm import Session, aliased

from roi.accounts.models import Client, Provider
from roi.accounts.policy import (
    Permission,
    client_visibility,
    consent_visibility,
    disclosable_clients,
    discloses,
    managed_consents,
    named_on_consent,
    records_revocations,
    require,
)
from roi.accounts.service import text_search
from roi.actor import Actor, Role
from roi.clock import now
from roi.consent.models import Consent, ConsentStatus, Notification, has_status
from roi.errors import Forbidden, NotFound

#: the consent's recipient in the directory; built once, since building an alias per query
#: costs more than the query itself (bench/messages_bench.py)
_RECIPIENT = aliased(Provider, name="recipient")


def _recipient_user_id() -> ColumnElement[int | None]:
    return (
        select(Provider.user_id)
        .where(Provider.id == Consent.recipient_provider_id)
        .scalar_subquery()
    )


def _visible(actor: Actor) -> ColumnElement[bool]:
    visible = consent_visibility(
        actor,
        organization_id=Consent.organization_id,
        client_id=Consent.client_id,
        recipient_user_id=_recipient_user_id(),
        active=has_status(ConsentStatus.ACTIVE, now()),
    )
    if actor.role is Role.CLIENT:
        # a draft is the practice's work in progress: the client sees it once it is sent
        return and_(visible, Consent.status != ConsentStatus.DRAFT)
    return visible


def consent_for(session: Session, actor: Actor, consent_id: int, *, lock: bool = False) -> Consent:
    """Load a consent the actor may see; `lock` takes the row lock a state change needs.

    Raises:
        NotFound: no such consent, or not one the actor may see.
    """
    require(actor, Permission.VIEW_CONSENTS)
    query = select(Consent).where(Consent.id == consent_id, _visible(actor))
    if lock:
        query = query.with_for_update()
    consent = session.scalar(query)
    if consent is None:
        raise NotFound("consent")
    return consent


def managed_consent_for(
    session: Session, actor: Actor, consent_id: int, *, lock: bool = False
) -> Consent:
    """Load a consent the actor may change (`policy.managed_consents`): one their practice
    prepared; `lock` takes the row lock a state change needs.

    Raises:
        NotFound: no such consent, or not one the actor may see.
        Forbidden: one the actor may see (as its recipient) but not change.
    """
    require(actor, Permission.VIEW_CONSENTS)
    query = select(Consent, managed_consents(actor, organization_id=Consent.organization_id))
    query = query.where(Consent.id == consent_id, _visible(actor))
    row = session.execute(query.with_for_update(of=Consent) if lock else query).one_or_none()
    if row is None:
        raise NotFound("consent")
    consent, managed = row
    if not managed:
        raise Forbidden("Only the practice that prepared this release can change it.")
    return consent


def consent_to_record_revocation_for(
    session: Session, actor: Actor, consent_id: int, *, lock: bool = False
) -> Consent:
    """Load a consent whose revocation received outside roi the actor may record
    (`policy.records_revocations`): one their practice prepared.

    Raises:
        NotFound: no such consent, or not one of the actor's practice.
    """
    require(actor, Permission.RECORD_REVOCATION)
    query = select(Consent).where(
        Consent.id == consent_id,
        records_revocations(actor, organization_id=Consent.organization_id),
    )
    consent = session.scalar(query.with_for_update() if lock else query)
    if consent is None:
        raise NotFound("consent")
    return consent


def consents_for(
    session: Session,
    actor: Actor,
    *,
    client_id: int | None = None,
    status: ConsentStatus | None = None,
    at: datetime | None = None,
) -> list[Consent]:
    """The consents the actor may see, newest first; `status` filters by the state at `at`."""
    require(actor, Permission.VIEW_CONSENTS)
    query = select(Consent).where(_visible(actor))
    if client_id is not None:
        query = query.where(Consent.client_id == client_id)
    if status is not None:
        query = query.where(has_status(status, at or now()))
    return list(session.scalars(query.order_by(Consent.created_at.desc(), Consent.id.desc())))


def _named_on_active_consent(actor: Actor) -> ColumnElement[bool]:
    """A clinician named on either side of one of the client's active consents sees the client."""
    return exists(
        select(Consent.id)
        .join(_RECIPIENT, _RECIPIENT.id == Consent.recipient_provider_id)
        .where(
            Consent.client_id == Client.id,
            named_on_consent(
                actor,
                organization_id=Consent.organization_id,
                recipient_user_id=_RECIPIENT.user_id,
            ),
            has_status(ConsentStatus.ACTIVE, now()),
        )
    )


def _client_predicate(actor: Actor) -> ColumnElement[bool]:
    if actor.role is Role.CLINICIAN:
        return client_visibility(actor, named_on_active_consent=_named_on_active_consent(actor))
    return client_visibility(actor)


def client_for(session: Session, actor: Actor, client_id: int) -> Client:
    """Load a client the actor may see (CONTRACT `GET /clients/{id}`): a clinician of the
    client's organization, a clinician named on either side of one of the client's active
    consents, the client themself.

    Raises:
        NotFound: no such client, or not one the actor may see (never told apart).
    """
    require(actor, Permission.VIEW_CLIENTS)
    client = session.scalar(select(Client).where(Client.id == client_id, _client_predicate(actor)))
    if client is None:
        raise NotFound("client")
    return client


def client_to_prepare_for(session: Session, actor: Actor, client_id: int) -> Client:
    """Load a client the actor may prepare a release for: one of their own practice
    (`policy.managed_consents`), since the practice that prepares a release manages it.

    Raises:
        NotFound: no such client, or not one the actor's practice serves.
    """
    require(actor, Permission.PREPARE_CONSENT)
    client = session.scalar(
        select(Client).where(
            Client.id == client_id, managed_consents(actor, organization_id=Client.organization_id)
        )
    )
    if client is None:
        raise NotFound("client")
    return client


def hold_client(session: Session, client_id: int) -> None:
    """Hold the client's row for the rest of the transaction and read it afresh: what changes
    who may sign for the client or ends their releases (a discharge, a representative, the
    own-care flag) and the signing or recording of a release take turns, so neither reads the
    other half done (a release signed as the discharge commits would stay active). Taken before
    any consent, as everywhere; FOR NO KEY UPDATE, which keeps out no send naming the client."""
    session.execute(
        select(Client)
        .where(Client.id == client_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def client_for_disclosure(session: Session, actor: Actor, client_id: int) -> Client:
    """A client the actor may try to disclose about: one they may see, or one on a release that
    names them (in any state but draft), so a clinician whose consent was revoked is told why by
    the gate rather than told the client does not exist.

    Raises:
        NotFound: no such client, or no tie between the actor and this client.
    """
    # an actor who discloses about nobody is refused by disclosure_client without a query
    found = (
        session.scalar(_DISCLOSABLE, disclosure_parameters(actor, client_id))
        if discloses(actor)
        else None
    )
    return disclosure_client(actor, found)


def disclosure_parameters(actor: Actor, client_id: int) -> dict[str, int | None]:
    """The parameters of `DISCLOSABLE_CLIENT`: the client asked about, and the actor."""
    return {
        "client_id": client_id,
        "organization_id": actor.organization_id,
        "user_id": actor.user_id,
    }


def disclosure_client(actor: Actor, found: Client | None) -> Client:
    """The client `DISCLOSABLE_CLIENT` found, if the actor may disclose at all.

    Raises:
        NotFound: nothing found, or the actor discloses about nobody.
    """
    require(actor, Permission.VIEW_CLIENTS)
    if found is None or not discloses(actor):
        raise NotFound("client")
    return found


#: The client of a disclosure, as a condition on `Client` (bind parameters from
#: `disclosure_parameters`), for a statement that reads it with other rows; one EXISTS: a
#: release named on while active is also one named on since it was signed. Only a signed one:
#: before the signature it names a client who has agreed to nothing (SECURITY C7), and the
#: compose page would show their name and birth date.
DISCLOSABLE_CLIENT = and_(
    Client.id == bindparam("client_id"),
    disclosable_clients(
        bindparam("organization_id"),
        named_on_signed_consent=exists(
            select(Consent.id)
            .join(_RECIPIENT, _RECIPIENT.id == Consent.recipient_provider_id)
            .where(
                Consent.client_id == Client.id,
                _RECIPIENT.user_id == bindparam("user_id"),
                Consent.signed_at.is_not(None),
            )
        ),
    ),
)
#: built once: building it cost more than running it
_DISCLOSABLE = select(Client).where(DISCLOSABLE_CLIENT)


def clients_for(session: Session, actor: Actor, search: str | None = None) -> list[Client]:
    """Every client the actor may see (as `client_for`), by family name; `search` matches
    either name."""
    require(actor, Permission.VIEW_CLIENTS)
    query = select(Client).where(_client_predicate(actor))
    if search:
        query = query.where(text_search(search, Client.given_name, Client.family_name))
    return list(session.scalars(query.order_by(Client.family_name, Client.given_name, Client.id)))


def notifications_for(session: Session, actor: Actor, limit: int = 8) -> list[Notification]:
    """The actor's latest in-app notices, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == actor.user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )
