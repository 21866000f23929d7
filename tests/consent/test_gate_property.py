"""SECURITY E1: the gate's truth table, checked by a hypothesis state machine against a model.

`ReferenceGate` below is written from the rules of roi issue 5, not from `roi.consent.gate`: a
disclosure is permitted when one consent of that client, at that instant, is in force — signed,
and before each of its revocation, its recorded expiration event and 00:00 UTC of its "expires on"
day (half-open `[signed_at, end)`) — names the discloser (the clinician or their organization) and
the recipient, or for a two-way consent the same pair the other way round, and covers every
category and the purpose; psychotherapy notes only under a psychotherapy-notes authorization,
substance-use-disorder records only under a 42 CFR Part 2 consent.

The machine grants consents (A→B, client, categories, purposes, expiry date or event, one- or
two-way, signed now or left waiting for a signature), signs, revokes, records expiration events,
voids, moves the clock (time-machine, frozen between moves; also to exactly 00:00 UTC of an
expiry day or the microsecond before it) and asks: `gate.decide` now or about an earlier instant
on the edge of some consent's state (and the microsecond before it), and the real
`messaging.service.send` now. Every answer must equal the model's, and a permit must name a
consent the model says permits, the most recently signed of them. A denied send stores no message,
a permitted one exactly one. Run time: about 30 s on SQLite (150 examples of 25 steps).

SECURITY E8 extends it with restrictions the client asked for: requested (which changes nothing),
agreed (from then on, whatever consents exist, nothing they cover is permitted), declined, and
ended by the client or by the practice (from then on they no longer bind). Requests, decisions
and terminations go through the real `roi.consent.restrictions` service.

Shortcut, on purpose: signing through the lifecycle renders and signs a PDF (a fraction of a
second each), so `grant` and `sign` write the consent rows with the ORM, setting status and
timestamps as `lifecycle.send_for_signature` and `lifecycle.sign_as_client` do (pending:
`sent_at`; active: `signed_at`, no Signature row, which the gate never reads). A few granted
rows are deliberately ones the lifecycle would refuse — a psychotherapy-notes or substance-use
category listed on the wrong kind of form — to show the gate does not lean on the form checks.
Revocation, the expiration event and voiding go through the real lifecycle.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roi.accounts.models import Client, Provider
from roi.actor import Role
from roi.clock import now
from roi.consent import gate, lifecycle, restrictions
from roi.consent.library import FormLibrary
from roi.consent.models import Consent, ConsentStatus, Direction
from roi.db import unit_of_work
from roi.errors import ConsentRequired, NotFound, WrongState
from roi.messaging import service
from roi.messaging.models import Message
from tests.factories import Person, make_client_user, make_user

#: the rules' sensitive categories, as the shipped forms name them
PSYCHOTHERAPY_NOTES = frozenset({"psychotherapy_notes"})
SUBSTANCE_USE = frozenset(
    {
        "sud_diagnosis",
        "sud_treatment",
        "sud_medications",
        "sud_test_results",
        "sud_attendance",
        "sud_discharge_summary",
    }
)
TEMPLATES = {
    "general": "general-authorization",
    "psychotherapy_notes": "psychotherapy-notes",
    "part2": "part2-consent",
}
#: providers: a key, their practice; P1 and P2 share one, P3 and P4 another, P5 is alone
PRACTICES = {
    "P1": "Riverside Counseling",
    "P2": "Riverside Counseling",
    "P3": "Northgate Psychiatry",
    "P4": "Northgate Psychiatry",
    "P5": "Harbor Behavioral Health",
}
#: clients: who in their practice takes them on (their consents are that practice's)
CLIENTS = {"C1": "P1", "C2": "P1", "C3": "P3"}
STEPS = [
    timedelta(microseconds=1),
    timedelta(milliseconds=1),
    timedelta(seconds=1),
    timedelta(hours=1),
    timedelta(hours=7),
    timedelta(days=1),
]
ONE_MICROSECOND = timedelta(microseconds=1)


def midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- the reference model ------------------------------------------------------------------------


@dataclass
class ModelConsent:
    row_id: int
    client: str
    discloser: str
    recipient: str
    kind: str
    categories: frozenset[str]
    purposes: frozenset[str]
    two_way: bool
    sent_at: datetime
    expires_on: date | None
    signed_at: datetime | None = None
    revoked_at: datetime | None = None
    expired_at: datetime | None = None
    voided_at: datetime | None = None

    @property
    def practice(self) -> str:
        return PRACTICES[self.discloser]

    def in_force(self, at: datetime) -> bool:
        if self.signed_at is None or at < self.signed_at:
            return False
        ends = [self.revoked_at, self.expired_at]
        if self.expires_on is not None:
            ends.append(midnight_utc(self.expires_on))
        return all(end is None or at < end for end in ends)

    def pending(self, at: datetime) -> bool:
        return self.signed_at is None and self.voided_at is None and at >= self.sent_at

    def names(self, discloser: str, recipient: str) -> bool:
        def disclosing_side(provider: str) -> bool:
            return provider == self.discloser or PRACTICES[provider] == self.practice

        if disclosing_side(discloser) and recipient == self.recipient:
            return True
        return self.two_way and discloser == self.recipient and disclosing_side(recipient)

    def covers(self, categories: frozenset[str], purposes: frozenset[str]) -> bool:
        for category in categories:
            if category in PSYCHOTHERAPY_NOTES and self.kind != "psychotherapy_notes":
                return False
            if category in SUBSTANCE_USE and self.kind != "part2":
                return False
            if category not in self.categories:
                return False
        return purposes <= self.purposes

    def instants(self) -> list[datetime]:
        """The edges of this consent's states, where an off-by-one would show."""
        moments = [self.sent_at, self.signed_at, self.revoked_at, self.expired_at, self.voided_at]
        if self.expires_on is not None:
            moments.append(midnight_utc(self.expires_on))
        return [m for m in moments if m is not None]


