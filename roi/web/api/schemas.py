"""The API's request and response shapes; the same schemas validate requests and make the
OpenAPI document, so the two cannot drift apart."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from roi import inputs
from roi.clock import iso
from roi.consent.models import OutsideMethod
from roi.documents import attachments
from roi.i18n import LANGUAGES


class Id(fields.Integer):
    """A record's id: an integer an id column can hold (larger ones would overflow the driver).

    A JSON number that is not a whole one, or a string, is refused: `1.9` must not become the
    record 1. A query string's id is text: its schema passes `strict=False` (where "1.9" still
    fails)."""

    def __init__(self, *, strict: bool = True, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=1, max=inputs.MAX_ID), strict=strict, **kwargs)


class Day(fields.Date):
    """A calendar date (`YYYY-MM-DD`) within the days a record of roi can hold."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"description": inputs.DAY_REASON, **kwargs.pop("metadata", {})}
        super().__init__(validate=_checked(inputs.day_problem), metadata=metadata, **kwargs)


class Name(fields.String):
    """A person's or an organization's name: no invisible or direction-changing characters,
    stored in NFC (roi.inputs)."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(
            validate=[validate.Length(min=1, max=max_length), _checked(inputs.name_problem)],
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return inputs.normal_name(super()._deserialize(value, attr, data, **kwargs))


class EmailAddress(fields.Email):
    """An email address with nothing hidden in it (roi.inputs)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=[validate.Length(max=254), _checked(inputs.name_problem)], **kwargs
        )


def documented_rules(converter: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """An apispec attribute function: each string field's roi.inputs rule as its `pattern` in
    the OpenAPI document, so the document says what the API refuses."""
    if isinstance(field, Day):
        return {"pattern": inputs.DAY_PATTERN}
    if isinstance(field, Name | EmailAddress):
        return {"pattern": inputs.NAME_PATTERN}
    if isinstance(field, fields.String):
        return {"pattern": inputs.TEXT_PATTERN}
    return {}


def _checked(problem: Any) -> Any:
    """A marshmallow validator from one of roi.inputs' rules."""

    def check(value: Any) -> None:
        why = problem(value)
        if why is not None:
            raise ValidationError(why)

    return check


class ReasonSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable code"})
    message = fields.String(required=True, metadata={"description": "for the clinician"})
    consent_id = fields.Integer(allow_none=True)


class MissingSchema(Schema):
    field = fields.String(required=True)
    rule = fields.String(required=True)
    message = fields.String(required=True)


class AttachmentInSchema(Schema):
    """CONTRACT.md `attachment`; the content is checked against the type by the service."""

    filename = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.String(required=True, validate=validate.OneOf(sorted(attachments.TYPES)))
    content_base64 = fields.String(required=True)

    @validates("content_base64")
    def _decodes(self, value: str, **_: Any) -> None:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValidationError("Not valid base64.") from error


def upload_of(attachment: dict[str, Any]) -> attachments.Upload:
    """An attachment the schema has validated, decoded."""
    return attachments.Upload(
        filename=attachment["filename"],
        content_type=attachment["content_type"],
        content=base64.b64decode(attachment["content_base64"]),
    )


class ApiErrorSchema(Schema):
    """Every refusal roi sends (roi.web.errors): a code, a sentence, and what it is about."""

    error = fields.String(required=True, metadata={"description": "stable code"})
    message = fields.String(required=True, metadata={"description": "for a person to read"})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "on 422: each field that needs attention, with the reason"},
    )
    reasons = fields.List(
        fields.Nested(ReasonSchema),
        metadata={"description": "on 403 consent_required: why no consent covers it"},
    )
    missing = fields.List(
        fields.Nested(MissingSchema),
        metadata={"description": "on 422 incomplete: each missing element of the release"},
    )


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    otp = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "a code from the authenticator app, or a recovery code"},
    )


class TotpEnrolmentSchema(Schema):
    secret = fields.String(required=True, metadata={"description": "base32, for typing in"})
    otpauth_uri = fields.String(required=True, metadata={"description": "for a QR code"})


