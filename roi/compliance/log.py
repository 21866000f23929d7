"""The compliance officer's disclosure log: who received what about which client, under which
consent, and what was blocked, read from the audit log and scoped to the officer's practice.

Its scope is `roi.compliance.scope`, its words `roi.compliance.wording`; the CSV export is
`roi.compliance.log_csv` and chain verification `roi.compliance.verification`.

Every look is itself audited (SECURITY G7): a page or an entry as `audit.viewed`, an export as
`audit.exported`, a chain check as `audit.verified`, each in the same transaction as the reading,
so nothing is shown without its record. Those entries hold ids, codes and filters, never names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Client, Organization, Provider, User
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action, AuditEntry, Outcome, search
from roi.audit.chain import iso_micro
from roi.audit.search import EntryFilter
from roi.clock import now
from roi.compliance.scope import nameable_clients, officer_scope
from roi.compliance.wording import action_label, reason_sentence
from roi.consent.library import FormLibrary
from roi.consent.queries import consent_for
from roi.db import unit_of_work
from roi.errors import NotFound
from roi.i18n import N_
from roi.messaging.models import Message

PAGE_SIZE = 50


class ActionGroup(StrEnum):
    """The kinds of entry an officer asks about, each a set of actions."""

    #: what the log opens on: every disclosure, made or refused
    ALL_DISCLOSURES = "all_disclosures"
    DISCLOSURES = "disclosures"
    DENIED = "denied"
    CONSENT_EVENTS = "consent_events"
    DECISION_CHECKS = "decision_checks"
    MESSAGES_READ = "messages_read"
    SIGN_INS = "sign_ins"
    #: compliance staff reading the log: shown only when asked for
    LOG_ACTIVITY = "log_activity"
    ALL = "all"


#: the log opens on disclosures, not on the officer's own looking at it
DEFAULT_GROUP = ActionGroup.ALL_DISCLOSURES


GROUP_LABELS: dict[ActionGroup, str] = {
    ActionGroup.ALL: N_("Everything"),
    ActionGroup.ALL_DISCLOSURES: N_("Disclosures, sent and blocked"),
    ActionGroup.DISCLOSURES: N_("Disclosures made"),
    ActionGroup.DENIED: N_("Disclosures blocked"),
    ActionGroup.CONSENT_EVENTS: N_("Release events"),
    ActionGroup.DECISION_CHECKS: N_("Decision checks"),
    ActionGroup.MESSAGES_READ: N_("Messages read"),
    ActionGroup.SIGN_INS: N_("Sign-ins"),
    ActionGroup.LOG_ACTIVITY: N_("Compliance staff reading the log (views, exports, checks)"),
}

GROUP_ACTIONS: dict[ActionGroup, tuple[Action, ...]] = {
    ActionGroup.ALL: (),
    ActionGroup.ALL_DISCLOSURES: (
        Action.DISCLOSURE_PERMITTED,
        Action.DISCLOSURE_DENIED,
        Action.DISCLOSURE_EMERGENCY,
        Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED,
        Action.DISCLOSURE_RECORDED,
    ),
    # made under a release, in an emergency, or outside roi: an officer reviewing a client's
    # disclosures needs the emergencies most of all
    ActionGroup.DISCLOSURES: (
        Action.DISCLOSURE_PERMITTED,
        Action.DISCLOSURE_EMERGENCY,
        Action.DISCLOSURE_RECORDED,
    ),
    ActionGroup.DENIED: (Action.DISCLOSURE_DENIED, Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED),
    ActionGroup.CONSENT_EVENTS: (
        Action.CONSENT_CREATED,
        Action.CONSENT_SENT,
        Action.CONSENT_SIGNED,
        Action.CONSENT_REVOKED,
        Action.CONSENT_EXPIRED,
        Action.CONSENT_VOIDED,
        Action.CONSENT_SUPERSEDED,
    ),
    ActionGroup.DECISION_CHECKS: (Action.DECISION_CHECKED,),
    ActionGroup.MESSAGES_READ: (Action.MESSAGE_READ,),
    ActionGroup.SIGN_INS: (
        Action.AUTH_LOGIN,
        Action.AUTH_LOGIN_FAILED,
        Action.AUTH_THROTTLED,
        Action.AUTH_LOGOUT,
        Action.AUTH_SESSION_EXPIRED,
    ),
    ActionGroup.LOG_ACTIVITY: (Action.AUDIT_VIEWED, Action.AUDIT_EXPORTED, Action.AUDIT_VERIFIED),
}

# --- names ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Display names of the people and providers a set of entries refers to, by id."""

    clients: Mapping[int, str]
    providers: Mapping[int, str]
    users: Mapping[int, str]


