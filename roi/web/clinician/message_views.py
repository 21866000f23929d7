"""Messages between providers: compose with a live consent check, inbox, sent box, read, reply.

Every decision is the gate's, through `roi.messaging.service`: the compose page only shows what
the gate says (covered by which consent, or why not) and what the recipient would receive. The
same page works without JavaScript: "Check and preview" posts the form and renders the answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from flask import Response as FlaskResponse
from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from roi.accounts.models import Client
from roi.accounts.policy import Permission
from roi.audit.reasons import ReasonCode
from roi.consent import gate
from roi.consent import queries as consent_queries
from roi.errors import ConsentRequired, Invalid, Throttled
from roi.extensions import db
from roi.messaging import emergencies, queries, service
from roi.messaging.models import Message
from roi.web.clinician import bp
from roi.web.clinician.message_forms import ComposeForm, attachment_accept
from roi.web.forms import apply_errors, record_id
from roi.web.security import actor, form_library, requires
from roi.web.uploads import uploaded

#: the generic name a download gets: the real file name may name the client (PHI) and would
#: otherwise land in a response header, the browser's download list and proxy logs
DOWNLOAD_ENDINGS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "text/plain": "txt",
}
RESTRICTED = ReasonCode.RESTRICTED_BY_AGREEMENT.value
INCOMPLETE = (
    "Choose the client, the recipient, what the message carries and why, to see whether a "
    "signed release covers it."
)


@dataclass(frozen=True)
class Row:
    """One line of the inbox or the sent box."""

    message: Message
    subject: str
    #: the sender in the inbox, the recipient in the sent box
    other: str
    unread: bool


@dataclass(frozen=True)
class Coverage:
    """What the gate said about a message, in the words the compose page shows."""

    decision: str  # permit | deny | incomplete
    consent_id: int | None = None
    consent_url: str | None = None
    #: "until 2027-05-01": how long the covering consent lasts
    until: str | None = None
    reasons: list[dict[str, object]] = field(default_factory=list)
    #: where to create the missing release, when the clinician's practice can
    release_url: str | None = None
    #: said instead when the client belongs to another practice
    release_hint: str | None = None
    scope_summary: str | None = None
    part2_notice: str | None = None
    message: str | None = None
    #: on permit: restrictions the practice ended, which still cover older information
    cautions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Preview:
    """Exactly what the recipient would receive."""

    subject: str
    body: str
    filenames: list[str]
    scope_summary: str | None
    part2_notice: str | None


@bp.get("/messages")
@requires(Permission.READ_MESSAGES)
def messages() -> str:
    """The inbox, or the sent box with ?box=sent. Listing shows subjects only and is not
    audited; opening a message is."""
    box = queries.Box.SENT if request.args.get("box") == queries.Box.SENT else queries.Box.INBOX
    session, me = db.session(), actor()
    rows = [
        Row(
            message=m,
            subject=service.subject_of(m),
            other=m.sender_provider.name if box is queries.Box.INBOX else m.recipient.name,
            unread=box is queries.Box.INBOX and m.read_at is None,
        )
        for m in queries.messages_for(session, me, box)
    ]
    return render_template(
        "clinician/messages.html",
        box=box.value,
        rows=rows,
        unread=queries.unread_count(session, me),
    )


@bp.route("/messages/new", methods=["GET", "POST"])
@requires(Permission.SEND_MESSAGES)
def message_compose() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Write a message (or a reply); it goes out only if a consent covers it when sent."""
    if request.method == "GET":
        form = ComposeForm(data=_prefill())
        _offer(form)
        return _compose_page(form)
    form = ComposeForm()
    clients = _offer(form)
    if not form.validate_on_submit():
        return _compose_page(form), 422
    outgoing = _outgoing(form)
    if form.check.data:
        return _check_and_preview(form, clients, outgoing)
    if outgoing.emergency is not None and not form.emergency_confirmed.data:
        form.emergency_confirmed.errors = [
            "Confirm the emergency: read what will be recorded, then tick the box."
        ]
        return _compose_page(form, dropped=outgoing.attachments), 422
    try:
        message = service.send(db.session(), actor(), form_library(), outgoing)
    except ConsentRequired as refusal:
        coverage = _denied(clients[outgoing.client_id], outgoing, refusal.reasons)
        return _compose_page(
            form, coverage=coverage, refused=True, dropped=outgoing.attachments
        ), 403
    except Invalid as error:
        # the service names emergency fields "emergency.<name>", the form "emergency_<name>"
        apply_errors(form, Invalid({k.replace(".", "_"): v for k, v in error.fields.items()}))
        return _compose_page(form, dropped=outgoing.attachments), 422
    except Throttled as refusal:
        form.form_errors.append(refusal.message)
        page = _compose_page(form, dropped=outgoing.attachments)
        return page, 429, {"Retry-After": str(refusal.retry_after_seconds)}
    if message.emergency is not None:
        flash(
            f"Sent to {message.recipient.name} as an emergency disclosure "
            f"({message.emergency.basis.citation}). Compliance will review it.",
            "success",
        )
    else:
        flash(f"Sent to {message.recipient.name} under consent #{message.consent_id}.", "success")
    return redirect(url_for("clinician.message_detail", message_id=message.id))


