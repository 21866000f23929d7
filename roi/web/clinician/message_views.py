"""Messages between providers: compose with a live consent check, inbox, sent box, read, reply.

Every decision is the gate's, through `roi.messaging.service`: the compose page only shows what
the gate says (covered by which consent, or why not) and what the recipient would receive. The
same page works without JavaScript: "Check and preview" posts the form and renders the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import cast

from flask import Response as FlaskResponse
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from roi.accounts.models import Client
from roi.accounts.policy import Permission
from roi.audit.reasons import ReasonCode
from roi.consent import gate
from roi.consent import queries as consent_queries
from roi.consent.models import Consent
from roi.errors import ConsentRequired, Invalid, Throttled
from roi.extensions import db
from roi.i18n import N_
from roi.messaging import drafts, emergencies, queries, service
from roi.messaging.models import Message
from roi.web.clinician import bp
from roi.web.clinician.consent_forms import ActionForm
from roi.web.clinician.message_forms import ComposeForm, attachment_accept, attachment_help
from roi.web.forms import apply_errors, record_id
from roi.web.language import day, form_language, translated
from roi.web.scope import scope_line
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
INCOMPLETE = N_(
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
    #: "until 1 May 2027": how long the covering consent lasts, in the page's language
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
        drafts=drafts.drafts_for(session, me),
        discard=ActionForm(),
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
    if form.keep_draft.data:
        return _keep_draft(form, clients[outgoing.client_id], outgoing)
    if outgoing.emergency is not None and not form.emergency_confirmed.data:
        form.emergency_confirmed.errors = [
            _("Confirm the emergency: read what will be recorded, then tick the box.")
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
        apply_errors(form, _in_page_language(error, lambda name: name.replace(".", "_")))
        return _compose_page(form, dropped=outgoing.attachments), 422
    except Throttled as refusal:
        form.form_errors.append(translated(refusal.message))
        page = _compose_page(form, dropped=outgoing.attachments)
        return page, 429, {"Retry-After": str(refusal.retry_after_seconds)}
    drafts.sent_about(db.session(), actor(), outgoing.client_id)
    if message.emergency is not None:
        flash(
            _(
                "Sent to %(recipient)s as an emergency disclosure (%(citation)s). Compliance will "
                "review it.",
                recipient=message.recipient.name,
                citation=message.emergency.basis.citation,
            ),
            "success",
        )
    else:
        flash(
            _(
                "Sent to %(recipient)s under consent #%(consent)s.",
                recipient=message.recipient.name,
                consent=message.consent_id,
            ),
            "success",
        )
    return redirect(url_for("clinician.message_detail", message_id=message.id))


@bp.post("/messages/drafts/<int:draft_id>/discard")
@requires(Permission.SEND_MESSAGES)
def message_draft_discard(draft_id: int) -> Response:
    """Throw a kept draft away (CSRF is checked for every POST before the view runs)."""
    drafts.discard(db.session(), actor(), draft_id)
    flash(_("The draft is discarded."), "success")
    return redirect(url_for("clinician.messages"))


@bp.post("/messages/check")
@requires(Permission.CHECK_DISCLOSURE)
def message_check() -> FlaskResponse | tuple[FlaskResponse, int]:
    """The compose page's live check, as JSON: covered by which consent, or why not, with the
    panel's markup and the reason beside Send in the page's language."""
    form = ComposeForm()  # CSRF is checked for every POST before the view runs
    if not _ready_to_check(form):
        return jsonify(_checked(Coverage("incomplete", message=_(INCOMPLETE))))
    outgoing = _outgoing(form, with_files=False)
    client = consent_queries.client_for_disclosure(db.session(), actor(), outgoing.client_id)
    try:
        decision = service.check(db.session(), actor(), form_library(), outgoing.request())
    except Invalid as error:
        fields = {name: translated(why) for name, why in error.fields.items()}
        answer = Coverage("incomplete", message=" ".join(fields.values()))
        return jsonify({**_checked(answer), "fields": fields}), 422
    return jsonify(_checked(_coverage(decision, client, outgoing)))


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
        scope_line=scope_line,
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
    draft_id = request.args.get("draft", type=record_id)
    if draft_id:
        return _from_draft(draft_id)
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


def _from_draft(draft_id: int) -> dict[str, object]:
    """A kept draft, as the compose page starts from it."""
    kept = drafts.open_draft(db.session(), actor(), draft_id)
    draft = kept.draft
    return {
        "client_id": draft.client_id,
        "recipient_provider_id": draft.recipient_provider_id or 0,
        "categories": list(draft.categories),
        "purpose": draft.purpose,
        "subject": kept.subject,
        "body": kept.body,
        "reply_to": str(draft.reply_to_id or ""),
    }


def _keep_draft(
    form: ComposeForm, client: Client, outgoing: service.Outgoing
) -> Response | tuple[str, int]:
    """Keep the message as a draft and go to the release that would cover it."""
    link = _release_link(client, outgoing)
    if link is None:
        form.form_errors.append(_("Only the client's own practice can prepare a release for them."))
        return _compose_page(form, dropped=outgoing.attachments), 422
    drafts.keep(db.session(), actor(), outgoing)
    flash(
        _(
            "Your message is kept as a draft. Once the client has signed the release, choose "
            "“Continue your draft” on the client's page or on Messages."
        ),
        "success",
    )
    return redirect(link)


def _in_page_language(error: Invalid, rename: Callable[[str], str] = str) -> Invalid:
    """A service's refusal with its field names as the form has them, in the page's language."""
    return Invalid({rename(name): translated(why) for name, why in error.fields.items()})


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
    language = form_language()
    form.offer(
        list(clients.values()),
        recipients,
        library.categories(language),
        library.purposes(language),
    )
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
        apply_errors(form, _in_page_language(error))
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
        until=_until(decision.consent),
        scope_summary=scope_line(carried.scope_summary, decision.consent.id),
        part2_notice=carried.part2_notice,
        cautions=[
            _(
                "Restriction #%(number)s was ended by the practice: it still covers information "
                "created or received before it ended. Share only newer information.",
                number=number,
            )
            for number in decision.ended_by_practice
        ],
    )


def _until(consent: Consent) -> str:
    """How long a consent permits, in the page's language."""
    if consent.expires_on is not None:
        return _("until %(day)s", day=day(consent.expires_on))
    if consent.expiry_event:
        return _("until %(event)s", event=consent.expiry_event)
    return _("with no end recorded")


