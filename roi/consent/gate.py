"""The consent gate: the only place a disclosure is decided (DESIGN.md "The rules").

`decide()` permits only when one consent, at that moment, is active — signed, not revoked, not
expired, not superseded —, names this discloser (the clinician, or their organization) and this
recipient, or for a two-way consent the same pair the other way round, and covers every category
and every purpose. Psychotherapy notes pass only under a psychotherapy-notes authorization and
substance-use-disorder records only under a 42 CFR Part 2 consent. Otherwise it denies, and every
reason has a stable code (stored in the audit log) and a sentence a clinician understands.

An agreed restriction (45 CFR 164.522(a), 42 CFR 2.26) that covers the recipient or a category
wins over every consent: the gate denies with `restricted_by_agreement`. The one way past a
restriction and past a missing consent is an emergency (`roi.consent.emergency`): given an
emergency basis, the gate permits without a consent when the discloser is a clinician of the
client's own practice and the nature of the emergency and the receiving personnel are stated,
restrictions or not (the emergency-treatment exception of 164.522(a)(1)(iii)). Each basis opens
only what its law allows: psychotherapy notes go without authorization only to prevent a serious
and imminent threat (164.508(a)(2)(ii), 164.512(j)(1)(i)), substance-use-disorder records without
consent only in a bona fide medical emergency (42 CFR 2.51; Part 2 has no serious-threat
exception).

Validity is half-open: a consent permits from the instant it was signed up to, not including,
the instant it was revoked, superseded or its expiration event recorded, and up to the start of
its "expires on" day in its practice's time zone (fixed at signing). The state at `at` is read
from those timestamps (`Consent.status_at`, the one definition of a consent's state), so a
decision about the past is answered as it would have been then.

There is no cache: every decision reads the consent rows. A sender calls `lock_candidates()` first,
in its write transaction, so a disclosure and a revocation of the same consent take turns, and
hands the rows it read under that lock to `decide()`, which then reads nothing again.

A consent that permits one disclosure (`after_first_disclosure`) is used up by it: the sender
calls `use()` with the permitting decision in the same transaction, which expires the consent at
the disclosure's instant. Under the same lock, the next send reads it expired ("once" is once,
SECURITY E7).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, bindparam, literal, or_, select, true
from sqlalchemy.orm import Session

from roi.accounts.models import Client, Provider
from roi.accounts.practice import practice_day
from roi.audit.reasons import ReasonCode
from roi.consent.emergency import Emergency, EmergencyBasis
from roi.consent.library import Category, FormLibrary, TemplateKind
from roi.consent.models import (
    Consent,
    ConsentStatus,
    Direction,
    ExpiryEventKind,
    Restriction,
    RestrictionMark,
    RestrictionStatus,
)
from roi.db import insert_or_not
from roi.i18n import Message


@dataclass(frozen=True)
class Reason:
    """Why a disclosure was denied: a stable `code` (a `ReasonCode` as stored, with its category
    for a category code) and a sentence for the clinician."""

    code: str
    message: str
    consent_id: int | None = None

    def as_json(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "consent_id": self.consent_id}


@dataclass(frozen=True)
class Decision:
    """The gate's answer. `consent` is the consent that permits; None when denied, and when an
    `emergency` permits without one."""

    permitted: bool
    at: datetime
    consent: Consent | None = None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    emergency: Emergency | None = None
    #: restrictions the practice ended that would cover this disclosure: they still cover
    #: information created or received before they ended (164.522(a)(2)(iii)), which roi cannot
    #: tell apart, so the clinician is told
    ended_by_practice: tuple[int, ...] = ()

    @property
    def consent_id(self) -> int | None:
        return self.consent.id if self.consent is not None else None

    @property
    def nearest_consent_id(self) -> int | None:
        """The permitting consent, or on a denial the one its reasons are about (if any)."""
        if self.consent is not None:
            return self.consent.id
        return next((r.consent_id for r in self.reasons if r.consent_id is not None), None)

    @property
    def reason_codes(self) -> list[str]:
        return list(dict.fromkeys(reason.code for reason in self.reasons))


@dataclass(frozen=True)
class Locked:
    """What `lock_candidates()` read under its lock, for `decide()` about the same pair and client:
    the consents that could permit and every restriction of the client, in id order."""

    consents: list[Consent]
    restrictions: list[Restriction]


def decide(
    session: Session,
    library: FormLibrary,
    *,
    discloser: Provider,
    recipient: Provider,
    client: Client,
    categories: Collection[str],
    purposes: Collection[str],
    at: datetime,
    emergency: Emergency | None = None,
    locked: Locked | None = None,
) -> Decision:
    """May `discloser` disclose `categories` about `client` to `recipient` for `purposes` at `at`,
    under a consent or, given `emergency`, under that emergency basis?

    Reads only (nothing, given the rows `lock_candidates()` read for this pair and client as
    `locked`); the caller audits the decision in its own transaction.
    """
    if not categories:
        return _deny(at, _reason(ReasonCode.CATEGORIES_REQUIRED))
    if not purposes:
        return _deny(at, _reason(ReasonCode.PURPOSE_REQUIRED))
    if emergency is not None:
        return _emergency(discloser, client, emergency, categories, library, at)
    restrictions = (
        [r for r in locked.restrictions if r.status in _EVER_AGREED]
        if locked is not None
        else session.scalars(_RESTRICTIONS, {"client_id": client.id})
    )
    covering = [r for r in restrictions if r.covers(recipient.id, categories)]
    restricted = [
        _reason(ReasonCode.RESTRICTED_BY_AGREEMENT, restriction=restriction.id)
        for restriction in covering
        if restriction.in_force(at)
    ]
    if restricted:
        return _deny(at, *restricted)
    ended = tuple(r.id for r in covering if r.terminated_by == "practice" and r.agreed_at)
    pair = _pair(discloser, recipient, client)
    candidates = _known_to(
        discloser,
        locked.consents
        if locked is not None
        else session.scalars(_candidates(*_shape(discloser, recipient)), pair),
    )
    if not candidates:
        return _deny(at, _missing_consent(session, discloser, recipient, pair))
    terms = _Terms(
        categories={category.code: category for category in library.categories()},
        purposes={purpose.code: purpose.label for purpose in library.purposes()},
    )
    assessed = [
        (consent, _failures(consent, categories, purposes, at, terms)) for consent in candidates
    ]
    permitting = [consent for consent, failures in assessed if not failures]
    if permitting:
        # the most recently signed one: it is the consent the client last agreed to
        best = max(permitting, key=lambda c: (c.signed_at or at, c.id))
        return Decision(permitted=True, at=at, consent=best, ended_by_practice=ended)
    _, reasons = min(
        assessed,
        key=lambda item: (
            item[0].status_at(at) is not ConsentStatus.ACTIVE,
            len(item[1]),
            -item[0].id,
        ),
    )
    return _deny(at, *reasons)


def _known_to(discloser: Provider, consents: Iterable[Consent]) -> list[Consent]:
    """The consents whose state a refusal may tell `discloser`: their own practice's, and
    another practice's only once signed. Another practice's draft, or a release the client never
    signed, is not theirs to know of (`policy.consent_visibility`); it could not permit anyway."""
    return [
        consent
        for consent in consents
        if consent.signed_at is not None or consent.organization_id == discloser.organization_id
    ]


def lock_candidates(
    session: Session, *, discloser: Provider, recipient: Provider, client: Client
) -> Locked:
    """Lock every consent that could permit this pair; call it before taking `at`, and pass what
    it returns to `decide()` about the same pair and client.

    A revocation locks its row for update, so it waits for a send holding this lock, and a send
    that locks after a revocation committed reads it (each statement of READ COMMITTED sees what
    committed before it). Taking `at` after the lock keeps every permitted send time before the
    revocation time. The lock is exclusive, not shared: shared locks would let a stream of sends
    keep a waiting revocation out indefinitely, and sends take turns on the audit head anyway.
    On SQLite the write transaction (BEGIN IMMEDIATE) already serializes them. The client's
    restrictions are locked too, after the consents (the order every path takes), so an
    agreement and a send take turns as a revocation and a send do. The consents are read as they
    lock, and the restrictions (when the client has any) once locked, fresh whatever the session
    held, so `decide()` needs no statement of its own.

    Most clients have no restriction: the consents are locked together with the client's
    restriction mark (`RestrictionMark`), and when it says none, nothing more is read. A new
    restriction updates the mark before it is written (`mark_restricted()`), so it waits for a
    send holding the mark, and a send that waited for it (or for a consent) reads the mark's new
    version: PostgreSQL reads again, after the wait, a locked row that changed meanwhile (a send
    never waits for a consent without holding the mark: `_candidates_marked`). A client whose mark
    is not made yet, or who has no consent to lock, is read the long way (the mark is made then
    if it is missing). Sends about one client take turns from that statement on.
    """
    shape, pair = _shape(discloser, recipient), _pair(discloser, recipient, client)
    marked = session.execute(_candidates_marked(*shape), pair).all()
    consents = [consent for consent, _ in marked]
    if marked and not marked[0].restricted:
        return Locked(consents, [])
    if not marked:
        consents = list(session.scalars(_candidates_locked(*shape), pair))
        # made before the restrictions are read, so a new restriction written meanwhile either
        # waits for this send (its mark is this one) or was read
        _make_mark(session, client.id)
    locked = session.scalars(_RESTRICTIONS_LOCKED, {"client_id": client.id}).all()
    # the rows themselves are loaded once locked, so they are read as they are now
    restrictions = session.scalars(_RESTRICTIONS_OF, {"ids": locked}).all() if locked else []
    return Locked(consents, list(restrictions))


def mark_restricted(session: Session, client: Client) -> None:
    """Set the client's restriction mark, in the transaction that writes a new restriction of
    theirs and before it: it takes turns with the client's sends (`lock_candidates()`)."""
    session.execute(
        insert_or_not(session)(RestrictionMark)
        .values(client_id=client.id, restricted=True)
        .on_conflict_do_update(index_elements=["client_id"], set_={"restricted": True})
    )


