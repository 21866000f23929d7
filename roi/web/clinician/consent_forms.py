"""Release forms for clinicians: shape only; the completeness rules are the consent package's."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from roi.accounts.service import NewProvider
from roi.consent.library import FormTemplate
from roi.consent.lifecycle import MAX_DESCRIPTION, MAX_EVENT, MAX_REASON
from roi.consent.share_requests import AT_REQUEST
from roi.documents import attachments
from roi.web.forms import DayField, NameField, plain_text, record_id

#: the file input's `accept` (a convenience for the browser; the content is checked)
SCAN_ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class TemplateChoiceForm(FlaskForm):
    """Step 1: which kind of release. A GET form: the choice goes in the URL, no PHI."""

    class Meta:
        csrf = False

    template_id = SelectField(lazy_gettext("Kind of release"), validators=[DataRequired()])


class ConsentForm(FlaskForm):
    #: the client's request this release answers, when it answers one
    share_request_id = HiddenField(validators=[Optional()])
    recipient_provider_id = SelectField(
        lazy_gettext("Who may receive the information"), coerce=record_id, validators=[Optional()]
    )
    new_provider_name = NameField(lazy_gettext("Name"), validators=[Optional(), Length(max=200)])
    new_provider_credentials = StringField(
        lazy_gettext("Credentials"),
        validators=[Optional(), Length(max=100)],
        description=lazy_gettext("e.g. MD, LCSW"),
    )
    new_provider_organization = NameField(
        lazy_gettext("Practice or organization"), validators=[Optional(), Length(max=200)]
    )
    new_provider_address = StringField(
        lazy_gettext("Address"), validators=[Optional(), Length(max=500)]
    )
    new_provider_email = StringField(
        lazy_gettext("Email"), validators=[Optional(), Length(max=254), plain_text]
    )
    direction = RadioField(
        lazy_gettext("Direction"),
        choices=[
            SelectChoice("one_way", lazy_gettext("One-way: we may share with them")),
            SelectChoice("two_way", lazy_gettext("Two-way: we may share with each other")),
        ],
        default="one_way",
    )
    categories = CheckboxesField(
        lazy_gettext("Information that may be shared"), validators=[Optional()]
    )
    information_description = TextAreaField(
        lazy_gettext("Describe the information specifically"),
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        description=lazy_gettext(
            "For example: diagnosis, current medications and a treatment summary "
            "since January 2026."
        ),
    )
    purposes = CheckboxesField(lazy_gettext("Why it may be shared"), validators=[Optional()])
    expires_on = DayField(lazy_gettext("Expires on"), validators=[Optional()])
    expiry_event_kind = RadioField(
        lazy_gettext("…or expires at an event"),
        choices=[
            SelectChoice("", lazy_gettext("No event: the date only")),
            SelectChoice(
                "after_first_disclosure",
                lazy_gettext("After the first time it is shared (roi ends it then)"),
            ),
            SelectChoice(
                "end_of_treatment",
                lazy_gettext("At the end of treatment (ends when you record the discharge)"),
            ),
            SelectChoice(
                "other",
                lazy_gettext("Another event, described below (you record it when it happens)"),
            ),
        ],
        default="",
        validators=[Optional()],
    )
    expiry_event = StringField(
        lazy_gettext("The event, in words"),
        validators=[Optional(), Length(max=MAX_EVENT)],
        description=lazy_gettext(
            "Give a date, an event, or both (whichever comes first). Left blank for the "
            "first two events, roi words them."
        ),
    )
    signer_relationship = SelectField(
        lazy_gettext("Who will sign"),
        choices=[
            SelectChoice("self", lazy_gettext("The client")),
            SelectChoice("parent", lazy_gettext("A parent")),
            SelectChoice("guardian", lazy_gettext("A guardian")),
            SelectChoice("personal_representative", lazy_gettext("A personal representative")),
        ],
        default="self",
    )

    def new_recipient(self) -> NewProvider | None:
        """The provider typed in place, when the recipient is not in the directory yet."""
        if not (self.new_provider_name.data or "").strip():
            return None
        return NewProvider(
            name=self.new_provider_name.data or "",
            credentials=self.new_provider_credentials.data or "",
            organization=self.new_provider_organization.data or "",
            address=self.new_provider_address.data or "",
            email=self.new_provider_email.data or None,
        )

    def offer(
        self, template: FormTemplate, recipients: list[tuple[int, str]], *, at_request: bool
    ) -> None:
        """Fill the choices from the chosen form template and the directory; "at the request of
        the individual" is offered only on a release that answers the client's request."""
        self.categories.choices = [SelectChoice(c.code, c.label) for c in template.categories]
        self.purposes.choices = [
            SelectChoice(p.code, p.label)
            for p in template.purposes
            if at_request or p.code != AT_REQUEST
        ]
        self.recipient_provider_id.choices = [
            SelectChoice(0, lazy_gettext("Choose a provider…"))
        ] + [SelectChoice(pid, label) for pid, label in recipients]


