"""Sending and reading messages. `send()` is the only code that creates a `Message`.

One transaction per send: lock the consents that could permit it, ask the gate, then either store
the sealed message with its `disclosure.permitted` audit entry, or record `disclosure.denied` with
the reasons and store nothing. The two commit together or not at all (SECURITY G3), and a
revocation that committed first denies the send (E2, E5). `check()` asks the same gate for the
compose page and the API without disclosing anything, and is audited as `decision.checked`.

An emergency send passes the emergency basis to the same gate. When it permits, the message, its
`EmergencyDisclosure` record and the `disclosure.emergency` audit entry commit together, with the
client's notice unless the clinician recorded why not. A clinician above the practice's emergency
rate is refused before the gate is asked, and compliance is alerted by the audit entry
`disclosure.emergency_rate_exceeded`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, load_only

from roi import audit, i18n, mail, vault
from roi.accounts.models import Client, Provider, User
from roi.accounts.policy import Permission, manages_consent, require
from roi.accounts.service import providers
from roi.actor import Actor
from roi.audit import Action, Outcome
from roi.clock import now
from roi.consent import gate
from roi.consent.emergency import (
    Emergency,
)
from roi.consent.library import FormLibrary, TemplateKind
from roi.consent.models import Consent, Notification
from roi.consent.queries import DISCLOSABLE_CLIENT, disclosure_client, disclosure_parameters
from roi.db import insert_rows, new_uuid, unit_of_work
from roi.documents import attachments
from roi.errors import ConsentRequired, Invalid, NotFound, Throttled
from roi.i18n import N_
from roi.mail.models import OutboxItem
from roi.messaging import emergencies, notices
from roi.messaging.models import Attachment, Message
from roi.messaging.queries import message_for

MAX_SUBJECT = 200
MAX_BODY = 20_000
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
#: all files of one message together (in base64 in the API, well within the request limit)
MAX_TOTAL_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: what a clinical attachment may be (checked on its content by roi.documents.attachments)
ATTACHMENT_TYPES = attachments.TYPES
NewAttachment = attachments.Upload


@dataclass(frozen=True)
class Request:
    """What a clinician asks to disclose: about whom, to whom, what and why."""

    client_id: int
    recipient_provider_id: int
    categories: tuple[str, ...]
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class Outgoing:
    """A message as the sender wrote it; `emergency` to send without a consent."""

    client_id: int
    recipient_provider_id: int
    categories: tuple[str, ...]
    purpose: str
    subject: str
    body: str
    attachments: tuple[NewAttachment, ...] = ()
    reply_to_id: int | None = None
    emergency: emergencies.EmergencyStatement | None = None

    def request(self) -> Request:
        return Request(self.client_id, self.recipient_provider_id, self.categories, (self.purpose,))


@dataclass(frozen=True)
class Envelope:
    """What travels with a message for the recipient: the consent's id and scope, and the
    42 CFR 2.32 notice when it carries substance-use-disorder records."""

    consent_id: int | None
    scope_summary: str
    part2_notice: str | None


@dataclass(frozen=True)
class Opened:
    """A message with its sealed parts opened, for the sender or the recipient."""

    message: Message
    subject: str
    body: str
    attachments: list[OpenedAttachment] = field(default_factory=list)
    emergency: emergencies.OpenedEmergency | None = None


@dataclass(frozen=True)
class OpenedAttachment:
    id: int
    filename: str
    content_type: str
    size: int


def check(session: Session, actor: Actor, library: FormLibrary, request: Request) -> gate.Decision:
    """Would this disclosure be permitted now? Nothing is disclosed; the check is audited.

    Raises:
        Forbidden: the actor may not disclose (not a clinician).
        NotFound: the client is not one the actor may see.
        Invalid: the recipient is unknown, or a category or purpose is not one any form offers.
    """
    require(actor, Permission.CHECK_DISCLOSURE)
    _check_terms(library, request.categories, request.purposes)
    with unit_of_work(session):
        parties = _parties(session, actor, request)
        decision = gate.decide(
            session,
            library,
            discloser=parties.discloser,
            recipient=parties.recipient,
            client=parties.client,
            categories=request.categories,
            purposes=request.purposes,
            at=now(),
        )
        audit.record(
            session,
            actor,
            Action.DECISION_CHECKED,
            outcome=Outcome.PERMIT if decision.permitted else Outcome.DENY,
            client_id=parties.client.id,
            consent_id=decision.consent_id,
            recipient_provider_id=parties.recipient.id,
            categories=request.categories,
            purpose=",".join(sorted(set(request.purposes))),
            reasons=decision.reason_codes,
        )
    return decision


def envelope(library: FormLibrary, consent: Consent, outgoing: Outgoing) -> Envelope:
    """The consent line and notices a message sent under `consent` carries."""
    template = library.get(consent.template_id, consent.template_version)
    labels = {c.code: c.label for c in library.categories()}
    purposes = {p.code: p.label for p in library.purposes()}
    # the scope of the consent, not of this message (42 CFR 2.32(b)): what the recipient may
    # receive under it, and why
    what = ", ".join(labels.get(code, code) for code in consent.categories)
    why = "; ".join(f'"{purposes.get(code, code)}"' for code in consent.purposes)
    # purpose labels are written to the client ("Your treatment ..."), so they are quoted
    summary = (
        f"Shared under consent #{consent.id} ({template.title}), which covers: {what}. "
        f"Purposes the client agreed to: {why}. Valid {gate.covers_until(consent)}."
    )
    carries_sud = any(
        c.substance_use_disorder for c in library.categories() if c.code in outgoing.categories
    )
    notice = None
    if carries_sud or consent.kind == TemplateKind.PART2:
        statement = template.statement("part2_notice")
        notice = template.fill(
            statement.text,
            discloser_organization=consent.organization.name,
            recipient_name=consent.recipient.name,
        )
    return Envelope(consent_id=consent.id, scope_summary=summary, part2_notice=notice)


def send(session: Session, actor: Actor, library: FormLibrary, outgoing: Outgoing) -> Message:
    """Disclose `outgoing` if the gate permits it now; otherwise record the denial.

    Raises:
        ConsentRequired: the gate denied it (the denial and its reasons are in the audit log).
        Forbidden: the actor may not send messages.
        NotFound: the client or the message replied to is not one the actor may see.
        Invalid: a field is missing, too long, or an attachment is not acceptable.
    """
    require(actor, Permission.SEND_MESSAGES)
    _check_outgoing(library, outgoing)
    emergency = outgoing.emergency.emergency() if outgoing.emergency else None
    denied: gate.Decision | None = None
    throttled: Throttled | None = None
    # Who is involved is resolved before the write transaction, which on SQLite holds the
    # database's one write lock: only the decision and the writes need to be inside it.
    parties = _parties(session, actor, outgoing.request())
    if outgoing.reply_to_id is not None:
        _check_reply(session, actor, outgoing, parties)
    # Sealed before the write transaction too: the row's uuid is all the seals bind to. The
    # recipient's notice and mail are written out now as well (translating and sealing need no
    # database), so the transaction, on SQLite the one writer at a time, only adds them.
    sealed = _sealed(outgoing)
    told = _notices(parties)
    with _kept_loaded(session), unit_of_work(session):
        locked = gate.lock_candidates(
            session, discloser=parties.discloser, recipient=parties.recipient, client=parties.client
        )
        at = now()
        if emergency is not None:
            # refused before the gate is asked: the alert is the only thing written
            throttled = emergencies.rate_refusal(
                session,
                actor,
                client=parties.client,
                discloser=parties.discloser,
                recipient=parties.recipient,
                at=at,
            )
        if throttled is None:
            decision = gate.decide(
                session,
                library,
                discloser=parties.discloser,
                recipient=parties.recipient,
                client=parties.client,
                categories=outgoing.categories,
                purposes=(outgoing.purpose,),
                at=at,
                emergency=emergency,
                locked=locked,
            )
            if decision.permitted:
                message = _store(session, actor, library, outgoing, parties, sealed, told, decision)
            else:
                _audit_denied(session, actor, outgoing, parties, decision)
                denied = decision
    if throttled is not None:
        raise throttled
    if denied is not None:
        raise ConsentRequired([reason.as_json() for reason in denied.reasons])
    return message


def open_message(session: Session, actor: Actor, message_id: int) -> Opened:
    """Open a message the actor sent or received; audited as `message.read`.

    The recipient's first reading is recorded on the message.

    Raises:
        NotFound: not the actor's message.
        IntegrityFailure: a sealed part does not open (fails closed).
    """
    with unit_of_work(session):
        return _read(session, actor, message_for(session, actor, message_id))


def as_sent(message: Message, outgoing: Outgoing) -> Opened:
    """The message just sent, for the sender's confirmation (the sender wrote it: no reading)."""
    return Opened(
        message=message,
        subject=outgoing.subject.strip(),
        body=outgoing.body,
        attachments=[_opened_attachment(a) for a in message.attachments],
        # only an emergency send has a record (already in memory): no statement to look for one
        emergency=emergencies.open_emergency(message.emergency)
        if outgoing.emergency is not None and message.emergency
        else None,
    )