def client_names(session: Session, reader: Actor, ids: Iterable[int | None]) -> dict[int, str]:
    """The names of the clients `ids` that `reader` may see named (`scope.nameable_clients`);
    any other is left out, and shown by its number."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Client.id, Client.given_name, Client.family_name).where(
            Client.id.in_(wanted), nameable_clients(reader)
        )
    )
    return {row.id: f"{row.given_name} {row.family_name}" for row in rows}


def _names(
    session: Session,
    *,
    reader: Actor | None = None,
    client_ids: Iterable[int | None] = (),
    provider_ids: Iterable[int | None] = (),
    user_ids: Iterable[int | None] = (),
) -> Names:
    """One query per kind of name, whatever the number of entries (never one per row); client
    names only as `reader` may see them."""
    providers = {i for i in provider_ids if i is not None}
    users = {i for i in user_ids if i is not None}
    client_names_seen = client_names(session, reader, client_ids) if reader is not None else {}
    provider_names: dict[int, str] = {}
    if providers:
        rows = session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(providers)))
        provider_names = {row.id: row.name for row in rows}
    user_names: dict[int, str] = {}
    if users:
        rows = session.execute(select(User.id, User.name).where(User.id.in_(users)))
        user_names = {row.id: row.name for row in rows}
    return Names(client_names_seen, provider_names, user_names)


def names_for(session: Session, reader: Actor, entries: Sequence[AuditEntry]) -> Names:
    return _names(
        session,
        reader=reader,
        client_ids=(e.client_id for e in entries),
        provider_ids=(e.recipient_provider_id for e in entries),
        user_ids=[*(e.actor_id for e in entries), *(e.subject_user_id for e in entries)],
    )


@dataclass(frozen=True)
class LoggedEntry:
    """An audit entry as read, detached from the session: a page is rendered after its
    transaction commits, and reading expired ORM rows then would cost a query per row."""

    seq: int
    at: datetime
    actor_id: int | None
    actor_role: str
    organization_id: int | None
    action: Action
    outcome: Outcome
    client_id: int | None
    consent_id: int | None
    recipient_provider_id: int | None
    message_id: int | None
    subject_user_id: int | None
    categories: tuple[str, ...]
    purpose: str | None
    reasons: tuple[str, ...]
    detail: Mapping[str, Any]
    request_id: str | None
    ip: str | None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> LoggedEntry:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_role=entry.actor_role,
            organization_id=entry.organization_id,
            action=entry.action,
            outcome=entry.outcome,
            client_id=entry.client_id,
            consent_id=entry.consent_id,
            recipient_provider_id=entry.recipient_provider_id,
            message_id=entry.message_id,
            subject_user_id=entry.subject_user_id,
            categories=tuple(entry.categories or ()),
            purpose=entry.purpose,
            reasons=tuple(entry.reasons or ()),
            detail=dict(entry.detail or {}),
            request_id=entry.request_id,
            ip=entry.ip,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


@dataclass(frozen=True)
class LogRow:
    """An entry with the names a person needs to read it."""

    entry: LoggedEntry
    client_name: str | None
    recipient_name: str | None
    actor_name: str | None
    subject_user_name: str | None = None

    @property
    def action_label(self) -> str:
        return action_label(self.entry.action)


def row_of(entry: AuditEntry, names: Names) -> LogRow:
    return LogRow(
        entry=LoggedEntry.of(entry),
        client_name=names.clients.get(entry.client_id) if entry.client_id else None,
        recipient_name=(
            names.providers.get(entry.recipient_provider_id)
            if entry.recipient_provider_id
            else None
        ),
        actor_name=_actor_name(entry, names),
        subject_user_name=names.users.get(entry.subject_user_id) if entry.subject_user_id else None,
    )


def _actor_name(entry: AuditEntry, names: Names) -> str | None:
    if entry.actor_id is not None:
        return names.users.get(entry.actor_id)
    return {"system": N_("roi (system)"), "anonymous": N_("Not signed in")}.get(entry.actor_role)


def filter_detail(entry_filter: EntryFilter) -> dict[str, Any]:
    """The filter as audit detail: ids, codes and times only."""
    detail: dict[str, Any] = {}
    for name in ("client_id", "recipient_provider_id", "actor_id"):
        value = getattr(entry_filter, name)
        if value is not None:
            detail[name] = value
    if entry_filter.actions:
        detail["actions"] = sorted(str(action) for action in entry_filter.actions)
    if entry_filter.outcome is not None:
        detail["outcome"] = str(entry_filter.outcome)
    if entry_filter.since is not None:
        detail["since"] = iso_micro(entry_filter.since)
    if entry_filter.until is not None:
        detail["until"] = iso_micro(entry_filter.until)
    return detail


# --- the log --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogPage:
    """A page of the log, newest first; `next_before` is the cursor of the older page, if any."""

    rows: list[LogRow]
    next_before: int | None


def log_page(
    session: Session,
    actor: Actor,
    entry_filter: EntryFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> LogPage:
    """One page of the officer's log, newest first, below the cursor `before`; audited.

    Raises:
        Forbidden: the actor may not view the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    with unit_of_work(session):
        found = search.page(
            session, entry_filter, scope=officer_scope(actor), before=before, limit=limit
        )
        names = names_for(session, actor, found.entries)
        rows = [row_of(entry, names) for entry in found.entries]
        detail = {"view": "disclosure_log", **filter_detail(entry_filter), "rows": len(rows)}
        if before is not None:
            detail["before"] = before
        audit.record(
            session, actor, Action.AUDIT_VIEWED, client_id=entry_filter.client_id, detail=detail
        )
    return LogPage(rows, found.next_before)


