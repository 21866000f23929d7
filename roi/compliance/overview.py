"""The compliance overview's figures: consents about to expire, disclosures the gate refused —
by reason, by recipient, and week by week —, open accounting requests and the last chain
verification, scoped to the officer's organization.

An officer's scope is `roi.compliance.scope`: the audit entries their organization's people
wrote, and every entry about one of their organization's clients (a clinician elsewhere trying to
disclose about one of them counts too). The chart geometry is a pure function, so the page only
draws what it is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, SQLColumnExpression, select
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Client, Provider
from roi.accounts.policy import Permission, allows, require
from roi.accounts.practice import practice_zone, today_in_practice
from roi.actor import Actor
from roi.audit import Action, AuditEntry
from roi.audit.reasons import ReasonCode
from roi.clock import day_start, local_day, now
from roi.compliance import emergencies, requests, verification
from roi.compliance.scope import officer_scope
from roi.consent import restrictions
from roi.consent.models import (
    EXPIRING_WITHIN_DAYS,
    Consent,
    ConsentStatus,
    ExpiryEventKind,
    OutsideMethod,
    RestrictionStatus,
    Revocation,
    has_status,
)
from roi.db import day_start_sql, unit_of_work
from roi.i18n import N_

WEEKS_SHOWN = 12

UNKNOWN_RECIPIENT = N_("Recipient not recorded")


@dataclass(frozen=True)
class ExpiringConsent:
    consent_id: int
    client_name: str
    recipient_name: str
    expires_on: date
    days_left: int


@dataclass(frozen=True)
class Tally:
    """One row of a breakdown: what is counted (a code or an id), its words, how many."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Week:
    """A week from Monday (where the practice is) and the refusals in it."""

    starts_on: date
    count: int


@dataclass(frozen=True)
class Denials:
    """Refused disclosures since `since`: each refusal is counted once in `total`, once per
    recipient and once per week; a refusal with several reasons counts once under each."""

    since: date
    total: int
    by_reason: list[Tally]
    by_recipient: list[Tally]
    by_week: list[Week]


@dataclass(frozen=True)
class OpenRequest:
    """An accounting request not yet answered (164.528(c): 60 days, one 30-day extension)."""

    id: int
    client_name: str
    received_on: date
    due: date
    extended: bool
    free: bool
    #: days until due; negative once overdue
    days_left: int


@dataclass(frozen=True)
class DisclosureBeforeRecording:
    """A disclosure made under a consent after the client's revocation had reached the
    practice (outside roi) but before staff recorded it: it needs compliance's attention."""

    consent_id: int
    client_name: str
    recipient_name: str
    #: letter | fax | email | in_person | phone
    method: str
    received_on: date
    recorded_at: datetime
    disclosed_at: datetime
    message_id: int | None


@dataclass(frozen=True)
class DisclosureAfterEvent:
    """A disclosure made under a consent after its expiration event happened but before staff
    recorded the event (a discharge, or another event, recorded days later)."""

    consent_id: int
    client_name: str
    recipient_name: str
    occurred_on: date
    recorded_at: datetime
    disclosed_at: datetime
    message_id: int | None


@dataclass(frozen=True)
class AwaitedConfirmation:
    """A revocation made by phone whose confirmation in writing has not arrived."""

    consent_id: int
    client_name: str
    called_on: date
    recorded_at: datetime


@dataclass(frozen=True)
class Overview:
    """Everything the compliance overview shows. `open_requests` and `last_verification` are
    None for an officer whose role may not manage requests or verify the chain."""

    today: date
    expiring: list[ExpiringConsent]
    denials: Denials
    chart: Chart
    open_requests: list[OpenRequest] | None
    #: disclosures made between a revocation's arrival and its recording (SECURITY E10)
    before_recording: list[DisclosureBeforeRecording]
    #: disclosures made between a consent's expiration event and its recording
    after_event: list[DisclosureAfterEvent]
    #: revocations by phone still waiting for the client's confirmation in writing
    awaiting_confirmation: list[AwaitedConfirmation]
    last_verification: verification.LastVerification | None
    may_verify: bool
    #: emergency disclosures waiting for review, and clinicians refused for the practice's
    #: emergency rate (None for an officer who does not review them)
    emergencies_waiting: int | None = None
    emergency_rate_alerts: list[emergencies.RateAlert] | None = None
    #: restriction requests waiting for the practice's decision (None: not the officer's to make)
    restrictions_waiting: int | None = None


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart, in the chart's own coordinates (origin top left)."""

    x: float
    y: float
    width: float
    height: float
    value: int


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    #: the y of the axis the bars stand on
    baseline: float
    bars: list[Bar]