@bp.post("/messages/check")
@requires(Permission.CHECK_DISCLOSURE)
def message_check() -> FlaskResponse | tuple[FlaskResponse, int]:
    """The compose page's live check, as JSON: covered by which consent, or why not."""
    form = ComposeForm()  # CSRF is checked for every POST before the view runs
    if not _ready_to_check(form):
        return jsonify(asdict(Coverage("incomplete", message=INCOMPLETE)))
    outgoing = _outgoing(form, with_files=False)
    client = consent_queries.client_for_disclosure(db.session(), actor(), outgoing.client_id)
    try:
        decision = service.check(db.session(), actor(), form_library(), outgoing.request())
    except Invalid as error:
        answer = Coverage("incomplete", message=" ".join(error.fields.values()))
        return jsonify({**asdict(answer), "fields": error.fields}), 422
    return jsonify(asdict(_coverage(decision, client, outgoing)))


@bp.get("/messages/<int:message_id>")
@requires(Permission.READ_MESSAGES)
def message_detail(message_id: int) -> str:
    """Open one message (audited as message.read; the recipient's first reading marks it read)."""
    opened = service.open_message(db.session(), actor(), message_id)
    return render_template(
        "clinician/message.html",
        opened=opened,
        message=opened.message,
        received=opened.message.sender_user_id != actor().user_id,
    )


