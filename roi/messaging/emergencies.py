"""Emergency disclosures on the sending side: what the clinician states, the record 42 CFR 2.51(c)
requires (sealed where it holds free text), the client's notice, and the practice's rate.

`roi.messaging.service.send` calls these inside its own transaction, after the gate permitted
the disclosure under the emergency basis (`roi.consent.gate.decide`); nothing here decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roi import audit, i18n, vault
from roi.accounts.models import Client, Organization, Provider
from roi.actor import Actor
from roi.audit import Action, Outcome
from roi.consent.client_notices import tell_client
from roi.consent.emergency import (
    MAX_NATURE,
    MAX_NOT_TOLD_REASON,
    MAX_PERSONNEL,
    Emergency,
    EmergencyBasis,
)
from roi.db import insert_rows, new_uuid
from roi.errors import Throttled
from roi.i18n import N_
from roi.messaging import notices
from roi.messaging.models import EmergencyDisclosure, Message

#: the window of the practice's emergency rate (`Organization.emergency_sends_per_day`)
WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class EmergencyStatement:
    """What a clinician states to send without a consent, as typed (checked by `send`): the
    basis, the nature of the emergency, the receiving personnel, and why the client is not to
    be told of it, if they are not."""

    basis: str
    nature: str
    recipient_personnel: str
    client_not_told_reason: str = ""

    def emergency(self) -> Emergency:
        """The gate's input; call once `problems` found none."""
        return Emergency(
            EmergencyBasis.of(self.basis), self.nature.strip(), self.recipient_personnel.strip()
        )


@dataclass(frozen=True)
class OpenedEmergency:
    """An emergency disclosure's record with its sealed parts opened."""

    id: int
    basis: EmergencyBasis
    nature: str
    recipient_personnel: str
    at: datetime
    client_told: bool


def problems(statement: EmergencyStatement) -> dict[str, str]:
    """What an emergency statement lacks, each under `emergency.<field>` (42 CFR 2.51(c))."""
    found: dict[str, str] = {}
    if statement.basis not in {basis.value for basis in EmergencyBasis}:
        found["emergency.basis"] = N_(
            "Choose the basis: a medical emergency (42 CFR 2.51) or a serious and imminent "
            "threat (45 CFR 164.512(j))."
        )
    texts = (
        ("nature", statement.nature, MAX_NATURE, N_("State the nature of the emergency.")),
        (
            "recipient_personnel",
            statement.recipient_personnel,
            MAX_PERSONNEL,
            N_("Name the personnel who receive the information."),
        ),
        ("client_not_told_reason", statement.client_not_told_reason, MAX_NOT_TOLD_REASON, ""),
    )
    for name, text, longest, missing in texts:
        if missing and not text.strip():
            found[f"emergency.{name}"] = missing
        elif len(text) > longest:
            found[f"emergency.{name}"] = i18n.Message(
                "Keep this under %(most)s characters.", most=format(longest, ",")
            )
        elif "\x00" in text:
            found[f"emergency.{name}"] = N_("This contains a character that cannot be stored.")
    return found


def record(
    session: Session,
    actor: Actor,
    *,
    message: Message,
    statement: EmergencyStatement,
    client: Client,
    discloser: Provider,
    recipient: Provider,
) -> EmergencyDisclosure:
    """The record 42 CFR 2.51(c) requires, its audit entry, and the client's notice unless the
    clinician said why not; all in the send's transaction."""
    emergency = statement.emergency()
    uuid = new_uuid()
    reason = statement.client_not_told_reason.strip()
    told = not reason and _tell_client(session, client, discloser)
    record = EmergencyDisclosure(
        uuid=uuid,
        message=message,
        client_id=client.id,
        organization_id=client.organization_id,
        sender_user_id=actor.user_id,
        sender_provider_id=discloser.id,
        recipient_provider_id=recipient.id,
        basis=emergency.basis,
        nature_sealed=vault.seal(
            emergency.nature.encode(), vault.Place("emergency_disclosures", "nature_sealed", uuid)
        ),
        recipient_personnel_sealed=vault.seal(
            emergency.recipient_personnel.encode(),
            vault.Place("emergency_disclosures", "recipient_personnel_sealed", uuid),
        ),
        client_not_told_reason_sealed=vault.seal(
            reason.encode(),
            vault.Place("emergency_disclosures", "client_not_told_reason_sealed", uuid),
        )
        if reason
        else None,
        client_told=told,
        at=message.sent_at,
    )
    insert_rows(session, record)  # its id, for the audit entry; written as the message was
    audit.record(
        session,
        actor,
        Action.DISCLOSURE_EMERGENCY,
        outcome=Outcome.PERMIT,
        client_id=client.id,
        recipient_provider_id=recipient.id,
        message_id=message.id,
        categories=message.categories,
        purpose=message.purpose,
        detail={"basis": emergency.basis.value, "emergency_disclosure_id": record.id},
    )
    return record


def _tell_client(session: Session, client: Client, discloser: Provider) -> bool:
    """Tell the client information about them was shared in an emergency; whether there was
    anyone to tell."""
    return tell_client(
        session,
        client,
        i18n.Message(
            "%(practice)s shared information about you without your consent because of an "
            "emergency. It is listed in your record of disclosures.",
            practice=discloser.organization_name,
        ),
        notices.emergency_disclosure_mail,
    )


def rate_refusal(
    session: Session,
    actor: Actor,
    *,
    client: Client,
    discloser: Provider,
    recipient: Provider,
    at: datetime,
) -> Throttled | None:
    """The refusal when the sender reached the practice's emergency rate, with its alert to
    compliance written; None below it."""
    # the sender's directory entry is locked first, so two sends of one clinician count in turn
    # (after the consents and restrictions: the order every send locks in); FOR NO KEY UPDATE,
    # so other sends naming this clinician are not held up (roi.audit.record's `writing`)
    session.execute(
        select(Provider.id).where(Provider.id == discloser.id).with_for_update(key_share=True)
    )
    limit = session.scalar(
        select(Organization.emergency_sends_per_day).where(
            Organization.id == client.organization_id
        )
    )
    since = at - WINDOW
    sent, oldest = session.execute(
        select(func.count(), func.min(EmergencyDisclosure.at)).where(
            EmergencyDisclosure.sender_user_id == actor.user_id, EmergencyDisclosure.at > since
        )
    ).one()
    if limit is None or sent < limit:
        return None
    audit.record(
        session,
        actor,
        Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED,
        outcome=Outcome.DENY,
        client_id=client.id,
        recipient_provider_id=recipient.id,
        detail={"limit": limit, "sent": sent},
    )
    retry = max(int((oldest + WINDOW - at).total_seconds()) + 1, 1)
    return Throttled(
        f"You have sent {sent} emergency disclosures in the last 24 hours, your practice's "
        "limit. Compliance has been alerted; ask them if this emergency cannot wait.",
        retry,
    )


def open_emergency(record: EmergencyDisclosure) -> OpenedEmergency:
    """An emergency disclosure's record, its nature and receiving personnel opened."""
    return OpenedEmergency(
        id=record.id,
        basis=record.basis,
        nature=emergency_text(record, "nature_sealed"),
        recipient_personnel=emergency_text(record, "recipient_personnel_sealed"),
        at=record.at,
        client_told=record.client_told,
    )


def emergency_text(record: EmergencyDisclosure, column: str) -> str:
    """One sealed text of an emergency disclosure's record, opened ("" when none was given)."""
    sealed: bytes | None = getattr(record, column)
    if sealed is None:
        return ""
    return vault.open_sealed(
        sealed, vault.Place("emergency_disclosures", column, record.uuid)
    ).decode()