def _make_mark(session: Session, client_id: int) -> None:
    # set when the client has any restriction; one made meanwhile (a new restriction's) stands
    asked = (
        select(_RESTRICTION_ROWS.c.id).where(_RESTRICTION_ROWS.c.client_id == client_id).exists()
    )
    # SQLite reads ON CONFLICT after a SELECT without WHERE as part of a join: hence the WHERE
    mark = select(literal(client_id), asked).where(true())
    session.execute(
        insert_or_not(session)(RestrictionMark)
        .from_select(["client_id", "restricted"], mark)
        .on_conflict_do_nothing(index_elements=["client_id"])
    )


def use(decision: Decision) -> Consent | None:
    """Count the disclosure `decision` permitted against its consent; returns the consent when
    that disclosure was its expiration event (the caller audits `consent.expired`).

    Call it in the transaction that holds `lock_candidates()` and stores the disclosure. The
    consent expires at the decision's instant: a decision at that instant or later denies with
    `consent_expired`, even under a clock that did not move.
    """
    consent = decision.consent
    if consent is None or consent.expiry_event_kind is not ExpiryEventKind.AFTER_FIRST_DISCLOSURE:
        return None
    consent.status = ConsentStatus.EXPIRED
    consent.expired_at = decision.at
    # the day it happened on the practice's calendar, as a day staff record for other events
    consent.expiry_event_occurred_on = practice_day(consent.organization, decision.at)
    return consent


