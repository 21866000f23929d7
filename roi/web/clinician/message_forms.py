"""The compose form: shape only. Whether a message may go out is the gate's, and whether its
fields and files are acceptable is `roi.messaging.service`'s, so the form offers choices but
does not judge them (a client id that is not the clinician's is a 404 from the service)."""

from __future__ import annotations

from flask_babel import format_date, lazy_gettext
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from roi.accounts.models import Client, Provider
from roi.consent.emergency import EmergencyBasis
from roi.consent.library import Category, Purpose
from roi.i18n import N_
from roi.messaging.service import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_SUBJECT,
    MAX_TOTAL_ATTACHMENT_BYTES,
)
from roi.web.clinician.consent_forms import CheckboxesField
from roi.web.forms import record_id
from roi.web.language import translated

#: how the help text names each accepted type, and the file endings a browser may offer
TYPE_NAMES = {
    "application/pdf": ("PDF", ".pdf"),
    "image/png": ("PNG", ".png"),
    "image/jpeg": ("JPEG", ".jpg,.jpeg"),
    "text/plain": (N_("plain text"), ".txt"),
}
MB = 1024 * 1024


def attachment_help() -> str:
    """The limits, in words of the page's language, from the service's own constants."""
    names = [_(TYPE_NAMES.get(t, (t, ""))[0]) for t in ATTACHMENT_TYPES]
    kinds = (
        _("%(some)s or %(last)s", some=", ".join(names[:-1]), last=names[-1])
        if len(names) > 1
        else names[0]
    )
    return _(
        "Up to %(count)d files: %(kinds)s, each under %(each)d MB and %(total)d MB in all.",
        count=MAX_ATTACHMENTS,
        kinds=kinds,
        each=MAX_ATTACHMENT_BYTES // MB,
        total=MAX_TOTAL_ATTACHMENT_BYTES // MB,
    )


def attachment_accept() -> str:
    """The `accept` attribute of the file input (a convenience; the service checks content)."""
    endings = [TYPE_NAMES.get(t, ("", ""))[1] for t in ATTACHMENT_TYPES]
    return ",".join([*ATTACHMENT_TYPES, *(e for e in endings if e)])


class ComposeForm(FlaskForm):
    client_id = SelectField(
        lazy_gettext("Client"),
        coerce=record_id,
        validate_choice=False,
        validators=[DataRequired(lazy_gettext("Choose the client this message is about."))],
    )
    recipient_provider_id = SelectField(
        lazy_gettext("To"),
        coerce=record_id,
        validate_choice=False,
        validators=[DataRequired(lazy_gettext("Choose who receives it."))],
        description=lazy_gettext(
            "Providers with a roi account. Others are reached by a release and your usual channels."
        ),
    )
    categories = CheckboxesField(
        lazy_gettext("What information the message carries"),
        validate_choice=False,
        validators=[Optional()],
    )
    purpose = SelectField(lazy_gettext("Why you are sharing it"), validate_choice=False)
    subject = StringField(
        lazy_gettext("Subject"),
        description=lazy_gettext(
            "Seen in the recipient's inbox. The email telling them a message is waiting never "
            "includes it."
        ),
        # the box stops where the service would refuse (it still checks)
        render_kw={"maxlength": MAX_SUBJECT},
    )
    body = TextAreaField(lazy_gettext("Message"))
    attachments = MultipleFileField(lazy_gettext("Attachments"))
    #: the message answered; a reply is gated in its own direction by the service
    reply_to = HiddenField()
    #: send without a release under an emergency basis; the service checks each field
    emergency = BooleanField(lazy_gettext("This is an emergency: send without a release"))
    emergency_basis = RadioField(
        lazy_gettext("Basis"),
        validate_choice=False,
        validators=[Optional()],
    )
    emergency_nature = TextAreaField(
        lazy_gettext("Nature of the emergency"),
        description=lazy_gettext(
            "What is happening, and why it cannot wait for the client's consent."
        ),
    )
    emergency_recipient_personnel = StringField(
        lazy_gettext("Receiving personnel"),
        description=lazy_gettext("Who receives the information: names and roles."),
    )
    emergency_client_not_told_reason = TextAreaField(
        lazy_gettext("Why the client should not be told (optional)"),
        description=lazy_gettext(
            "Leave empty and the client gets a notice in their portal and an email that says "
            "only that a disclosure was recorded."
        ),
    )
    emergency_confirmed = BooleanField(
        lazy_gettext("I confirm this is an emergency, and what will be recorded")
    )
    check = SubmitField(lazy_gettext("Check and preview"))
    send = SubmitField(lazy_gettext("Send"))
    #: keep the message as a draft on the server and go to the release that would cover it
    keep_draft = SubmitField(lazy_gettext("Create a release for this client"))

    def offer(
        self,
        clients: list[Client],
        recipients: list[Provider],
        categories: list[Category],
        purposes: list[Purpose],
    ) -> None:
        """Fill the choices: the clinician's clients, the directory, the library's terms."""
        self.client_id.choices = [SelectChoice(0, _("Choose a client…"))] + [
            SelectChoice(
                c.id,
                _(
                    "%(family)s, %(given)s (born %(born)s)",
                    family=c.family_name,
                    given=c.given_name,
                    born=format_date(c.birth_date, "medium"),
                ),
            )
            for c in clients
        ]
        self.recipient_provider_id.choices = [SelectChoice(0, _("Choose a provider…"))] + [
            SelectChoice(p.id, provider_label(p)) for p in recipients
        ]
        self.categories.choices = [SelectChoice(c.code, category_label(c)) for c in categories]
        self.purpose.choices = [SelectChoice("", _("Choose a purpose…"))] + [
            SelectChoice(p.code, p.label) for p in purposes
        ]
        self.emergency_basis.choices = [
            SelectChoice(
                basis.value,
                _(
                    "%(basis)s (%(citation)s)",
                    basis=translated(basis.label),
                    citation=basis.citation,
                ),
            )
            for basis in EmergencyBasis
        ]

    def reply_to_id(self) -> int | None:
        # a tampered field (not a number, "²", beyond any id) is no reply, not a server error
        try:
            return record_id((self.reply_to.data or "").strip()) or None
        except ValueError:
            return None


def provider_label(provider: Provider) -> str:
    credentials = f", {provider.credentials}" if provider.credentials else ""
    return f"{provider.name}{credentials} — {provider.organization_name}"


def category_label(category: Category) -> str:
    # 164.508(a)(2) and 42 CFR 2.31: these pass the gate only under their own kind of release
    if category.psychotherapy_notes:
        return _("%(label)s (needs its own psychotherapy-notes release)", label=category.label)
    if category.substance_use_disorder:
        return _("%(label)s (needs its own 42 CFR Part 2 consent)", label=category.label)
    return category.label