@dataclass
class ModelRestriction:
    """What a client asked not to be shared: to `recipient` (None: anyone), `categories` (empty:
    everything), binding from `agreed_at` up to, not including, `terminated_at`."""

    row_id: int
    client: str
    recipient: str | None
    categories: frozenset[str]
    agreed_at: datetime | None = None
    terminated_at: datetime | None = None
    declined: bool = False

    def in_force(self, at: datetime) -> bool:
        if self.agreed_at is None or at < self.agreed_at:
            return False
        return self.terminated_at is None or at < self.terminated_at

    def covers(self, recipient: str, categories: frozenset[str]) -> bool:
        if self.recipient is not None and self.recipient != recipient:
            return False
        return not self.categories or bool(self.categories & categories)

    def instants(self) -> list[datetime]:
        return [m for m in (self.agreed_at, self.terminated_at) if m is not None]


@dataclass
class ReferenceGate:
    consents: list[ModelConsent] = field(default_factory=list)
    restrictions: list[ModelRestriction] = field(default_factory=list)

    def restricted(
        self, *, recipient: str, client: str, categories: frozenset[str], at: datetime
    ) -> bool:
        """An agreed restriction in force covers it: no consent can permit it (164.522(a))."""
        return any(
            r.client == client and r.in_force(at) and r.covers(recipient, categories)
            for r in self.restrictions
        )

    def permitting(
        self,
        *,
        discloser: str,
        recipient: str,
        client: str,
        categories: frozenset[str],
        purposes: frozenset[str],
        at: datetime,
    ) -> list[ModelConsent]:
        if not categories or not purposes:
            return []
        if self.restricted(recipient=recipient, client=client, categories=categories, at=at):
            return []
        return [
            consent
            for consent in self.consents
            if consent.client == client
            and consent.names(discloser, recipient)
            and consent.in_force(at)
            and consent.covers(categories, purposes)
        ]


@dataclass(frozen=True)
class Request:
    """A question for the gate: may `discloser` share `categories` about `client` with
    `recipient` for `purposes`?"""

    discloser: str
    recipient: str
    client: str
    categories: frozenset[str]
    purposes: frozenset[str]