def covers_until(consent: Consent) -> str:
    """ "until 2027-05-01" or "until end of treatment": how long a consent permits."""
    if consent.expires_on is not None:
        return f"until {consent.expires_on.isoformat()}"
    return f"until {consent.expiry_event}" if consent.expiry_event else "with no end recorded"


@dataclass(frozen=True)
class _Terms:
    """The library's categories (with their sensitivity flags) and purpose labels, by code."""

    categories: dict[str, Category]
    purposes: dict[str, str]


# The statements are built once per shape and run with the pair's ids as parameters: building a
# statement of this size costs more than running it on an indexed table.


def _pair(discloser: Provider, recipient: Provider, client: Client) -> dict[str, int | None]:
    return {
        "client_id": client.id,
        "discloser": discloser.id,
        "discloser_org": discloser.organization_id,
        "recipient": recipient.id,
        "recipient_org": recipient.organization_id,
    }


def _shape(discloser: Provider, recipient: Provider) -> tuple[bool, bool]:
    """Whether each side belongs to an organization (which adds its organization's consents)."""
    return discloser.organization_id is not None, recipient.organization_id is not None


@functools.cache
def _candidates(discloser_org: bool, recipient_org: bool) -> Select[Consent]:
    return (
        select(Consent)
        .where(
            Consent.client_id == bindparam("client_id"), _names_pair(discloser_org, recipient_org)
        )
        .order_by(Consent.id)
        # fresh rows even when the session already holds these consents: the state read here
        # is what a send re-checks under its lock
        .execution_options(populate_existing=True)
    )


