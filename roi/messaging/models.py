"""Messages between providers about a client, and their attachments.

A message exists only because the gate permitted it: `consent_id` is the consent it went out
under, or, for an emergency disclosure, its `EmergencyDisclosure` says under which basis of law it
went out without one; `scope_summary` and `part2_notice` are what the recipient was shown with
it, fixed at the moment it was sent. Subject, body, attachment names and contents are sealed by
`roi.vault`, and so are the emergency's nature and receiving personnel (they can hold PHI).

A `MessageDraft` is a message that could not go out yet, kept while its author creates the release
it needs: never sent, seen by its author only, its subject and body sealed like a message's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roi.accounts.models import Client, Provider, User
from roi.consent.emergency import EmergencyBasis
from roi.consent.models import Consent
from roi.db import Base, UTCDateTime, new_uuid, str_enum

SEALED = {"sealed": True}


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_recipient_provider_id_sent_at", "recipient_provider_id", "sent_at"),
        Index("ix_messages_sender_provider_id_sent_at", "sender_provider_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: the consent the gate permitted this message under; None for an emergency disclosure
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"), index=True)
    sender_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sender_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    recipient_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    #: the message this one answers; a reply is gated in its own direction
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(60))
    #: sealed by roi.vault (Place("messages", "<column>", uuid))
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    #: one line naming the consent and its scope, as the recipient saw it (no free text)
    scope_summary: Mapped[str] = mapped_column(Text)
    #: the 42 CFR 2.32 notice, when the message carries substance-use-disorder records
    part2_notice: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: when the recipient first opened it
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[Client] = relationship()
    consent: Mapped[Consent | None] = relationship()
    sender: Mapped[User] = relationship()
    sender_provider: Mapped[Provider] = relationship(foreign_keys=[sender_provider_id])
    recipient: Mapped[Provider] = relationship(foreign_keys=[recipient_provider_id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id"
    )
    emergency: Mapped[EmergencyDisclosure | None] = relationship(
        back_populates="message", uselist=False
    )


class Attachment(Base):
    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    #: one of messaging.service.ATTACHMENT_TYPES
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    #: a file name can name the client, so it is sealed with the content
    filename_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)

    message: Mapped[Message] = relationship(back_populates="attachments")


class EmergencyDisclosure(Base):
    """A message sent without a consent under an emergency basis: what 42 CFR 2.51(c) requires
    documented (basis, nature, receiving personnel, sender, date and time), written in the
    message's transaction with its `disclosure.emergency` audit entry, then reviewed by
    compliance of the sender's organization."""

    __tablename__ = "emergency_disclosures"
    __table_args__ = (
        Index(
            "ix_emergency_disclosures_organization_id_reviewed_at", "organization_id", "reviewed_at"
        ),
        Index("ix_emergency_disclosures_sender_user_id_at", "sender_user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: the sender's organization (the client's: only its clinicians disclose in an emergency)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    sender_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sender_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    recipient_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    basis: Mapped[EmergencyBasis] = mapped_column(str_enum(EmergencyBasis, 30))
    #: sealed by roi.vault (Place("emergency_disclosures", "<column>", uuid))
    nature_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    recipient_personnel_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: why the client is not told of it, when the clinician recorded why (sealed); otherwise the
    #: client got a portal notice and a mail in the send's transaction
    client_not_told_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    client_told: Mapped[bool] = mapped_column(default=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the compliance officer's note (sealed: it may discuss the emergency)
    review_note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)

    message: Mapped[Message] = relationship(back_populates="emergency")
    client: Mapped[Client] = relationship()
    sender_provider: Mapped[Provider] = relationship(foreign_keys=[sender_provider_id])
    recipient: Mapped[Provider] = relationship(foreign_keys=[recipient_provider_id])


class MessageDraft(Base):
    """A message kept while its author creates the release it needs: one per author and client."""

    __tablename__ = "message_drafts"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    recipient_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(60))
    #: sealed by roi.vault (Place("message_drafts", "<column>", uuid))
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())

    client: Mapped[Client] = relationship()
    recipient: Mapped[Provider | None] = relationship()