def overview(session: Session, actor: Actor, *, at: datetime | None = None) -> Overview:
    """The compliance overview as of `at` (now); looking at it is audited (`audit.viewed`,
    SECURITY G7).

    Raises:
        Forbidden: the actor may not read the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    at = at or now()
    today = today_in_practice(session, actor, at)
    found = denials(session, actor, today=today)
    may_verify = allows(actor.role, Permission.VERIFY_AUDIT_CHAIN)
    reviews = allows(actor.role, Permission.REVIEW_EMERGENCY_DISCLOSURES)
    result = Overview(
        today=today,
        expiring=expiring_consents(session, actor, at=at),
        before_recording=disclosures_before_recording(session, actor),
        after_event=disclosures_after_expiry_event(session, actor),
        awaiting_confirmation=phone_revocations_awaiting_confirmation(session, actor),
        denials=found,
        chart=bar_chart([week.count for week in found.by_week]),
        open_requests=(
            open_accounting_requests(session, actor, today=today)
            if allows(actor.role, Permission.MANAGE_ACCOUNTING_REQUESTS)
            else None
        ),
        last_verification=verification.last_verification(session, actor) if may_verify else None,
        may_verify=may_verify,
        emergencies_waiting=emergencies.waiting_count(session, actor) if reviews else None,
        emergency_rate_alerts=emergencies.rate_alerts(session, actor, at=at) if reviews else None,
        restrictions_waiting=_restrictions_waiting(session, actor)
        if allows(actor.role, Permission.DECIDE_RESTRICTION)
        else None,
    )
    with unit_of_work(session):
        audit.record(session, actor, Action.AUDIT_VIEWED, detail={"view": "overview"})
    return result


def _restrictions_waiting(session: Session, actor: Actor) -> int:
    waiting = RestrictionStatus.REQUESTED
    return sum(r.status is waiting for r in restrictions.open_for_practice(session, actor))


def open_accounting_requests(
    session: Session, actor: Actor, *, today: date | None = None
) -> list[OpenRequest]:
    """The organization's unanswered accounting requests, the soonest due first, their days
    left counted from `today` (today where the practice is).

    Raises:
        Forbidden: the actor may not manage accounting requests.
    """
    today = today or today_in_practice(session, actor)
    return [
        OpenRequest(
            id=found.id,
            client_name=found.client.display_name,
            received_on=found.received_on,
            due=found.due,
            extended=found.extended_to is not None,
            free=found.free,
            days_left=(found.due - today).days,
        )
        for found in requests.open_requests(session, actor)
    ]


def expiring_consents(
    session: Session,
    actor: Actor,
    *,
    at: datetime | None = None,
    within_days: int = EXPIRING_WITHIN_DAYS,
) -> list[ExpiringConsent]:
    """The organization's consents active at `at` (now) whose date falls in the next
    `within_days` days, soonest first (a consent "expires on" a day: it stops permitting when
    that day begins where the practice is, so the days are counted on its calendar).

    Raises:
        Forbidden: the actor may not read the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    at = at or now()
    today = today_in_practice(session, actor, at)
    last_day = today + timedelta(days=within_days)
    rows = session.execute(
        select(Consent.id, Consent.expires_on, Client.given_name, Client.family_name, Provider.name)
        .join(Client, Client.id == Consent.client_id)
        .join(Provider, Provider.id == Consent.recipient_provider_id)
        .where(
            Consent.organization_id == actor.organization_id,
            has_status(ConsentStatus.ACTIVE, at),
            Consent.expires_on <= last_day,
        )
        .order_by(Consent.expires_on, Consent.id)
    ).all()
    return [
        ExpiringConsent(
            consent_id=row.id,
            client_name=f"{row.given_name} {row.family_name}",
            recipient_name=row.name,
            expires_on=row.expires_on,
            days_left=(row.expires_on - today).days,
        )
        for row in rows
    ]