#: the states of a restriction that was once agreed: the gate weighs only those
_EVER_AGREED = (RestrictionStatus.AGREED, RestrictionStatus.TERMINATED)
#: the client's restrictions that were ever agreed; fresh rows, as for the consents
_RESTRICTIONS = (
    select(Restriction)
    .where(Restriction.client_id == bindparam("client_id"), Restriction.status.in_(_EVER_AGREED))
    .order_by(Restriction.id)
    .execution_options(populate_existing=True)
)
_RESTRICTION_ROWS = Restriction.metadata.tables[Restriction.__tablename__]
#: every restriction of the client, locked: one agreed while the send waits is read agreed. On
#: the table, not the mapped class: the ORM's work for a statement costs more than the statement
#: when, as for most clients, it finds nothing.
_RESTRICTIONS_LOCKED = (
    select(_RESTRICTION_ROWS.c.id)
    .where(_RESTRICTION_ROWS.c.client_id == bindparam("client_id"))
    .order_by(_RESTRICTION_ROWS.c.id)
    .with_for_update()
)
#: the restrictions `_RESTRICTIONS_LOCKED` locked, fresh
_RESTRICTIONS_OF = (
    select(Restriction)
    .where(Restriction.id.in_(bindparam("ids", expanding=True)))
    .order_by(Restriction.id)
    .execution_options(populate_existing=True)
)


@functools.cache
def _candidates_locked(discloser_org: bool, recipient_org: bool) -> Select[Consent]:
    # in id order, as every path that locks several consents does, so two never deadlock
    return _candidates(discloser_org, recipient_org).with_for_update()


@functools.cache
def _candidates_marked(discloser_org: bool, recipient_org: bool) -> Select[Consent, bool]:
    """The candidates locked as `_candidates_locked`, after the client's restriction mark.

    PostgreSQL locks a row's tables in the order the locking clause names them: the mark first,
    so two sends whose candidates overlap take it before any consent, and then the consents in id
    order (a mark taken between two consents would let one send hold the mark and wait for a
    consent that another holds while it waits for the mark). Only sends and new restrictions lock
    marks, and a new restriction locks nothing else first."""
    return (
        _candidates(discloser_org, recipient_org)
        .add_columns(RestrictionMark.restricted)
        .select_from(RestrictionMark)
        .join(Consent, Consent.client_id == RestrictionMark.client_id)
        .with_for_update(of=[RestrictionMark, Consent])
    )


def _names_pair(discloser_org: bool, recipient_org: bool) -> ColumnElement[bool]:
    forward = and_(
        _is_party("discloser", discloser_org),
        Consent.recipient_provider_id == bindparam("recipient"),
    )
    backward = and_(
        Consent.direction == Direction.TWO_WAY,
        Consent.recipient_provider_id == bindparam("discloser"),
        _is_party("recipient", recipient_org),
    )
    return or_(forward, backward)


def _is_party(side: str, in_organization: bool) -> ColumnElement[bool]:
    """The consent's disclosing side is the clinician, or any clinician of that organization."""
    by_clinician = Consent.discloser_provider_id == bindparam(side)
    if not in_organization:
        return by_clinician
    return or_(by_clinician, Consent.organization_id == bindparam(f"{side}_org"))


@functools.cache
def _one_way_back(recipient_org: bool) -> Select[int]:
    return (
        select(Consent.id)
        .where(
            Consent.client_id == bindparam("client_id"),
            Consent.direction == Direction.ONE_WAY,
            Consent.recipient_provider_id == bindparam("discloser"),
            _is_party("recipient", recipient_org),
            # the other practice's: named only once signed (`_known_to`)
            Consent.signed_at.is_not(None),
        )
        .limit(1)
    )


@functools.cache
def _to_someone_else(discloser_org: bool) -> Select[int]:
    return (
        select(Consent.id)
        .where(Consent.client_id == bindparam("client_id"), _is_party("discloser", discloser_org))
        .limit(1)
    )


def _missing_consent(
    session: Session, discloser: Provider, recipient: Provider, pair: dict[str, int | None]
) -> Reason:
    discloser_org, recipient_org = _shape(discloser, recipient)
    one_way_back = session.scalar(_one_way_back(recipient_org), pair)
    if one_way_back is not None:
        return _reason(ReasonCode.DIRECTION_NOT_COVERED, one_way_back, recipient=recipient.name)
    other_recipient = session.scalar(_to_someone_else(discloser_org), pair)
    if other_recipient is not None:
        return _reason(ReasonCode.RECIPIENT_NOT_COVERED, recipient=recipient.name)
    return _reason(ReasonCode.NO_CONSENT, recipient=recipient.name)


