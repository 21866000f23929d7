"""Release forms for clinicians: shape only; the completeness rules are the consent package's."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
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

    template_id = SelectField("Kind of release", validators=[DataRequired()])


class ConsentForm(FlaskForm):
    #: the client's request this release answers, when it answers one
    share_request_id = HiddenField(validators=[Optional()])
    recipient_provider_id = SelectField(
        "Who may receive the information", coerce=record_id, validators=[Optional()]
    )
    new_provider_name = NameField("Name", validators=[Optional(), Length(max=200)])
    new_provider_credentials = StringField(
        "Credentials", validators=[Optional(), Length(max=100)], description="e.g. MD, LCSW"
    )
    new_provider_organization = NameField(
        "Practice or organization", validators=[Optional(), Length(max=200)]
    )
    new_provider_address = StringField("Address", validators=[Optional(), Length(max=500)])
    new_provider_email = StringField("Email", validators=[Optional(), Length(max=254), plain_text])
    direction = RadioField(
        "Direction",
        choices=[
            SelectChoice("one_way", "One-way: we may share with them"),
            SelectChoice("two_way", "Two-way: we may share with each other"),
        ],
        default="one_way",
    )
    categories = CheckboxesField("Information that may be shared", validators=[Optional()])
    information_description = TextAreaField(
        "Describe the information specifically",
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        description="For example: diagnosis, current medications and a treatment summary "
        "since January 2026.",
    )
    purposes = CheckboxesField("Why it may be shared", validators=[Optional()])
    expires_on = DayField("Expires on", validators=[Optional()])
    expiry_event_kind = RadioField(
        "…or expires at an event",
        choices=[
            SelectChoice("", "No event: the date only"),
            SelectChoice(
                "after_first_disclosure", "After the first time it is shared (roi ends it then)"
            ),
            SelectChoice(
                "end_of_treatment", "At the end of treatment (ends when you record the discharge)"
            ),
            SelectChoice("other", "Another event, described below (you record it when it happens)"),
        ],
        default="",
        validators=[Optional()],
    )
    expiry_event = StringField(
        "The event, in words",
        validators=[Optional(), Length(max=MAX_EVENT)],
        description="Give a date, an event, or both (whichever comes first). Left blank for the "
        "first two events, roi words them.",
    )
    signer_relationship = SelectField(
        "Who will sign",
        choices=[
            SelectChoice("self", "The client"),
            SelectChoice("parent", "A parent"),
            SelectChoice("guardian", "A guardian"),
            SelectChoice("personal_representative", "A personal representative"),
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
        self.recipient_provider_id.choices = [SelectChoice(0, "Choose a provider…")] + [
            SelectChoice(pid, label) for pid, label in recipients
        ]


class PaperConsentForm(ConsentForm):
    """A release signed on paper: its elements as on the paper, the signature, the scan."""

    signed_on = DayField("Date written beside the signature", validators=[DataRequired()])
    signer_name = NameField(
        "Name of the person who signed", validators=[DataRequired(), Length(max=200)]
    )
    representative_authority = StringField(
        "Their authority to sign for the client",
        validators=[Optional(), Length(max=500)],
        description="Only when a parent, guardian or personal representative signed.",
    )
    scan = FileField(
        "Scan of the signed paper (PDF, PNG or JPEG)",
        description="Every page, signature included. The scan is kept sealed, and roi's "
        "record of the release carries it.",
        render_kw={"accept": SCAN_ACCEPT},
    )


class ExpiryEventForm(FlaskForm):
    occurred_on = DayField("The event happened on", validators=[DataRequired()])


class DischargeForm(FlaskForm):
    on = DayField("Treatment ended on", validators=[DataRequired()])


class RevocationRecordForm(FlaskForm):
    """A revocation received outside roi, as staff record it."""

    method = SelectField(
        "How it arrived",
        choices=[
            SelectChoice("letter", "Letter"),
            SelectChoice("fax", "Fax"),
            SelectChoice("email", "Email"),
            SelectChoice("in_person", "In person, in writing"),
            SelectChoice("phone", "Phone call"),
        ],
        validators=[DataRequired()],
    )
    received_on = DayField("Received on", validators=[DataRequired()])
    reason = TextAreaField(
        "Reason given (optional)", validators=[Optional(), Length(max=MAX_REASON)]
    )
    document = FileField(
        "Scan of the letter, fax or email (PDF, PNG or JPEG)",
        description="Optional for a phone call: the client is asked by email to confirm in "
        "writing.",
        render_kw={"accept": SCAN_ACCEPT},
    )


class ActionForm(FlaskForm):
    """No fields: the CSRF token is the point."""