class PaperConsentForm(ConsentForm):
    """A release signed on paper: its elements as on the paper, the signature, the scan."""

    signed_on = DayField(
        lazy_gettext("Date written beside the signature"), validators=[DataRequired()]
    )
    signer_name = NameField(
        lazy_gettext("Name of the person who signed"), validators=[DataRequired(), Length(max=200)]
    )
    representative_authority = StringField(
        lazy_gettext("Their authority to sign for the client"),
        validators=[Optional(), Length(max=500)],
        description=lazy_gettext("Only when a parent, guardian or personal representative signed."),
    )
    scan = FileField(
        lazy_gettext(
            "Scan of the signed paper (PDF, PNG or JPEG, under %(size)d MB)",
            size=attachments.MAX_SCAN_BYTES // attachments.MB,
        ),
        description=lazy_gettext(
            "Every page, signature included. The scan is kept sealed, and roi's "
            "record of the release carries it."
        ),
        render_kw={"accept": SCAN_ACCEPT},
    )


class ExpiryEventForm(FlaskForm):
    occurred_on = DayField(lazy_gettext("The event happened on"), validators=[DataRequired()])


class DischargeForm(FlaskForm):
    on = DayField(lazy_gettext("Treatment ended on"), validators=[DataRequired()])


class RevocationRecordForm(FlaskForm):
    """A revocation received outside roi, as staff record it."""

    method = SelectField(
        lazy_gettext("How it arrived"),
        choices=[
            SelectChoice("letter", lazy_gettext("Letter")),
            SelectChoice("fax", lazy_gettext("Fax")),
            SelectChoice("email", lazy_gettext("Email")),
            SelectChoice("in_person", lazy_gettext("In person, in writing")),
            SelectChoice("phone", lazy_gettext("Phone call")),
        ],
        validators=[DataRequired()],
    )
    received_on = DayField(lazy_gettext("Received on"), validators=[DataRequired()])
    reason = TextAreaField(
        lazy_gettext("Reason given (optional)"), validators=[Optional(), Length(max=MAX_REASON)]
    )
    document = FileField(
        lazy_gettext(
            "Scan of the letter, fax or email (PDF, PNG or JPEG, under %(size)d MB)",
            size=attachments.MAX_SCAN_BYTES // attachments.MB,
        ),
        description=lazy_gettext(
            "Optional for a phone call: the client is asked by email to confirm in writing."
        ),
        render_kw={"accept": SCAN_ACCEPT},
    )
    #: recording ends the release at once; a written confirmation of a phone call needs no tick
    confirmed = BooleanField(
        lazy_gettext(
            "I understand: from the moment I record it, this release permits no disclosure."
        )
    )


#: the value a confirmation page posts
YES = "yes"


class ConfirmForm(FlaskForm):
    """A step confirmed on its own page ("Looks right — send", "Void release #4")."""

    #: rendered as YES (`confirming()`); a post without it only shows the confirmation page
    confirmed = HiddenField()


def confirming() -> ConfirmForm:
    """The form a confirmation page posts: its token, and `confirmed` set."""
    return ConfirmForm(formdata=None, data={"confirmed": YES})


class ActionForm(FlaskForm):
    """No fields: the CSRF token is the point."""