# --- the machine ------------------------------------------------------------------------------


@dataclass
class World:
    """What every example shares: the practices' clinicians, made once for the test."""

    people: dict[str, Person]
    provider_ids: dict[str, int]
    library: FormLibrary
    clock: list[datetime]  # where the last example's clock stopped
    counter: itertools.count[int] = field(default_factory=itertools.count)
    stats: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1


def make_world(session: Session, library: FormLibrary) -> World:
    people = {
        key: make_user(session, Role.CLINICIAN, org=practice, name=f"Clinician {key}")
        for key, practice in PRACTICES.items()
    }
    provider_ids = {
        key: session.scalar(select(Provider.id).where(Provider.user_id == person.user.id))
        for key, person in people.items()
    }
    return World(people, provider_ids, library, [now()])


def machine_for(session: Session, world: World) -> type[RuleBasedStateMachine]:
    library = world.library
    template_categories = {
        kind: sorted(c.code for c in library.get(template).categories)
        for kind, template in TEMPLATES.items()
    }
    template_purposes = {
        kind: sorted(p.code for p in library.get(template).purposes)
        for kind, template in TEMPLATES.items()
    }
    all_categories = sorted({c.code for c in library.categories()})
    all_purposes = sorted({p.code for p in library.purposes()})

    class GateMachine(RuleBasedStateMachine):
        consents = Bundle("consents")
        restrictions_bundle = Bundle("restrictions")

        def __init__(self) -> None:
            super().__init__()
            self.model = ReferenceGate()
            # each example starts at 09:00 UTC on a day after the last one ended, so a replay of
            # the same steps meets midnight (expiry) at the same distance
            self.clock = datetime.combine(
                world.clock[-1].date() + timedelta(days=2), time(9), tzinfo=UTC
            )
            self.traveller = time_machine.travel(self.clock, tick=False)
            self.coordinates = self.traveller.start()
            self.started = self.clock
            # fresh clients for each example: the gate only ever reads one client's consents
            n = next(world.counter)
            self.clients: dict[str, Client] = {}
            self.client_people: dict[str, Person] = {}
            for key, taken_on_by in CLIENTS.items():
                client, person = make_client_user(
                    session,
                    world.people[taken_on_by],
                    given_name="Case",
                    family_name=f"{key}x{n}",
                )
                self.clients[key] = client
                self.client_people[key] = person

        def teardown(self) -> None:
            self.traveller.stop()
            world.clock.append(self.clock)
            session.rollback()

        # --- the clock -----------------------------------------------------------------

        def move_to(self, moment: datetime) -> None:
            assert moment > self.clock
            self.clock = moment
            self.coordinates.move_to(moment)

        @rule(step=st.sampled_from(STEPS))
        def advance(self, step: timedelta) -> None:
            self.move_to(self.clock + step)

        @rule(consent=consents, offset=st.sampled_from([-ONE_MICROSECOND, timedelta(0)]))
        def advance_to_expiry(self, consent: ModelConsent, offset: timedelta) -> None:
            # exactly 00:00 UTC of the "expires on" day, or the last microsecond before it
            if consent.expires_on is None:
                return
            target = midnight_utc(consent.expires_on) + offset
            if target > self.clock:
                self.move_to(target)
                world.count("moved to an expiry edge")

        # --- consents -------------------------------------------------------------------

        @initialize(target=consents, data=st.data())
        def first_grants(self, data: st.DataObject) -> MultipleResults[ModelConsent]:
            # every example starts with a few consents, so questions near them come from step one
            return multiple(*(self.grant(data) for _ in range(3)))

        @rule(target=consents, data=st.data())
        def grant(self, data: st.DataObject) -> ModelConsent:
            client = data.draw(st.sampled_from(sorted(CLIENTS)))
            kind = data.draw(st.sampled_from(sorted(TEMPLATES)))
            two_way = data.draw(st.booleans())
            signed = data.draw(st.sampled_from([True, True, False]))
            expires_in_days = data.draw(st.sampled_from([None, None, 1, 2, 3, 30]))
            misfiled = data.draw(st.sampled_from([False, False, False, True]))
            practice = PRACTICES[CLIENTS[client]]
            discloser = data.draw(
                st.sampled_from(sorted(k for k, p in PRACTICES.items() if p == practice))
            )
            recipient = data.draw(st.sampled_from(sorted(k for k in PRACTICES if k != discloser)))
            categories = set(
                data.draw(st.sets(st.sampled_from(template_categories[kind]), min_size=1))
            )
            if misfiled:
                # a row the form checks would refuse: a sensitive category on the wrong form
                wrong = sorted((PSYCHOTHERAPY_NOTES | SUBSTANCE_USE) - set(categories))
                categories.add(data.draw(st.sampled_from(wrong)))
            purposes = data.draw(st.sets(st.sampled_from(template_purposes[kind]), min_size=1))
            expires_on = (
                self.clock.date() + timedelta(days=expires_in_days) if expires_in_days else None
            )
            at = self.clock
            with unit_of_work(session):
                row = Consent(
                    client_id=self.clients[client].id,
                    organization_id=world.people[discloser].actor.organization_id,
                    discloser_provider_id=world.provider_ids[discloser],
                    recipient_provider_id=world.provider_ids[recipient],
                    created_by_id=world.people[discloser].user.id,
                    template_id=TEMPLATES[kind],
                    template_version=library.get(TEMPLATES[kind]).version,
                    kind=kind,
                    categories=sorted(categories),
                    purposes=sorted(purposes),
                    expires_on=expires_on,
                    expiry_event=None if expires_on else "the end of treatment",
                    direction=Direction.TWO_WAY if two_way else Direction.ONE_WAY,
                    status=ConsentStatus.ACTIVE if signed else ConsentStatus.PENDING_SIGNATURE,
                    created_at=at,
                    sent_at=at,
                    signed_at=at if signed else None,
                )
                session.add(row)
                session.flush()
                row_id = row.id
            consent = ModelConsent(
                row_id=row_id,
                client=client,
                discloser=discloser,
                recipient=recipient,
                kind=kind,
                categories=frozenset(categories),
                purposes=frozenset(purposes),
                two_way=two_way,
                sent_at=at,
                expires_on=expires_on,
                signed_at=at if signed else None,
            )
            self.model.consents.append(consent)
            return consent

        @rule(consent=consents)
        def sign(self, consent: ModelConsent) -> None:
            if not consent.pending(self.clock):
                return
            with unit_of_work(session):
                row = session.get(Consent, consent.row_id)
                assert row is not None
                assert row.status is ConsentStatus.PENDING_SIGNATURE
                row.status = ConsentStatus.ACTIVE
                row.signed_at = self.clock
            consent.signed_at = self.clock

        @rule(consent=consents)
        def revoke(self, consent: ModelConsent) -> None:
            person = self.client_people[consent.client]
            if consent.in_force(self.clock):
                revoked = lifecycle.revoke(session, person.actor, consent.row_id, reason=None)
                assert revoked.revoked_at == self.clock
                consent.revoked_at = self.clock
                world.count("revoked")
            else:
                with pytest.raises(WrongState):
                    lifecycle.revoke(session, person.actor, consent.row_id, reason=None)

        @rule(consent=consents)
        def record_expiry_event(self, consent: ModelConsent) -> None:
            if consent.expires_on is not None:
                return  # the consents that end with an event are those without a date
            actor = world.people[consent.discloser].actor
            if consent.in_force(self.clock):
                lifecycle.record_expiry_event(session, actor, consent.row_id, self.clock.date())
                consent.expired_at = self.clock
                world.count("expiry event")
            else:
                with pytest.raises(WrongState):
                    lifecycle.record_expiry_event(session, actor, consent.row_id, self.clock.date())

        @rule(consent=consents)
        def void(self, consent: ModelConsent) -> None:
            actor = world.people[consent.discloser].actor
            if consent.pending(self.clock):
                lifecycle.void(session, actor, consent.row_id)
                consent.voided_at = self.clock
            else:
                with pytest.raises(WrongState):
                    lifecycle.void(session, actor, consent.row_id)

        # --- restrictions (E8) -------------------------------------------------------------

        @rule(target=restrictions_bundle, data=st.data())
        def restrict(self, data: st.DataObject) -> ModelRestriction:
            """The client asks; staff of the client's practice agree (mostly), decline, or leave
            it undecided."""
            # mostly about what some consent allows, so a restriction meets the questions asked
            near = (
                self.some_consent(data)
                if data.draw(st.sampled_from([True] * 3 + [False]))
                else None
            )
            client = near.client if near else data.draw(st.sampled_from(sorted(CLIENTS)))
            shape = data.draw(st.sampled_from(["categories", "recipient", "both"]))
            recipient = None
            if shape != "categories":
                recipient = (
                    near.recipient if near else data.draw(st.sampled_from(sorted(PRACTICES)))
                )
            pool = sorted(near.categories) if near else all_categories
            categories = frozenset()
            if shape != "recipient":
                categories = frozenset(
                    data.draw(st.sets(st.sampled_from(pool), min_size=1, max_size=3))
                )
            asked = restrictions.request(
                session,
                self.client_people[client].actor,
                library,
                self.clients[client].id,
                restrictions.NewRestriction(
                    recipient_provider_id=world.provider_ids[recipient] if recipient else None,
                    categories=tuple(sorted(categories)),
                    description="Please keep this to yourselves.",
                ),
            )
            model = ModelRestriction(asked.id, client, recipient, categories)
            self.model.restrictions.append(model)
            outcome = data.draw(st.sampled_from(["agree"] * 4 + ["decline", "leave"]))
            staff = world.people[CLIENTS[client]].actor
            if outcome == "agree":
                restrictions.decide(session, staff, asked.id, agree=True, reason=None)
                model.agreed_at = self.clock
                world.count("restriction agreed")
            elif outcome == "decline":
                restrictions.decide(session, staff, asked.id, agree=False, reason="Needed.")
                model.declined = True
            return model

        @rule(restriction=restrictions_bundle, by_client=st.booleans())
        def end_restriction(self, restriction: ModelRestriction, by_client: bool) -> None:
            """The client ends it (or withdraws the request); or the practice ends an agreed one."""
            actor = (
                self.client_people[restriction.client].actor
                if by_client
                else world.people[CLIENTS[restriction.client]].actor
            )
            ended = restriction.terminated_at is not None or restriction.declined
            may_end = not ended and (by_client or restriction.agreed_at is not None)
            if may_end:
                restrictions.terminate(session, actor, restriction.row_id, reason=None)
                restriction.terminated_at = self.clock
                world.count("restriction ended")
            else:
                with pytest.raises(WrongState):
                    restrictions.terminate(session, actor, restriction.row_id, reason=None)

        # --- questions --------------------------------------------------------------------

        def request(self, data: st.DataObject) -> tuple[Request, ModelConsent | None]:
            """Mostly a request close to one consent's scope, often just past one of its edges;
            sometimes one drawn from anywhere."""
            agreed = [r for r in self.model.restrictions if r.agreed_at is not None]
            if agreed and data.draw(st.sampled_from([True] + [False] * 3)):
                return self.request_against(data, data.draw(st.sampled_from(agreed))), None
            if data.draw(st.sampled_from([True] * 4 + [False])):
                consent = self.some_consent(data)
                return self.request_like(data, consent), consent
            return self.request_anywhere(data), None

        def request_against(self, data: st.DataObject, restriction: ModelRestriction) -> Request:
            """A request a restriction would cover (E8), under a consent that may permit it."""
            client = restriction.client
            under = [c for c in self.model.consents if c.client == client]
            consent = data.draw(st.sampled_from(under)) if under else None
            recipient = restriction.recipient or (
                consent.recipient if consent else data.draw(st.sampled_from(sorted(PRACTICES)))
            )
            discloser = consent.discloser if consent else CLIENTS[client]
            if discloser == recipient:
                discloser = next(k for k in PRACTICES if k != recipient)
            pool = sorted(restriction.categories or (consent.categories if consent else ()))
            pool = pool or all_categories
            categories = frozenset(
                data.draw(st.sets(st.sampled_from(pool), min_size=1, max_size=2))
            )
            purposes = sorted(consent.purposes) if consent else all_purposes
            purpose = data.draw(st.sampled_from(purposes))
            return Request(discloser, recipient, client, categories, frozenset({purpose}))

        def some_consent(self, data: st.DataObject) -> ModelConsent:
            """Half the time one in force now, so that permits are as common as denials."""
            in_force = [c for c in self.model.consents if c.in_force(self.clock)]
            if in_force and data.draw(st.booleans()):
                return data.draw(st.sampled_from(in_force))
            return data.draw(st.sampled_from(self.model.consents))

        def request_like(self, data: st.DataObject, consent: ModelConsent) -> Request:
            discloser, recipient, client = consent.discloser, consent.recipient, consent.client
            variation = data.draw(
                st.sampled_from(
                    ["same"] * 3
                    + ["reverse"] * 2
                    + ["colleague"] * 2
                    + ["other recipient", "other client"]
                )
            )
            if variation == "reverse":
                discloser, recipient = recipient, discloser
            elif variation == "colleague":
                # another clinician of the discloser's practice, where there is one
                discloser = next(
                    (
                        k
                        for k, p in PRACTICES.items()
                        if p == PRACTICES[discloser] and k != discloser
                    ),
                    discloser,
                )
            elif variation == "other recipient":
                recipient = data.draw(st.sampled_from(sorted(PRACTICES)))
            elif variation == "other client":
                client = data.draw(st.sampled_from(sorted(CLIENTS)))
            categories = set(
                data.draw(st.sets(st.sampled_from(sorted(consent.categories)), min_size=1))
            )
            if data.draw(st.sampled_from([False] * 4 + [True])):
                categories.add(data.draw(st.sampled_from(all_categories)))
            purpose = data.draw(
                st.sampled_from(sorted(consent.purposes))
                if data.draw(st.sampled_from([True] * 4 + [False]))
                else st.sampled_from(all_purposes)
            )
            return Request(
                discloser, recipient, client, frozenset(categories), frozenset({purpose})
            )

        def request_anywhere(self, data: st.DataObject) -> Request:
            discloser = data.draw(st.sampled_from(sorted(PRACTICES)))
            recipient = data.draw(st.sampled_from(sorted(k for k in PRACTICES if k != discloser)))
            client = data.draw(st.sampled_from(sorted(CLIENTS)))
            # now and then nothing at all, which the gate must refuse too
            least = data.draw(st.sampled_from([1] * 9 + [0]))
            categories = data.draw(
                st.frozensets(st.sampled_from(all_categories), min_size=least, max_size=3)
            )
            purposes = data.draw(
                st.frozensets(st.sampled_from(all_purposes), min_size=least, max_size=2)
            )
            return Request(discloser, recipient, client, categories, purposes)

        def when(self, data: st.DataObject, near: ModelConsent | None) -> datetime:
            """Now, or an earlier instant on an edge of a consent's states (or just before it)."""
            if data.draw(st.booleans()):
                return self.clock
            consents = [near] if near is not None else self.model.consents
            moments = {self.started}
            edges = [c.instants() for c in consents] + [
                r.instants() for r in self.model.restrictions
            ]
            for instants in edges:
                for moment in instants:
                    moments.update({moment - ONE_MICROSECOND, moment})
            return data.draw(st.sampled_from(sorted(m for m in moments if m <= self.clock)))

        def expected(self, request: Request, at: datetime) -> list[ModelConsent]:
            return self.model.permitting(
                discloser=request.discloser,
                recipient=request.recipient,
                client=request.client,
                categories=request.categories,
                purposes=request.purposes,
                at=at,
            )

        @rule(data=st.data())
        def ask(self, data: st.DataObject) -> None:
            """Ask the gate, now or about an earlier instant; and now and then send for real."""
            request, near = self.request(data)
            if request.discloser == request.recipient:
                return
            self.check_decision(request, self.when(data, near))
            one_purpose = len(request.purposes) == 1 and request.categories
            if one_purpose and data.draw(st.booleans()):
                self.check_send(request)

        def check_decision(self, request: Request, at: datetime) -> None:
            session.rollback()
            decision = gate.decide(
                session,
                library,
                discloser=session.get(Provider, world.provider_ids[request.discloser]),
                recipient=session.get(Provider, world.provider_ids[request.recipient]),
                client=session.get(Client, self.clients[request.client].id),
                categories=request.categories,
                purposes=request.purposes,
                at=at,
            )
            expected = self.expected(request, at)
            assert decision.permitted == bool(expected), (request, at, decision.reason_codes)
            if expected:
                assert decision.consent_id in {c.row_id for c in expected}, (request, at)
                chosen = next(c for c in expected if c.row_id == decision.consent_id)
                latest = max(c.signed_at for c in expected if c.signed_at is not None)
                assert chosen.signed_at == latest, (request, at)
                assert decision.reasons == ()
                world.count("permit")
            else:
                assert decision.reasons, (request, at)
                world.count("deny")
            restricted = self.model.restricted(
                recipient=request.recipient,
                client=request.client,
                categories=request.categories,
                at=at,
            )
            if restricted and request.categories and request.purposes:
                # E8: whatever consents exist, the restriction is the reason
                assert decision.reason_codes == ["restricted_by_agreement"], (request, at)
                world.count("restricted")
            if at < self.clock:
                world.count("about the past")

        def check_send(self, request: Request) -> None:
            expected = self.expected(request, self.clock)
            before = session.scalar(select(func.count()).select_from(Message))
            (purpose,) = request.purposes
            outgoing = service.Outgoing(
                client_id=self.clients[request.client].id,
                recipient_provider_id=world.provider_ids[request.recipient],
                categories=tuple(sorted(request.categories)),
                purpose=purpose,
                subject="Update",
                body="Notes from this week.",
            )
            actor = world.people[request.discloser].actor
            if expected:
                message = service.send(session, actor, library, outgoing)
                assert message.consent_id in {c.row_id for c in expected}, request
                assert message.sent_at == self.clock
                world.count("send permitted")
            else:
                # NotFound: the sender has no tie to the client at all, which is a refusal too
                with pytest.raises((ConsentRequired, NotFound)):
                    service.send(session, actor, library, outgoing)
                world.count("send denied")
            session.rollback()
            after = session.scalar(select(func.count()).select_from(Message))
            assert after == before + (1 if expected else 0), request

    return GateMachine