class OtpSchema(Schema):
    otp = fields.String(required=True, validate=validate.Length(min=1, max=10))


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), required=True)


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


class ClientInSchema(Schema):
    given_name = Name(required=True, max_length=100)
    family_name = Name(required=True, max_length=100)
    birth_date = Day(required=True)
    email = EmailAddress(load_default=None, allow_none=True)


class ClientSchema(Schema):
    id = fields.Integer(required=True)
    given_name = fields.String(required=True)
    family_name = fields.String(required=True)
    birth_date = fields.Date(required=True)
    email = fields.String(allow_none=True)
    organization = fields.Function(lambda client: client.organization.name, dump_only=True)


class ProviderInSchema(Schema):
    name = Name(required=True, max_length=200)
    credentials = fields.String(load_default="", validate=validate.Length(max=100))
    organization = Name(required=True, max_length=200)
    address = fields.String(load_default="", validate=validate.Length(max=500))
    email = EmailAddress(load_default=None, allow_none=True)


class ProviderSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    credentials = fields.String(required=True)
    organization = fields.String(attribute="organization_name", required=True)
    address = fields.String(required=True)
    email = fields.String(allow_none=True)
    user_id = fields.Integer(allow_none=True)


class SearchArgsSchema(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=100))


class CodeLabelSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class FormTemplateQuerySchema(Schema):
    lang = fields.String(
        load_default=None,
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "the texts' language; default: Accept-Language's, else en"},
    )


class FormTemplateSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    version = fields.Integer(required=True)
    kind = fields.String(required=True)
    categories = fields.List(fields.Nested(CodeLabelSchema), required=True)
    purposes = fields.List(fields.Nested(CodeLabelSchema), required=True)


CODES = fields.List(fields.String(validate=validate.Length(min=1, max=60)), load_default=list)


class ConsentInSchema(Schema):
    client_id = Id(required=True)
    template_id = fields.String(required=True, validate=validate.Length(min=1, max=80))
    recipient_provider_id = Id(required=True)
    categories = CODES
    purposes = CODES
    information_description = fields.String(load_default="", validate=validate.Length(max=4000))
    expires_on = Day(load_default=None, allow_none=True)
    expiry_event = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=300)
    )
    expiry_event_kind = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["after_first_disclosure", "end_of_treatment", "other"]),
    )
    direction = fields.String(
        load_default="one_way", validate=validate.OneOf(["one_way", "two_way"])
    )
    signer_relationship = fields.String(
        load_default="self",
        validate=validate.OneOf(["self", "parent", "guardian", "personal_representative"]),
    )
    share_request_id = Id(
        load_default=None,
        allow_none=True,
        metadata={"description": "the client's request it answers (GET /share-requests)"},
    )
    language = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(LANGUAGES),
        metadata={
            "description": "the language the client will read it in (the preview's, the "
            "signing mail's); once signed, the one they read and signed. Default: en"
        },
    )


class DiscloserSchema(Schema):
    provider_id = fields.Integer(required=True)
    name = fields.String(required=True)
    organization_id = fields.Integer(required=True)
    organization = fields.String(required=True)


class RevocationSchema(Schema):
    method = fields.String(required=True)
    received_on = fields.Date(allow_none=True)
    recorded_by = fields.Integer(allow_none=True)
    confirmed_on = fields.Date(
        allow_none=True,
        metadata={"description": "a revocation by phone: when its written confirmation arrived"},
    )


class ConsentSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    client_id = fields.Integer(required=True)
    template_id = fields.String(required=True)
    template_version = fields.Integer(required=True)
    language = fields.String(
        required=True, metadata={"description": "the language of the release's text: en or es"}
    )
    kind = fields.String(required=True)
    discloser = fields.Nested(DiscloserSchema, required=True)
    recipient_provider_id = fields.Integer(required=True)
    categories = fields.List(fields.String(), required=True)
    purposes = fields.List(fields.String(), required=True)
    information_description = fields.String(required=True)
    direction = fields.String(required=True)
    signer_relationship = fields.String(required=True)
    required_signer = fields.String(
        required=True,
        metadata={"description": "client | representative | client_or_representative"},
    )
    required_signer_reason = fields.String(
        required=True, metadata={"description": "the rule that decides it, with its citations"}
    )
    expires_on = fields.Date(allow_none=True)
    expires_at = fields.String(
        allow_none=True,
        metadata={
            "format": "date-time",
            "description": "when the expires_on day ends the release: 00:00 of that day where "
            "the practice is, fixed when it is signed",
        },
    )
    expiry_event = fields.String(allow_none=True)
    expiry_event_kind = fields.String(allow_none=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    sent_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    signed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    revoked_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    expired_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    voided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    supersedes_id = fields.Integer(allow_none=True)
    share_request_id = fields.Integer(allow_none=True)
    document_sha256 = fields.String(allow_none=True)
    signature_method = fields.String(
        allow_none=True, metadata={"description": "portal, link, in_person or paper"}
    )
    revocation = fields.Nested(RevocationSchema, allow_none=True)


class ConsentQuerySchema(Schema):
    client_id = Id(load_default=None, strict=False)
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(
            [
                "draft",
                "pending_signature",
                "active",
                "revoked",
                "expired",
                "voided",
                "superseded",
            ]
        ),
    )


class SignerInSchema(Schema):
    """Who signed, as a signature and a paper release give it."""

    signer_name = Name(required=True, max_length=200)
    signer_relationship = fields.String(
        required=True,
        validate=validate.OneOf(["self", "parent", "guardian", "personal_representative"]),
    )
    representative_authority = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=500)
    )


class SignatureInSchema(SignerInSchema):
    agree = fields.Boolean(required=True)
    language = fields.String(
        load_default="en",
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "the language the client read the release in"},
    )


class PaperConsentInSchema(SignerInSchema, ConsentInSchema):
    """`POST /consents/paper`: a release signed on paper, its elements and its scan (the
    signer's fields are required here, as the first base class declares them)."""

    signed_on = Day(required=True)
    scan = fields.Nested(AttachmentInSchema, required=True)
    language = fields.String(
        load_default="en",
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "the language of the paper form the client signed"},
    )


class RevocationInSchema(Schema):
    """The client's body is `{"reason"?}`; staff recording a revocation received outside roi
    add `method`, `received_on` and, optionally, the scanned `document`."""

    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    method = fields.String(
        load_default=None, validate=validate.OneOf([m.value for m in OutsideMethod])
    )
    received_on = Day(load_default=None)
    document = fields.Nested(AttachmentInSchema, load_default=None, allow_none=True)


class ExpiryEventInSchema(Schema):
    occurred_on = Day(required=True)


class DischargeInSchema(Schema):
    on = Day(required=True)


class DischargeSchema(Schema):
    expired_consent_ids = fields.List(fields.Integer(), required=True)


class OwnCareSchema(Schema):
    """Whether a minor client consented to their own care under state law (then they sign
    releases for that care themselves)."""

    own_care_consent = fields.Boolean(required=True)


class RepresentativeInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["guardian", "other"]))
    name = Name(required=True, max_length=200)
    #: the document that gives them authority: a PDF, PNG or JPEG scan
    document = fields.Nested(AttachmentInSchema, required=True)


class RepresentativeSchema(Schema):
    id = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    kind = fields.Function(lambda r: r.kind.value, dump_only=True)
    name = fields.String(required=True)
    recorded_at = fields.Function(lambda r: iso(r.recorded_at), dump_only=True)


class ShareRequestInSchema(Schema):
    provider_id = Id(load_default=None, allow_none=True)
    provider_name = fields.String(
        load_default="", validate=[validate.Length(max=200), _checked(inputs.name_problem)]
    )
    provider_address = fields.String(load_default="", validate=validate.Length(max=500))
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class ShareRequestSchema(Schema):
    id = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "open | prepared"})
    provider_id = fields.Integer(allow_none=True)
    provider_name = fields.String(attribute="recipient_name", required=True)
    provider_address = fields.String(allow_none=True)
    created_at = fields.Function(lambda r: iso(r.created_at), dump_only=True)
