"""API v1: the disclosure log and chain verification (CONTRACT.md), compliance only.

`GET /audit-events` pages with an opaque cursor: `next_page` is handed back as `page` to get the
older entries. It wraps the last seq seen, so paging is stable while new entries arrive. Every
call is audited as `audit.viewed`, like the log page (SECURITY G7).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from roi import inputs
from roi.accounts.policy import Permission
from roi.audit import Action, Outcome
from roi.audit.search import MAX_SEQ, EntryFilter
from roi.clock import iso
from roi.compliance import log as disclosure_log
from roi.compliance import verification
from roi.compliance.log import LoggedEntry
from roi.errors import Invalid
from roi.extensions import db
from roi.web.api.schemas import ApiErrorSchema
from roi.web.security import actor, requires

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
PAGE_SIZE = 100

audit_events = Blueprint(
    "audit_events", __name__, url_prefix=f"{PREFIX}/audit-events", description="Audit log"
)
audit = Blueprint("audit", __name__, url_prefix=f"{PREFIX}/audit", description="Audit chain")

blueprints = (audit_events, audit)

_CURSOR = re.compile(r"before:([1-9][0-9]{0,18})")
_ID = validate.Range(min=1, max=inputs.MAX_ID)


class Instant(fields.Field):
    """A date (`YYYY-MM-DD`) or an ISO 8601 time; a time without an offset is read as UTC.

    A date means the start of that day (UTC), or with `end_of_day` the end of it, so
    `until=2026-03-31` includes the whole of March 31.
    """

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = self._parse(value.strip() if isinstance(value, str) else "")
        if moment is None:
            raise ValidationError(
                "Give a date (YYYY-MM-DD) or a time (ISO 8601, e.g. 2026-03-04T14:05:00Z)."
            )
        return moment

    def _parse(self, text: str) -> datetime | None:
        """The instant `text` names; None if it names none.

        Raises:
            ValidationError: the day is outside the range of roi.inputs.
        """
        try:
            if len(text) == 10:
                day = _in_range(date.fromisoformat(text))
                start = datetime.combine(day, time.min, tzinfo=UTC)
                return start + timedelta(days=1) if self.end_of_day else start
            if 10 < len(text) <= 40:
                moment = datetime.fromisoformat(text)
                _in_range(moment.date())
                return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
        return None


def _in_range(day: date) -> date:
    why = inputs.day_problem(day)
    if why is not None:
        raise ValidationError(why)
    return day


class AuditEventQuerySchema(Schema):
    client_id = fields.Integer(load_default=None, validate=_ID)
    recipient_provider_id = fields.Integer(load_default=None, validate=_ID)
    action = fields.String(
        load_default=None,
        validate=validate.OneOf([action.value for action in Action]),
        metadata={"description": "one action code, e.g. disclosure.denied"},
    )
    outcome = fields.String(
        load_default=None, validate=validate.OneOf([outcome.value for outcome in Outcome])
    )
    since = Instant(
        load_default=None, metadata={"description": "from this date or time, inclusive"}
    )
    until = Instant(
        load_default=None,
        end_of_day=True,
        metadata={"description": "before this time; a date includes that whole day"},
    )
    page = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the next_page of the previous answer"},
    )

    @validates_schema(pass_original=True)
    def _known_and_ordered(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # A misspelt filter must not silently widen the answer to the whole log.
        unknown = sorted(set(original) - set(self.fields))
        if unknown:
            raise ValidationError({name: ["Unknown parameter."] for name in unknown})
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError({"until": ["Must be after since."]})


class AuditEventSchema(Schema):
    seq = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    action = fields.String(required=True)
    outcome = fields.String(required=True)
    actor_id = fields.Integer(allow_none=True)
    client_id = fields.Integer(allow_none=True)
    consent_id = fields.Integer(allow_none=True)
    recipient_provider_id = fields.Integer(allow_none=True)
    categories = fields.List(fields.String(), required=True)
    purpose = fields.String(allow_none=True)
    reasons = fields.List(fields.String(), required=True)
    hash = fields.String(required=True)


class AuditEventPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True)
    next_page = fields.String(
        allow_none=True,
        metadata={"description": "pass as `page` for older entries; null at the end"},
    )


class VerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    entries = fields.Integer(required=True)
    head_hash = fields.String(required=True)
    first_bad_seq = fields.Integer(allow_none=True)


def encode_page(before: int | None) -> str | None:
    """The opaque `next_page` for a cursor (None at the end of the log)."""
    if before is None:
        return None
    return base64.urlsafe_b64encode(f"before:{before}".encode()).decode().rstrip("=")


def decode_page(page: str | None) -> int | None:
    """The cursor inside a `page` this API handed out.

    Raises:
        Invalid: not one of ours (garbage, or edited by hand).
    """
    if page is None:
        return None
    try:
        text = base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found = _CURSOR.fullmatch(text)
    if found is None or int(found.group(1)) > MAX_SEQ:
        raise Invalid({"page": "Not a page this API gave out: start again without it."})
    return int(found.group(1))


def event_json(entry: LoggedEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": iso(entry.at),
        "action": str(entry.action),
        "outcome": str(entry.outcome),
        "actor_id": entry.actor_id,
        "client_id": entry.client_id,
        "consent_id": entry.consent_id,
        "recipient_provider_id": entry.recipient_provider_id,
        "categories": list(entry.categories or []),
        "purpose": entry.purpose,
        "reasons": list(entry.reasons or []),
        "hash": entry.hash,
    }


@audit_events.route("", methods=["GET"])
@requires(Permission.VIEW_DISCLOSURE_LOG)
@audit_events.arguments(AuditEventQuerySchema(), location="query")
@audit_events.response(200, AuditEventPageSchema)
@audit_events.alt_response(403, schema=ApiErrorSchema, description="Not a compliance officer")
@audit_events.alt_response(422, schema=ApiErrorSchema, description="A filter or page is invalid")
@audit_events.doc(security=BEARER)
def list_audit_events(args: dict[str, Any]) -> dict[str, Any]:
    """Your practice's audit entries, newest first, a page at a time (compliance)."""
    before = decode_page(args["page"])
    entry_filter = EntryFilter(
        client_id=args["client_id"],
        recipient_provider_id=args["recipient_provider_id"],
        actions=(Action(args["action"]),) if args["action"] else (),
        outcome=Outcome(args["outcome"]) if args["outcome"] else None,
        since=args["since"],
        until=args["until"],
    )
    page = disclosure_log.log_page(
        db.session(), actor(), entry_filter, before=before, limit=PAGE_SIZE
    )
    return {
        "items": [event_json(row.entry) for row in page.rows],
        "next_page": encode_page(page.next_before),
    }


@audit.route("/verify", methods=["POST"])
@requires(Permission.VERIFY_AUDIT_CHAIN)
@audit.response(200, VerificationSchema)
@audit.alt_response(403, schema=ApiErrorSchema, description="Not a compliance officer")
@audit.doc(security=BEARER)
def verify_audit_chain() -> dict[str, Any]:
    """Verify the whole hash chain now; the check is recorded (compliance)."""
    result = verification.verify_chain(db.session(), actor())
    return {
        "ok": result.ok,
        "entries": result.entries,
        "head_hash": result.head_hash,
        "first_bad_seq": result.first_bad_seq,
    }