def open_messages(session: Session, actor: Actor, messages: Sequence[Message]) -> list[Opened]:
    """Open several messages at once (the API's list); each reading is audited."""
    with unit_of_work(session):
        return [_read(session, actor, message) for message in messages]


def subject_of(message: Message) -> str:
    """The subject alone, for a list of messages (opening the body is what is audited)."""
    return vault.open_sealed(message.subject_sealed, _place(message, "subject_sealed")).decode()


def attachment_content(
    session: Session, actor: Actor, message_id: int, attachment_id: int
) -> tuple[OpenedAttachment, bytes]:
    """One attachment of a message the actor sent or received; audited as `message.read`.

    Raises:
        NotFound: not the actor's message, or no such attachment on it.
    """
    with unit_of_work(session):
        message = message_for(session, actor, message_id)
        found = next((a for a in message.attachments if a.id == attachment_id), None)
        if found is None:
            raise NotFound("attachment")
        content = vault.open_sealed(
            found.content_sealed, vault.Place("message_attachments", "content_sealed", found.uuid)
        )
        _audit_read(session, actor, message, detail={"attachment_id": found.id})
    return _opened_attachment(found), content


#: a clinician without a directory entry cannot be the sender of anything
_NO_DIRECTORY_ENTRY = N_("Your account has no provider directory entry.")
#: both directory entries, the actor's own and the recipient, each with its account's address
#: (the send's new-message mail needs no statement of its own), and the client beside each. Only
#: the columns a send uses: the client's name and birth date stay in the database (the minimum
#: necessary), and each column not read is one less to convert on every send. Their way to be told
#: is read, as an emergency send tells them (`roi.consent.client_notices.tell_client`).
_PARTY_PROVIDERS = (
    select(Provider, User.email, User.organization_id, User.language, Client)
    .outerjoin(User, User.id == Provider.user_id)
    .outerjoin(Client, DISCLOSABLE_CLIENT)
    .where(or_(Provider.user_id == bindparam("user_id"), Provider.id == bindparam("recipient_id")))
    .options(
        load_only(
            Provider.id,
            Provider.name,
            Provider.organization_id,
            Provider.organization_name,
            Provider.user_id,
        ),
        load_only(Client.id, Client.organization_id, Client.user_id, Client.email, Client.language),
    )
)


