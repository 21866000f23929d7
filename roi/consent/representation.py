"""What decides who signs, as the practice records it: its state (an admin), and on a client
record whether a minor consented to their own care and who their personal representative is
(the clinician, with the authority document sealed). Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from roi import audit, vault
from roi.accounts.models import Client, ClientRepresentative, Organization, RepresentativeKind
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action
from roi.clock import local_day, now
from roi.consent.models import Consent
from roi.consent.queries import client_to_prepare_for, hold_client
from roi.consent.signers import SignerRule, SignerRules, age_on, required_signer, shipped_rules
from roi.db import unit_of_work
from roi.documents import attachments
from roi.errors import Invalid, NotFound


@dataclass(frozen=True)
class NewRepresentative:
    kind: RepresentativeKind
    name: str
    #: the document that gives them authority (a court order, a power of attorney): a scan
    document: attachments.Upload | None


def signer_rule(consent: Consent, day: date, rules: SignerRules | None = None) -> SignerRule:
    """Who must sign `consent` on `day`, under its practice's state."""
    state = (rules or shipped_rules()).for_state(consent.organization.state)
    return required_signer(consent.kind, consent.client, state, day)


def client_day(client: Client, moment: datetime) -> date:
    """The day `moment` falls on where the client lives (their time zone, else the practice's):
    a birthday, and with it who signs, comes at the client's midnight, not at UTC's (a 17-year-old
    in California would otherwise sign alone from 4 p.m. the day before they turn 18)."""
    return local_day(moment, client.time_zone or client.organization.time_zone or "UTC")


def signer_rule_of(consent: Consent) -> SignerRule:
    """The signer rule of `consent` as it stands: on its signing day once signed, else today."""
    rule = signer_rule(consent, client_day(consent.client, consent.signed_at or now()))
    if consent.required_signer is None or consent.required_signer is rule.who:
        return rule
    # the record changed since signing (a representative, a birthday): keep what was decided
    return SignerRule(consent.required_signer, rule.code, "As decided when it was signed.")


def set_practice_state(
    session: Session, actor: Actor, state: str | None, rules: SignerRules | None = None
) -> Organization:
    """An admin sets the state whose law decides who signs for the practice's minors.

    Raises:
        Forbidden: not an admin.
        Invalid: a state the rules file does not list.
    """
    require(actor, Permission.MANAGE_USERS)
    code = (state or "").strip().upper() or None
    if code is not None and code not in (rules or shipped_rules()).states:
        raise Invalid({"state": "Choose one of the listed states, or none (the default rule)."})
    with unit_of_work(session):
        organization = session.get(Organization, actor.organization_id)
        if organization is None:
            raise NotFound("organization")
        organization.state = code
        audit.record(session, actor, Action.ORGANIZATION_UPDATED, detail={"state": code or ""})
    return organization


def set_own_care_consent(
    session: Session, actor: Actor, client_id: int, value: bool, rules: SignerRules | None = None
) -> Client:
    """Record whether a minor client consented to their own care under state law.

    Raises:
        NotFound: not a client of the actor's practice.
        Invalid: the client is an adult, or state law lets no minor of this age consent (the
            statute is named).
    """
    require(actor, Permission.PREPARE_CONSENT)
    with unit_of_work(session):
        client = client_to_prepare_for(session, actor, client_id)
        hold_client(session, client.id)  # takes turns with a signature being written
        if value:
            _check_own_care(client, (rules or shipped_rules()), client_day(client, now()))
        client.own_care_consent = value
        audit.record(
            session,
            actor,
            Action.CLIENT_UPDATED,
            client_id=client.id,
            detail={"own_care_consent": value},
        )
    return client


def record_representative(
    session: Session, actor: Actor, client_id: int, new: NewRepresentative
) -> ClientRepresentative:
    """Record the client's personal representative with their authority document (sealed); it
    replaces the one on record.

    Raises:
        NotFound: not a client of the actor's practice.
        Invalid: no name, or the document is missing, too large or not a PDF, PNG or JPEG.
    """
    require(actor, Permission.PREPARE_CONSENT)
    document = _checked_representative(new)
    with unit_of_work(session):
        client = client_to_prepare_for(session, actor, client_id)
        hold_client(session, client.id)  # takes turns with a signature being written
        _end_current(session, client.id)
        row = ClientRepresentative(
            client_id=client.id,
            kind=new.kind,
            name=new.name.strip(),
            document_sealed=b"",
            document_type=document.content_type,
            recorded_by_id=actor.user_id,
        )
        session.add(row)
        session.flush()
        row.document_sealed = vault.seal(
            document.content, vault.Place("client_representatives", "document_sealed", row.uuid)
        )
        audit.record(
            session,
            actor,
            Action.CLIENT_REPRESENTATIVE_RECORDED,
            client_id=client.id,
            detail={"kind": new.kind.value, "representative_id": row.id},
        )
    return row


def end_representative(session: Session, actor: Actor, client_id: int) -> None:
    """The client's personal representative no longer acts for them (kept on record, ended).

    Raises:
        NotFound: not a client of the actor's practice.
    """
    require(actor, Permission.PREPARE_CONSENT)
    with unit_of_work(session):
        client = client_to_prepare_for(session, actor, client_id)
        hold_client(session, client.id)  # takes turns with a signature being written
        _end_current(session, client.id)
        audit.record(session, actor, Action.CLIENT_REPRESENTATIVE_ENDED, client_id=client.id)


def _end_current(session: Session, client_id: int) -> None:
    session.execute(
        update(ClientRepresentative)
        .where(ClientRepresentative.client_id == client_id, ClientRepresentative.ended_at.is_(None))
        .values(ended_at=now())
    )


def _check_own_care(client: Client, rules: SignerRules, day: date) -> None:
    state = rules.for_state(client.organization.state)
    age = age_on(client.birth_date, day)
    if age >= state.age_of_majority:
        raise Invalid(
            {"own_care_consent": f"{client.given_name} is an adult: adults sign for themselves."}
        )
    # the mental-health law only: the flag decides who signs releases other than Part 2, whose
    # signer the substance-use age decides by itself (signers.required_signer)
    minimum = state.mental_health_age
    if minimum is None or age < minimum:
        cited = (
            f" (from {minimum}: {state.mental_health_citation})."
            if minimum is not None
            else " (no minor may, under this rule)."
        )
        raise Invalid(
            {
                "own_care_consent": f"State law in {state.name} does not let a minor of "
                f"{age} consent to their own mental-health care" + cited
            }
        )


def _checked_representative(new: NewRepresentative) -> attachments.Upload:
    """The authority document of a representative whose record is complete.

    Raises:
        Invalid: no name, no document, or a document that is not an acceptable scan.
    """
    problems: dict[str, str] = {}
    if not new.name.strip() or len(new.name.strip()) > 200:
        problems["name"] = "Give the representative's full name."
    document = new.document
    why = (
        "Attach the document that gives them authority."
        if document is None
        else attachments.scan_problem(document)
    )
    if why is not None:
        problems["document"] = why
    if problems or document is None:
        raise Invalid(problems)
    return document