def _emergency(
    discloser: Provider,
    client: Client,
    emergency: Emergency,
    categories: Collection[str],
    library: FormLibrary,
    at: datetime,
) -> Decision:
    """The rules of an emergency disclosure (42 CFR 2.51, 45 CFR 164.512(j)): the client's own
    practice discloses, says what the emergency is and who receives the information, and shares
    only what the basis opens."""
    failures = []
    if discloser.organization_id is None or discloser.organization_id != client.organization_id:
        failures.append(_reason(ReasonCode.EMERGENCY_NOT_OWN_CLIENT))
    if not emergency.nature.strip():
        failures.append(_reason(ReasonCode.EMERGENCY_NATURE_REQUIRED))
    if not emergency.recipient_personnel.strip():
        failures.append(_reason(ReasonCode.EMERGENCY_PERSONNEL_REQUIRED))
    wanted = set(categories)
    for category in library.categories():
        if category.code not in wanted:
            continue
        closed = None
        if category.psychotherapy_notes and emergency.basis is not EmergencyBasis.SERIOUS_THREAT:
            closed = ReasonCode.EMERGENCY_PSYCHOTHERAPY_NOTES
        elif (
            category.substance_use_disorder
            and emergency.basis is not EmergencyBasis.MEDICAL_EMERGENCY
        ):
            closed = ReasonCode.EMERGENCY_PART2_NOT_MEDICAL
        if closed is not None:
            failures.append(_reason(closed, category=category.code, label=category.label))
    if failures:
        return _deny(at, *failures)
    return Decision(permitted=True, at=at, emergency=emergency)


def _failures(
    consent: Consent,
    categories: Iterable[str],
    purposes: Iterable[str],
    at: datetime,
    terms: _Terms,
) -> list[Reason]:
    failures = _state_failures(consent, at)
    for code in sorted(set(categories)):
        failures.extend(_category_failures(consent, code, terms.categories.get(code)))
    labels = terms.purposes
    for code in sorted(set(purposes)):
        if code not in consent.purposes:
            failures.append(
                _reason(ReasonCode.PURPOSE_NOT_COVERED, consent.id, label=labels.get(code, code))
            )
    return failures


def _category_failures(consent: Consent, code: str, category: Category | None) -> list[Reason]:
    label = category.label if category is not None else code
    pn = category is not None and category.psychotherapy_notes
    if pn and consent.kind != TemplateKind.PSYCHOTHERAPY_NOTES:
        reason = ReasonCode.CATEGORY_NEEDS_PSYCHOTHERAPY_NOTES_AUTHORIZATION
        return [_reason(reason, consent.id, category=code, label=label)]
    sud = category is not None and category.substance_use_disorder
    if sud and consent.kind != TemplateKind.PART2:
        return [
            _reason(ReasonCode.CATEGORY_NEEDS_PART2_CONSENT, consent.id, category=code, label=label)
        ]
    if code not in consent.categories:
        return [_reason(ReasonCode.CATEGORY_NOT_COVERED, consent.id, category=code, label=label)]
    return []


#: why a consent in each state other than active does not permit
_STATE_REASONS = {
    ConsentStatus.DRAFT: ReasonCode.CONSENT_NOT_SENT,
    ConsentStatus.PENDING_SIGNATURE: ReasonCode.CONSENT_PENDING_SIGNATURE,
    ConsentStatus.REVOKED: ReasonCode.CONSENT_REVOKED,
    ConsentStatus.EXPIRED: ReasonCode.CONSENT_EXPIRED,
    ConsentStatus.VOIDED: ReasonCode.CONSENT_VOIDED,
    ConsentStatus.SUPERSEDED: ReasonCode.CONSENT_SUPERSEDED,
}


def _state_failures(consent: Consent, at: datetime) -> list[Reason]:
    state = consent.status_at(at)
    if state is ConsentStatus.ACTIVE:
        return []
    return [_reason(_STATE_REASONS[state], consent.id)]


def _reason(
    code: ReasonCode,
    consent_id: int | None = None,
    *,
    category: str | None = None,
    recipient: str = "",
    label: str = "",
    restriction: int | None = None,
) -> Reason:
    """A reason in its stored form, with the code's sentence for the clinician filled in (an
    `i18n.Message`: English in the API and the audit log, translated on a page)."""
    message = Message(
        code.present, consent=consent_id, recipient=recipient, label=label, restriction=restriction
    )
    return Reason(code.stored(category), message, consent_id)


def _deny(at: datetime, *reasons: Reason) -> Decision:
    return Decision(permitted=False, at=at, reasons=tuple(reasons))