@dataclass(frozen=True)
class _Account:
    """Where a provider's roi account is told of a new message by mail."""

    email: str | None
    organization_id: int | None
    #: the language the account reads (None: English)
    language: str | None = None


@dataclass(frozen=True)
class _Parties:
    discloser: Provider
    recipient: Provider
    client: Client
    #: the recipient's account (None: the provider has none)
    recipient_account: _Account | None = None


def _parties(session: Session, actor: Actor, request: Request) -> _Parties:
    found = session.execute(
        _PARTY_PROVIDERS,
        {
            **disclosure_parameters(actor, request.client_id),
            "recipient_id": request.recipient_provider_id,
        },
    ).all()
    discloser = next((p for p, *_ in found if p.user_id == actor.user_id), None)
    if discloser is None:
        raise Invalid({"discloser": _NO_DIRECTORY_ENTRY})
    client = disclosure_client(actor, found[0].Client)
    recipient, account = next(
        (
            (p, _Account(email, org, language))
            for p, email, org, language, _ in found
            if p.id == request.recipient_provider_id
        ),
        (None, None),
    )
    if recipient is None:
        raise Invalid({"recipient_provider_id": N_("No such provider in the directory.")})
    if recipient.id == discloser.id:
        raise Invalid({"recipient_provider_id": N_("Choose someone other than yourself.")})
    if recipient.user_id is None:
        raise Invalid(
            {
                "recipient_provider_id": i18n.Message(
                    "%(name)s has no roi account, so cannot receive messages here.",
                    name=recipient.name,
                )
            }
        )
    return _Parties(
        discloser=discloser,
        recipient=recipient,
        client=client,
        recipient_account=account if recipient.user_id is not None else None,
    )