def disclosures_before_recording(session: Session, actor: Actor) -> list[DisclosureBeforeRecording]:
    """Disclosures under the organization's consents made from the day a revocation received
    outside roi arrived (from 00:00 where the practice is) up to the moment it was recorded,
    newest first: the revocation was in the practice's hands, but roi did not know it yet.

    Raises:
        Forbidden: the actor may not read the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    rows = session.execute(
        _disclosed_before_recorded(
            actor, Revocation.received_on, Revocation.revoked_at, practice_zone(session, actor)
        )
        .add_columns(Revocation.method, Revocation.received_on, Revocation.revoked_at)
        .join(Revocation, Revocation.consent_id == Consent.id)
    ).all()
    return [
        DisclosureBeforeRecording(
            consent_id=row[0],
            client_name=f"{row.given_name} {row.family_name}",
            recipient_name=row.name,
            method=row.method,
            received_on=row.received_on,
            recorded_at=row.revoked_at,
            disclosed_at=row.at,
            message_id=row.message_id,
        )
        for row in rows
    ]


def disclosures_after_expiry_event(session: Session, actor: Actor) -> list[DisclosureAfterEvent]:
    """Disclosures under the organization's consents made from the day their expiration event
    happened (from 00:00 where the practice is) up to the moment it was recorded, newest first:
    the release had ended, but roi did not know it yet. A release used up by its one disclosure
    ends with it: nothing comes between.

    Raises:
        Forbidden: the actor may not read the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    rows = session.execute(
        _disclosed_before_recorded(
            actor,
            Consent.expiry_event_occurred_on,
            Consent.expired_at,
            practice_zone(session, actor),
        )
        .add_columns(Consent.expiry_event_occurred_on, Consent.expired_at)
        .where(Consent.expiry_event_kind.is_distinct_from(ExpiryEventKind.AFTER_FIRST_DISCLOSURE))
    ).all()
    return [
        DisclosureAfterEvent(
            consent_id=row[0],
            client_name=f"{row.given_name} {row.family_name}",
            recipient_name=row.name,
            occurred_on=row.expiry_event_occurred_on,
            recorded_at=row.expired_at,
            disclosed_at=row.at,
            message_id=row.message_id,
        )
        for row in rows
    ]


def _disclosed_before_recorded(
    actor: Actor,
    day: SQLColumnExpression[date | None],
    recorded: SQLColumnExpression[datetime | None],
    time_zone: str,
) -> Select[int, str, str, str, datetime, int | None]:
    """The disclosures under the organization's consents from 00:00 of `day` in `time_zone` (the
    practice's: staff enter the day on its calendar) up to, not including, `recorded`, newest
    first: what a consent's end known late let through. Columns:
    the consent's id, the client's names, the recipient's name, when, and the message."""
    return (
        select(
            Consent.id,
            Client.given_name,
            Client.family_name,
            Provider.name,
            AuditEntry.at,
            AuditEntry.message_id,
        )
        .join(Client, Client.id == Consent.client_id)
        .join(AuditEntry, AuditEntry.consent_id == Consent.id)
        .join(Provider, Provider.id == AuditEntry.recipient_provider_id)
        .where(
            Consent.organization_id == actor.organization_id,
            day.is_not(None),
            AuditEntry.action == Action.DISCLOSURE_PERMITTED,
            AuditEntry.at >= day_start_sql(day, time_zone),
            AuditEntry.at < recorded,
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.seq.desc())
    )