def _denied(
    client: Client, outgoing: service.Outgoing, reasons: list[dict[str, object]]
) -> Coverage:
    """A refusal with the gate's reasons (in the page's language) and the way to a release that
    would cover it."""
    # the gate's sentences are i18n.Message objects (str() would lose the catalogue id)
    shown = [{**reason, "message": translated(cast(str, reason["message"]))} for reason in reasons]
    if reasons and all(r["code"] == RESTRICTED for r in reasons):
        # no release helps: the client asked that this not be shared (164.522(a))
        return Coverage(
            "deny",
            reasons=shown,
            release_hint=_(
                "No release can cover this while the restriction holds. In an emergency, see "
                "“In an emergency” below."
            ),
        )
    link = _release_link(client, outgoing)
    if link is not None:
        return Coverage("deny", reasons=shown, release_url=link)
    # only the client's own practice prepares releases for them (consent_new is theirs)
    return Coverage(
        "deny",
        reasons=shown,
        release_hint=_(
            "Only %(practice)s can prepare a release for this client: ask them, or the client.",
            practice=client.organization.name,
        ),
    )


def _release_link(client: Client, outgoing: service.Outgoing) -> str | None:
    """Where to create the release that would cover `outgoing`, when the clinician's practice
    can (straight to the right kind of form, naming the recipient already)."""
    if not service.may_prepare_release(actor(), client):
        return None
    template = form_library().template_for(outgoing.categories)
    return url_for(
        "clinician.consent_new",
        client_id=client.id,
        template_id=template.id if template else None,
        recipient_provider_id=outgoing.recipient_provider_id or None,
    )


def _checked(coverage: Coverage) -> dict[str, object]:
    """The live check's answer: the coverage, the panel as the page shows it, and why Send is
    off (empty when it is not)."""
    return {
        **asdict(coverage),
        "html": render_template(
            "clinician/_message_coverage.html", coverage=coverage, incomplete=_(INCOMPLETE)
        ),
        "send_blocked": _send_blocked(coverage),
    }


def _send_blocked(coverage: Coverage | None) -> str:
    """The words beside a disabled Send: why no signed release covers the message."""
    if coverage is None or coverage.decision != "deny":
        return ""
    return _(
        "Send is off: %(reasons)s",
        reasons=" ".join(str(reason["message"]) for reason in coverage.reasons),
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
        attachment_help=attachment_help(),
        replying=form.reply_to_id() is not None,
        incomplete=_(INCOMPLETE),
        send_blocked=_send_blocked(coverage),
    )