@dataclass(frozen=True)
class Reply:
    """A reply as it starts: to the other person in the conversation, about the same client,
    carrying the same information for the same purpose, under "Re:" the same subject."""

    reply_to_id: int
    client_id: int
    recipient_provider_id: int
    categories: tuple[str, ...]
    purpose: str
    subject: str


def reply(session: Session, actor: Actor, message_id: int) -> Reply:
    """How a reply to message `message_id` starts (nothing is written).

    Raises:
        NotFound: not a message the actor sent or received.
    """
    original = message_for(session, actor, message_id)
    subject = subject_of(original)
    return Reply(
        reply_to_id=original.id,
        client_id=original.client_id,
        recipient_provider_id=_other_party(original, actor),
        categories=tuple(original.categories),
        purpose=original.purpose,
        subject=subject if subject.lower().startswith("re:") else f"Re: {subject}",
    )


def recipients(session: Session, actor: Actor) -> list[Provider]:
    """Directory entries a message can go to: those with a roi account, except the actor's."""
    return [
        provider
        for provider in providers(session, actor)
        if provider.user_id is not None and provider.user_id != actor.user_id
    ]


def may_prepare_release(actor: Actor, client: Client) -> bool:
    """Whether the actor's practice can prepare a release for `client` (only the client's own
    practice does), so a refusal can lead straight to the missing release."""
    return manages_consent(actor, client.organization_id)


def _other_party(message: Message, actor: Actor) -> int:
    """The directory entry of the other person in a message's conversation."""
    if message.sender_user_id == actor.user_id:
        return message.recipient_provider_id
    return message.sender_provider_id


def _check_reply(session: Session, actor: Actor, outgoing: Outgoing, parties: _Parties) -> None:
    assert outgoing.reply_to_id is not None  # noqa: S101 - the caller checked
    original = message_for(session, actor, outgoing.reply_to_id)
    if (
        original.client_id != parties.client.id
        or _other_party(original, actor) != parties.recipient.id
    ):
        raise Invalid(
            {
                "reply_to_id": N_(
                    "A reply goes to the other person in that conversation, about the same client."
                )
            }
        )


@dataclass(frozen=True)
class _Sealed:
    """A message's sealed parts, bound to the row's uuid before the row is written."""

    uuid: str
    subject: bytes
    body: bytes
    attachments: list[Attachment]


def _sealed(outgoing: Outgoing) -> _Sealed:
    uuid = new_uuid()
    attachments = []
    for new in outgoing.attachments:
        row = new_uuid()
        attachments.append(
            Attachment(
                uuid=row,
                content_type=new.content_type,
                size=len(new.content),
                sha256=hashlib.sha256(new.content).hexdigest(),
                filename_sealed=vault.seal(
                    new.filename.encode(),
                    vault.Place("message_attachments", "filename_sealed", row),
                ),
                content_sealed=vault.seal(
                    new.content, vault.Place("message_attachments", "content_sealed", row)
                ),
            )
        )
    return _Sealed(
        uuid=uuid,
        subject=vault.seal(
            outgoing.subject.strip().encode(), vault.Place("messages", "subject_sealed", uuid)
        ),
        body=vault.seal(outgoing.body.encode(), vault.Place("messages", "body_sealed", uuid)),
        attachments=attachments,
    )


@contextmanager
def _kept_loaded(session: Session) -> Iterator[None]:
    """Keep loaded objects loaded across the commits of a send.

    The parties are read before the write transaction for their ids and names only, and the
    message sent is answered from memory, so reloading them after each commit would only cost
    statements. The consents, whose state is what the send re-checks, are read afresh under the
    lock by the gate whatever the session holds.
    """
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = expiring