def phone_revocations_awaiting_confirmation(
    session: Session, actor: Actor
) -> list[AwaitedConfirmation]:
    """The organization's revocations made by phone and not yet confirmed in writing, oldest
    first (the client was asked by mail to confirm).

    Raises:
        Forbidden: the actor may not read the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    rows = session.execute(
        select(
            Consent.id,
            Client.given_name,
            Client.family_name,
            Revocation.received_on,
            Revocation.revoked_at,
        )
        .join(Revocation, Revocation.consent_id == Consent.id)
        .join(Client, Client.id == Consent.client_id)
        .where(
            Consent.organization_id == actor.organization_id,
            Revocation.method == OutsideMethod.PHONE.value,
            Revocation.confirmed_on.is_(None),
        )
        .order_by(Revocation.revoked_at, Consent.id)
    ).all()
    return [
        AwaitedConfirmation(
            consent_id=row[0],
            client_name=f"{row.given_name} {row.family_name}",
            called_on=row.received_on,
            recorded_at=row.revoked_at,
        )
        for row in rows
    ]


def denials(
    session: Session, actor: Actor, *, today: date | None = None, weeks: int = WEEKS_SHOWN
) -> Denials:
    """Disclosures the gate refused in the last `weeks` weeks (this week included), in scope;
    weeks begin on Monday where the practice is.

    Raises:
        Forbidden: the actor may not read the disclosure log.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    zone = practice_zone(session, actor)
    today = today or local_day(now(), zone)
    first_monday = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    rows = session.execute(
        select(AuditEntry.at, AuditEntry.reasons, AuditEntry.recipient_provider_id).where(
            AuditEntry.action == Action.DISCLOSURE_DENIED,
            AuditEntry.at >= day_start(first_monday, zone),
            officer_scope(actor),
        )
    ).all()
    per_week = [0] * weeks
    reasons: Counter[str] = Counter()
    recipients: Counter[int | None] = Counter()
    total = 0
    for row in rows:
        index = (local_day(row.at, zone) - first_monday).days // 7
        if index >= weeks:
            continue  # a clock set back: never count an entry dated after today
        total += 1
        per_week[index] += 1
        # "category_not_covered:diagnosis" is counted as "category_not_covered": the rule
        reasons.update({code.partition(":")[0] for code in row.reasons or ()})
        recipients[row.recipient_provider_id] += 1
    return Denials(
        since=first_monday,
        total=total,
        by_reason=_ranked((code, ReasonCode.label_of(code), n) for code, n in reasons.items()),
        by_recipient=_ranked(
            (str(key), name, recipients[key])
            for key, name in _provider_names(session, recipients).items()
        ),
        by_week=[
            Week(first_monday + timedelta(weeks=i), count) for i, count in enumerate(per_week)
        ],
    )


def bar_chart(
    values: Sequence[int],
    *,
    width: float = 600,
    height: float = 200,
    gap: float = 6,
    top: float = 10,
) -> Chart:
    """Bars for `values`, side by side across `width`, scaled so the largest reaches `top`.

    A zero is drawn as no bar at all; an empty chart (every value zero) keeps its baseline.
    """
    if any(v < 0 for v in values):
        raise ValueError("a bar chart counts things: no negative values")
    baseline = height
    if not values:
        return Chart(width, height, baseline, [])
    slot = width / len(values)
    bar_width = max(slot - gap, 1.0)
    tallest = max(values) or 1
    usable = height - top
    bars = []
    for i, value in enumerate(values):
        bar_height = usable * value / tallest
        bars.append(
            Bar(
                x=round(i * slot + (slot - bar_width) / 2, 2),
                y=round(baseline - bar_height, 2),
                width=round(bar_width, 2),
                height=round(bar_height, 2),
                value=value,
            )
        )
    return Chart(width, height, baseline, bars)


def _ranked(rows: Iterable[tuple[str, str, int]]) -> list[Tally]:
    tallies = [Tally(key, label, count) for key, label, count in rows]
    return sorted(tallies, key=lambda t: (-t.count, t.label.casefold()))


def _provider_names(session: Session, counted: Counter[int | None]) -> dict[int | None, str]:
    ids = [key for key in counted if key is not None]
    names: dict[int | None, str] = {}
    if ids:
        for provider_id, name in session.execute(
            select(Provider.id, Provider.name).where(Provider.id.in_(ids))
        ):
            names[provider_id] = name
    for key in counted:
        names.setdefault(key, UNKNOWN_RECIPIENT)
    return names