def test_the_sensitive_categories_are_the_forms_flags(library):
    # The model names the sensitive categories itself; they must be the ones the forms flag
    flagged = {c.code for c in library.categories() if c.psychotherapy_notes}
    assert flagged == PSYCHOTHERAPY_NOTES
    assert {c.code for c in library.categories() if c.substance_use_disorder} == SUBSTANCE_USE


@pytest.mark.slow
def test_gate_matches_the_reference_model(session, library):
    # Given clinicians of three practices
    world = make_world(session, library)
    # When hypothesis runs grant / sign / revoke / expire / void / clock moves / decide / send
    run_state_machine_as_test(
        machine_for(session, world),
        settings=settings(
            max_examples=150,
            stateful_step_count=25,
            deadline=None,
            database=None,
            # the same examples every run: a random run now and then missed one of the cases
            # below (restricted: 0 of 150 examples once), failing a suite that was right
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # Then every answer matched (asserted at each step), and the run reached the cases E1 names
    reached = (
        "permit",
        "deny",
        "about the past",
        "send permitted",
        "send denied",
        "revoked",
        "expiry event",
        "moved to an expiry edge",
        "restriction agreed",
        "restriction ended",
        "restricted",
    )
    for seen in reached:
        assert world.stats.get(seen, 0) > 0, world.stats