def _store(
    session: Session,
    actor: Actor,
    library: FormLibrary,
    outgoing: Outgoing,
    parties: _Parties,
    sealed: _Sealed,
    told: _Notices,
    decision: gate.Decision,
) -> Message:
    if decision.consent is not None:
        carried = envelope(library, decision.consent, outgoing)
    else:
        assert decision.emergency is not None  # noqa: S101 - the gate permits with one or other
        carried = emergency_envelope(
            library, decision.emergency, outgoing.categories, parties.discloser, parties.recipient
        )
    message = Message(
        uuid=sealed.uuid,
        # the rows themselves, not only their ids: the session does not hold the message
        # (roi.db.insert_rows), so what the sender's page reads of it must be in memory
        client=parties.client,
        consent=decision.consent,
        sender_user_id=actor.user_id,
        sender_provider=parties.discloser,
        recipient=parties.recipient,
        reply_to_id=outgoing.reply_to_id,
        categories=sorted(set(outgoing.categories)),
        purpose=outgoing.purpose,
        subject_sealed=sealed.subject,
        body_sealed=sealed.body,
        scope_summary=carried.scope_summary,
        part2_notice=carried.part2_notice,
        sent_at=decision.at,
        read_at=None,
        attachments=sealed.attachments,
    )
    rows = (*told.rows(decision.consent_id), message, *message.attachments)
    if outgoing.emergency is not None:
        insert_rows(session, *rows)
        emergencies.record(
            session,
            actor,
            message=message,
            statement=outgoing.emergency,
            client=parties.client,
            discloser=parties.discloser,
            recipient=parties.recipient,
        )
        return message
    # counted before the audit entries: roi.audit.record writes the consent's change before it
    # takes the audit head, which every writer then waits on until COMMIT
    used_up = gate.use(decision)
    audit.record(
        session,
        actor,
        Action.DISCLOSURE_PERMITTED,
        outcome=Outcome.PERMIT,
        client_id=parties.client.id,
        consent_id=decision.consent_id,
        recipient_provider_id=parties.recipient.id,
        message_id=message,
        categories=outgoing.categories,
        purpose=outgoing.purpose,
        # in the statement that takes the audit head: one round trip less
        writing=rows,
    )
    if used_up is not None:
        audit.record(
            session,
            actor,
            Action.CONSENT_EXPIRED,
            client_id=used_up.client_id,
            consent_id=used_up.id,
            message_id=message.id,
            detail={
                "event": "after_first_disclosure",
                "occurred_on": str(used_up.expiry_event_occurred_on),  # set by gate.use
            },
        )
    return message


def _audit_denied(
    session: Session,
    actor: Actor,
    outgoing: Outgoing,
    parties: _Parties,
    decision: gate.Decision,
) -> None:
    emergency = outgoing.emergency
    audit.record(
        session,
        actor,
        Action.DISCLOSURE_DENIED,
        outcome=Outcome.DENY,
        client_id=parties.client.id,
        consent_id=decision.nearest_consent_id,
        recipient_provider_id=parties.recipient.id,
        categories=outgoing.categories,
        purpose=outgoing.purpose,
        reasons=decision.reason_codes,
        detail={"basis": emergency.basis} if emergency else None,
    )


def emergency_envelope(
    library: FormLibrary,
    emergency: Emergency,
    categories: Sequence[str],
    discloser: Provider,
    recipient: Provider,
) -> Envelope:
    """The banner an emergency message carries, and the 42 CFR 2.32 notice when it carries
    substance-use-disorder records (the notice goes with every such disclosure, consented or
    not)."""
    notice = None
    carried = [c.code for c in library.categories() if c.substance_use_disorder]
    # the Part 2 form's notice whenever a substance-use category goes, whatever else goes with it
    form = library.template_for(set(carried) & set(categories))
    if form is not None and form.kind == TemplateKind.PART2:
        notice = form.fill(
            form.statement("part2_notice").text,
            discloser_organization=discloser.organization_name,
            recipient_name=recipient.name,
        )
    return Envelope(consent_id=None, scope_summary=emergency.basis.banner, part2_notice=notice)


@dataclass(frozen=True)
class _Notices:
    """What tells the recipient's account of a new message: a notice in roi and a mail through
    the outbox, written only with a permitted send, in its transaction."""

    notification: Notification | None = None
    mail: OutboxItem | None = None

    def rows(self, consent_id: int | None) -> list[Notification | OutboxItem]:
        """The rows to write with a send permitted under `consent_id`."""
        if self.notification is not None:
            self.notification.consent_id = consent_id
        return [row for row in (self.notification, self.mail) if row is not None]


def _notices(parties: _Parties) -> _Notices:
    if parties.recipient.user_id is None:
        return _Notices()
    account = parties.recipient_account
    language = account.language if account else None
    # names the sender only: the notice is shown before anyone opens the message; kept as a
    # message (pages show it in their reader's language), its text in the recipient's
    notification = Notification.saying(
        parties.recipient.user_id,
        i18n.Message("New message from %(sender)s.", sender=parties.discloser.name),
        language,
    )
    if account is None or not account.email:
        return _Notices(notification)
    told_by_mail = notices.new_message_mail(account.email, parties.discloser.name, language)
    return _Notices(
        notification, mail.outbox_item(told_by_mail, organization_id=account.organization_id)
    )


