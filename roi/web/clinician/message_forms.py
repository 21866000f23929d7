"""The compose form: shape only. Whether a message may go out is the gate's, and whether its
fields and files are acceptable is `roi.messaging.service`'s, so the form offers choices but
does not judge them (a client id that is not the clinician's is a 404 from the service)."""

from __future__ import annotations

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
from roi.messaging.service import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_TOTAL_ATTACHMENT_BYTES,
)
from roi.web.clinician.consent_forms import CheckboxesField
from roi.web.forms import record_id

#: how the help text names each accepted type, and the file endings a browser may offer
TYPE_NAMES = {
    "application/pdf": ("PDF", ".pdf"),
    "image/png": ("PNG", ".png"),
    "image/jpeg": ("JPEG", ".jpg,.jpeg"),
    "text/plain": ("plain text", ".txt"),
}
MB = 1024 * 1024


def attachment_help() -> str:
    """The limits, in words, from the service's own constants."""
    names = [TYPE_NAMES.get(t, (t, ""))[0] for t in ATTACHMENT_TYPES]
    kinds = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return (
        f"Up to {MAX_ATTACHMENTS} files: {kinds}, each under {MAX_ATTACHMENT_BYTES // MB} MB "
        f"and {MAX_TOTAL_ATTACHMENT_BYTES // MB} MB in all."
    )


def attachment_accept() -> str:
    """The `accept` attribute of the file input (a convenience; the service checks content)."""
    endings = [TYPE_NAMES.get(t, ("", ""))[1] for t in ATTACHMENT_TYPES]
    return ",".join([*ATTACHMENT_TYPES, *(e for e in endings if e)])


class ComposeForm(FlaskForm):
    client_id = SelectField(
        "Client",
        coerce=record_id,
        validate_choice=False,
        validators=[DataRequired("Choose the client this message is about.")],
    )
    recipient_provider_id = SelectField(
        "To",
        coerce=record_id,
        validate_choice=False,
        validators=[DataRequired("Choose who receives it.")],
        description="Providers with a roi account. Others are reached by a release and your "
        "usual channels.",
    )
    categories = CheckboxesField(
        "What information the message carries", validate_choice=False, validators=[Optional()]
    )
    purpose = SelectField("Why you are sharing it", validate_choice=False)
    subject = StringField(
        "Subject",
        description="Seen in the recipient's inbox. The email telling them a message is "
        "waiting never includes it.",
    )
    body = TextAreaField("Message")
    attachments = MultipleFileField("Attachments", description=attachment_help())
    #: the message answered; a reply is gated in its own direction by the service
    reply_to = HiddenField()
    #: send without a release under an emergency basis; the service checks each field
    emergency = BooleanField("This is an emergency: send without a release")
    emergency_basis = RadioField(
        "Basis",
        choices=[
            SelectChoice(basis.value, f"{basis.label} ({basis.citation})")
            for basis in EmergencyBasis
        ],
        validate_choice=False,
        validators=[Optional()],
    )
    emergency_nature = TextAreaField(
        "Nature of the emergency",
        description="What is happening, and why it cannot wait for the client's consent.",
    )
    emergency_recipient_personnel = StringField(
        "Receiving personnel",
        description="Who receives the information: names and roles.",
    )
    emergency_client_not_told_reason = TextAreaField(
        "Why the client should not be told (optional)",
        description="Leave empty and the client gets a notice in their portal and an email "
        "that says only that a disclosure was recorded.",
    )
    emergency_confirmed = BooleanField("I confirm this is an emergency, and what will be recorded")
    check = SubmitField("Check and preview")
    send = SubmitField("Send")

    def offer(
        self,
        clients: list[Client],
        recipients: list[Provider],
        categories: list[Category],
        purposes: list[Purpose],
    ) -> None:
        """Fill the choices: the clinician's clients, the directory, the library's terms."""
        self.client_id.choices = [SelectChoice(0, "Choose a client…")] + [
            SelectChoice(c.id, f"{c.family_name}, {c.given_name} (born {c.birth_date.isoformat()})")
            for c in clients
        ]
        self.recipient_provider_id.choices = [SelectChoice(0, "Choose a provider…")] + [
            SelectChoice(p.id, provider_label(p)) for p in recipients
        ]
        self.categories.choices = [SelectChoice(c.code, category_label(c)) for c in categories]
        self.purpose.choices = [SelectChoice("", "Choose a purpose…")] + [
            SelectChoice(p.code, p.label) for p in purposes
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
        return f"{category.label} (needs its own psychotherapy-notes release)"
    if category.substance_use_disorder:
        return f"{category.label} (needs its own 42 CFR Part 2 consent)"
    return category.label