@dataclass(frozen=True)
class ConsentSummary:
    """The consent an entry names, as far as the officer may see it."""

    id: int
    #: False when the consent belongs to another practice: the officer sees only its number
    visible: bool
    status: str | None = None
    template_title: str | None = None
    categories: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    signed: bool = False


@dataclass(frozen=True)
class MessageSummary:
    """What a message was, never what it said: metadata and the consent line it carried."""

    id: int
    sent_at: datetime
    sender_name: str | None
    sender_provider_name: str | None
    recipient_name: str | None
    categories: tuple[str, ...]
    purpose: str
    scope_summary: str
    carried_part2_notice: bool


@dataclass(frozen=True)
class EntryDetail:
    """One entry with everything the officer may know about it."""

    row: LogRow
    organization_name: str | None
    reasons: list[tuple[str, str]]
    consent: ConsentSummary | None
    message: MessageSummary | None


def log_entry(
    session: Session,
    actor: Actor,
    seq: int,
    library: FormLibrary | None = None,
    language: str = "en",
) -> EntryDetail:
    """One entry of the officer's log, with its reasons in sentences; audited. Form titles and
    category labels are in `language`.

    Raises:
        Forbidden: the actor may not view the disclosure log.
        NotFound: no such entry, or not in the officer's scope (the two look the same).
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    with unit_of_work(session):
        entry = search.by_seq(session, seq, scope=officer_scope(actor))
        if entry is None:
            raise NotFound("audit entry")
        names = names_for(session, actor, [entry])
        organization_name = (
            session.scalar(
                select(Organization.name).where(Organization.id == entry.organization_id)
            )
            if entry.organization_id is not None
            else None
        )
        detail = EntryDetail(
            row=row_of(entry, names),
            organization_name=organization_name,
            reasons=[
                (code, reason_sentence(code, library, language)) for code in entry.reasons or []
            ],
            consent=_consent_summary(session, actor, entry.consent_id, library, language),
            message=_message_summary(session, entry),
        )
        audit.record(
            session,
            actor,
            Action.AUDIT_VIEWED,
            client_id=entry.client_id,
            detail={"view": "log_entry", "seq": entry.seq},
        )
    return detail


def _consent_summary(
    session: Session,
    actor: Actor,
    consent_id: int | None,
    library: FormLibrary | None,
    language: str,
) -> ConsentSummary | None:
    if consent_id is None:
        return None
    try:
        consent = consent_for(session, actor, consent_id)
    except NotFound:
        return ConsentSummary(id=consent_id, visible=False)
    title = None
    if library is not None:
        try:
            form = library.get(consent.template_id, consent.template_version)
            title = form.in_language(language).title
        except NotFound:
            title = None
    return ConsentSummary(
        id=consent.id,
        visible=True,
        status=str(consent.status_at(now())),
        template_title=title,
        categories=tuple(consent.categories),
        purposes=tuple(consent.purposes),
        signed=consent.signed_at is not None,
    )


def _message_summary(session: Session, entry: AuditEntry) -> MessageSummary | None:
    if entry.message_id is None:
        return None
    # Named columns only: the sealed subject and body are never even loaded.
    found = session.execute(
        select(
            Message.id,
            Message.sent_at,
            Message.sender_user_id,
            Message.sender_provider_id,
            Message.recipient_provider_id,
            Message.categories,
            Message.purpose,
            Message.scope_summary,
            Message.part2_notice.is_not(None).label("carried_part2_notice"),
        ).where(Message.id == entry.message_id, Message.client_id == entry.client_id)
    ).one_or_none()
    if found is None:
        return None
    names = _names(
        session,
        provider_ids=(found.sender_provider_id, found.recipient_provider_id),
        user_ids=(found.sender_user_id,),
    )
    return MessageSummary(
        id=found.id,
        sent_at=found.sent_at,
        sender_name=names.users.get(found.sender_user_id),
        sender_provider_name=names.providers.get(found.sender_provider_id),
        recipient_name=names.providers.get(found.recipient_provider_id),
        categories=tuple(found.categories or ()),
        purpose=found.purpose,
        scope_summary=found.scope_summary,
        carried_part2_notice=bool(found.carried_part2_notice),
    )


# --- filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers: the practice's clients and staff, the provider directory."""

    clients: list[Choice]
    providers: list[Choice]
    staff: list[Choice]


def filter_choices(session: Session, actor: Actor) -> FilterChoices:
    """The select boxes' options, by name, with ids as values (names never go in a URL).

    Raises:
        Forbidden: the actor may not view the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    organization_id = actor.organization_id
    clients = session.execute(
        select(Client.id, Client.given_name, Client.family_name)
        .where(Client.organization_id == organization_id)
        .order_by(Client.family_name, Client.given_name, Client.id)
    )
    providers = session.execute(
        select(Provider.id, Provider.name, Provider.organization_name).order_by(
            Provider.name, Provider.id
        )
    )
    staff = session.execute(
        select(User.id, User.name)
        .where(User.organization_id == organization_id)
        .order_by(User.name, User.id)
    )
    return FilterChoices(
        clients=[Choice(r.id, f"{r.family_name}, {r.given_name}") for r in clients],
        providers=[Choice(r.id, f"{r.name} ({r.organization_name})") for r in providers],
        staff=[Choice(r.id, r.name) for r in staff],
    )