def _read(session: Session, actor: Actor, message: Message) -> Opened:
    """Open a message inside the caller's transaction, audited; the recipient's first reading
    is kept on the message."""
    opened = _open(message)
    if message.read_at is None and message.sender_user_id != actor.user_id:
        message.read_at = now()
    _audit_read(session, actor, message)
    return opened


def _audit_read(
    session: Session, actor: Actor, message: Message, detail: dict[str, int] | None = None
) -> None:
    audit.record(
        session,
        actor,
        Action.MESSAGE_READ,
        client_id=message.client_id,
        consent_id=message.consent_id,
        recipient_provider_id=message.recipient_provider_id,
        message_id=message.id,
        detail=detail,
    )


def _place(message: Message, column: str) -> vault.Place:
    return vault.Place("messages", column, message.uuid)


def _open(message: Message) -> Opened:
    return Opened(
        message=message,
        subject=subject_of(message),
        body=vault.open_sealed(message.body_sealed, _place(message, "body_sealed")).decode(),
        attachments=[_opened_attachment(a) for a in message.attachments],
        emergency=emergencies.open_emergency(message.emergency) if message.emergency else None,
    )


def _opened_attachment(attachment: Attachment) -> OpenedAttachment:
    filename = vault.open_sealed(
        attachment.filename_sealed,
        vault.Place("message_attachments", "filename_sealed", attachment.uuid),
    ).decode()
    return OpenedAttachment(
        id=attachment.id,
        filename=filename,
        content_type=attachment.content_type,
        size=attachment.size,
    )


def _check_terms(library: FormLibrary, categories: Sequence[str], purposes: Sequence[str]) -> None:
    problems: dict[str, str] = {}
    known_categories = {c.code for c in library.categories()}
    known_purposes = {p.code for p in library.purposes()}
    unknown = [code for code in categories if code not in known_categories]
    if not categories:
        problems["categories"] = N_("Choose at least one kind of information.")
    elif unknown:
        problems["categories"] = i18n.Message(
            "Not a category any release form offers: %(codes)s.", codes=", ".join(unknown)
        )
    if not purposes:
        problems["purpose"] = N_("Choose why you are sharing this.")
    elif any(code not in known_purposes for code in purposes):
        problems["purpose"] = N_("Not a purpose any release form offers.")
    if problems:
        raise Invalid(problems)


def _check_outgoing(library: FormLibrary, outgoing: Outgoing) -> None:
    problems: dict[str, str] = {}
    try:
        _check_terms(library, outgoing.categories, (outgoing.purpose,) if outgoing.purpose else ())
    except Invalid as error:
        problems.update(error.fields)
    subject = outgoing.subject.strip()
    if not subject:
        problems["subject"] = N_("Write a subject.")
    elif len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
        problems["subject"] = i18n.Message(
            "Keep the subject to one line under %(most)d characters.", most=MAX_SUBJECT
        )
    if not outgoing.body.strip():
        problems["body"] = N_("Write the message.")
    elif len(outgoing.body) > MAX_BODY:
        problems["body"] = i18n.Message(
            "Keep the message under %(most)s characters, or attach a file.",
            most=format(MAX_BODY, ","),
        )
    problem = _attachment_problem(outgoing.attachments)
    if problem:
        problems["attachments"] = problem
    for name, text in (("subject", outgoing.subject), ("body", outgoing.body)):
        if "\x00" in text:
            problems[name] = N_("This contains a character that cannot be stored.")
    if outgoing.emergency is not None:
        problems.update(emergencies.problems(outgoing.emergency))
    if problems:
        raise Invalid(problems)


def _attachment_problem(new_files: Sequence[NewAttachment]) -> str | None:
    """What is wrong with these files (count, size, then each file's name and type, checked
    by content in roi.documents.attachments), or None."""
    if len(new_files) > MAX_ATTACHMENTS:
        return i18n.Message("Attach at most %(most)d files.", most=MAX_ATTACHMENTS)
    if sum(len(new.content) for new in new_files) > MAX_TOTAL_ATTACHMENT_BYTES:
        return i18n.Message(
            "Attach at most %(most)d MB in all.", most=MAX_TOTAL_ATTACHMENT_BYTES // (1024 * 1024)
        )
    for new in new_files:
        problem = attachments.problem(new, max_bytes=MAX_ATTACHMENT_BYTES)
        if problem:
            return problem
    return None