@bp.get("/messages/<int:message_id>/attachments/<int:attachment_id>")
@requires(Permission.READ_MESSAGES)
def message_attachment(message_id: int, attachment_id: int) -> FlaskResponse:
    """One attached file, as a download under a generic name (audited as message.read)."""
    found, content = service.attachment_content(db.session(), actor(), message_id, attachment_id)
    ending = DOWNLOAD_ENDINGS.get(found.content_type, "bin")
    response = FlaskResponse(content, mimetype=found.content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="attachment-{found.id}.{ending}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- compose ---------------------------------------------------------------------------------


def _prefill() -> dict[str, object]:
    """What the compose page starts with: a reply's conversation, or ids from the link."""
    reply_to = request.args.get("reply_to", type=record_id)
    if reply_to is None:
        return {
            "client_id": request.args.get("client_id", type=record_id) or 0,
            "recipient_provider_id": request.args.get("recipient_provider_id", type=record_id) or 0,
        }
    reply = service.reply(db.session(), actor(), reply_to)
    return {
        "client_id": reply.client_id,
        "recipient_provider_id": reply.recipient_provider_id,
        "categories": list(reply.categories),
        "purpose": reply.purpose,
        "subject": reply.subject,
        "reply_to": str(reply.reply_to_id),
    }


def _offer(form: ComposeForm) -> dict[int, Client]:
    """Fill the form's choices; returns the offered clients by id.

    The clients are those the clinician may see, plus the chosen one when the clinician may
    disclose about it without seeing it in the list (a reply under a consent that has since
    ended): the gate then says why it is refused. Any other client id is a 404.
    """
    session, me = db.session(), actor()
    clients = {c.id: c for c in consent_queries.clients_for(session, me)}
    chosen = form.client_id.data
    if chosen and chosen not in clients:
        clients[chosen] = consent_queries.client_for_disclosure(session, me, chosen)
    library = form_library()
    recipients = service.recipients(session, me)
    form.offer(list(clients.values()), recipients, library.categories(), library.purposes())
    return clients


def _ready_to_check(form: ComposeForm) -> bool:
    return bool(
        form.client_id.data
        and form.recipient_provider_id.data
        and form.categories.data
        and form.purpose.data
    )


def _outgoing(form: ComposeForm, *, with_files: bool = True) -> service.Outgoing:
    return service.Outgoing(
        client_id=form.client_id.data or 0,
        recipient_provider_id=form.recipient_provider_id.data or 0,
        categories=tuple(form.categories.data or ()),
        purpose=form.purpose.data or "",
        subject=form.subject.data or "",
        body=form.body.data or "",
        attachments=_attachments() if with_files else (),
        reply_to_id=form.reply_to_id(),
        emergency=_emergency(form) if form.emergency.data else None,
    )


def _emergency(form: ComposeForm) -> emergencies.EmergencyStatement:
    return emergencies.EmergencyStatement(
        basis=form.emergency_basis.data or "",
        nature=form.emergency_nature.data or "",
        recipient_personnel=form.emergency_recipient_personnel.data or "",
        client_not_told_reason=form.emergency_client_not_told_reason.data or "",
    )


def _attachments() -> tuple[service.NewAttachment, ...]:
    """The chosen files, as the service checks them."""
    return tuple(uploaded(f) for f in request.files.getlist("attachments") if f.filename)


def _check_and_preview(
    form: ComposeForm, clients: dict[int, Client], outgoing: service.Outgoing
) -> str | tuple[str, int]:
    """The no-JavaScript path: ask the gate (audited as decision.checked) and show the answer
    with the preview, without sending."""
    try:
        decision = service.check(db.session(), actor(), form_library(), outgoing.request())
    except Invalid as error:
        apply_errors(form, error)
        return _compose_page(form, dropped=outgoing.attachments), 422
    coverage = _coverage(decision, clients[outgoing.client_id], outgoing)
    preview = Preview(
        subject=outgoing.subject.strip(),
        body=outgoing.body,
        filenames=[a.filename for a in outgoing.attachments],
        scope_summary=coverage.scope_summary,
        part2_notice=coverage.part2_notice,
    )
    return _compose_page(
        form,
        coverage=coverage,
        preview=preview if decision.permitted else None,
        dropped=outgoing.attachments,
    )


def _coverage(decision: gate.Decision, client: Client, outgoing: service.Outgoing) -> Coverage:
    if decision.consent is None:
        reasons = [reason.as_json() for reason in decision.reasons]
        return _denied(client, outgoing, reasons)
    carried = service.envelope(form_library(), decision.consent, outgoing)
    return Coverage(
        "permit",
        consent_id=decision.consent.id,
        consent_url=url_for("clinician.consent_detail", consent_id=decision.consent.id),
        until=gate.covers_until(decision.consent),
        scope_summary=carried.scope_summary,
        part2_notice=carried.part2_notice,
        cautions=[
            f"Restriction #{number} was ended by the practice: it still covers information "
            "created or received before it ended. Share only newer information."
            for number in decision.ended_by_practice
        ],
    )


def _denied(
    client: Client, outgoing: service.Outgoing, reasons: list[dict[str, object]]
) -> Coverage:
    """A refusal with the gate's reasons and the way to a release that would cover it."""
    if reasons and all(r["code"] == RESTRICTED for r in reasons):
        # no release helps: the client asked that this not be shared (164.522(a))
        return Coverage(
            "deny",
            reasons=reasons,
            release_hint="No release can cover this while the restriction holds. In an "
            "emergency, see “In an emergency” below.",
        )
    if service.may_prepare_release(actor(), client):
        template = form_library().template_for(outgoing.categories)
        template_id = template.id if template else None
        recipient = outgoing.recipient_provider_id or None
        link = url_for(
            "clinician.consent_new", client_id=client.id, recipient_provider_id=recipient
        )
        if template_id:
            # straight to the right kind of release form (the new-release page's own GET form)
            link = url_for(
                "clinician.consent_new",
                client_id=client.id,
                template_id=template_id,
                recipient_provider_id=recipient,
            )
        return Coverage("deny", reasons=reasons, release_url=link)
    # only the client's own practice prepares releases for them (consent_new is theirs)
    return Coverage(
        "deny",
        reasons=reasons,
        release_hint=f"Only {client.organization.name} can prepare a release for this client: "
        "ask them, or the client.",
    )


def _compose_page(
    form: ComposeForm,
    *,
    coverage: Coverage | None = None,
    preview: Preview | None = None,
    refused: bool = False,
    dropped: tuple[service.NewAttachment, ...] = (),
) -> str:
    """The compose page; `dropped` are files that came with a post the page now re-renders
    (browsers never re-fill a file input, so the page names the files to choose again)."""
    return render_template(
        "clinician/message_compose.html",
        form=form,
        coverage=coverage,
        preview=preview,
        refused=refused,
        dropped=[a.filename for a in dropped],
        accept=attachment_accept(),
        replying=form.reply_to_id() is not None,
        incomplete=INCOMPLETE,
    )
