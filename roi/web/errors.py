"""The one place domain errors and HTTP errors become an HTML page or a JSON body."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from roi import audit
from roi.actor import Actor
from roi.audit import Action, Outcome
from roi.consent.errors import IncompleteConsent
from roi.db import commits_begun, unit_of_work
from roi.errors import ConsentRequired, Forbidden, Invalid, NotFound, RoiError, Throttled
from roi.extensions import db, login_manager
from roi.i18n import N_
from roi.vault import VaultError
from roi.web.language import translated
from roi.web.security import client_ip, is_api_request

logger = logging.getLogger(__name__)

HTTP_CODES = {
    400: "malformed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "wrong_state",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}
HTTP_MESSAGES = {
    400: N_("The request could not be read."),
    404: N_("There is nothing here, or it is not yours to see."),
    405: N_("This address does not accept that method."),
    413: N_("The upload is too large."),
    500: N_("Something went wrong on our side. Nothing was changed; please try again."),
    503: N_(
        "roi cannot save anything right now. Nothing was changed or sent; please try again in a "
        "few minutes."
    ),
}
#: the database went away after part of the request's work was committed: it may be saved
_PARTLY_SAVED = N_(
    "roi could not finish this, and part of it may already be saved. Check before you try again."
)
#: PostgreSQL's answers of a database that cannot take the work now: a read-only transaction,
#: a serialization failure or deadlock (the work was rolled back whole), and the classes of a
#: lost connection (08), a full disk or memory (53), a shutdown or restart (57) and a system
#: error (58); not "operational" errors that are roi's own (a program limit, a lock refused on
#: purpose)
_UNAVAILABLE_SQLSTATES = ("25006", "40001", "40P01", "08", "53", "57", "58")
#: SQLite's primary result codes for the same: busy and locked past the busy timeout, read-only,
#: an I/O error, a full disk, a file it cannot open (not SQLITE_ERROR: a missing table or a
#: statement it cannot parse is a defect, not a moment to wait out)
_UNAVAILABLE_SQLITE_CODES = frozenset({5, 6, 8, 10, 13, 14})


def handle_roi_error(error: RoiError) -> Response:
    if isinstance(error, VaultError):
        return _vault_failure(error)
    if isinstance(error, Forbidden | NotFound):
        # A refused or not-found record request by a signed-in person is a possible probe of
        # another practice's or client's records (SECURITY C2): keep it on record, ids only.
        unavailable = _audit_denied(error.http_status)
        if unavailable is not None:
            return unavailable
    extra: dict[str, Any] = {}
    if isinstance(error, Invalid):
        extra["fields"] = error.fields
    if isinstance(error, IncompleteConsent):
        extra["missing"] = [
            {"field": m.field, "rule": m.rule, "message": m.message} for m in error.missing
        ]
    if isinstance(error, ConsentRequired):
        extra["reasons"] = error.reasons
    response = _render(error.http_status, error.code, error.message, extra)
    if isinstance(error, Throttled):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


def handle_csrf(error: CSRFError) -> Response:
    message = N_("This form expired or came from another page. Reload the page and try again.")
    return _render(400, "csrf_failed", message)


def handle_http(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 422 and is_api_request():
        if _not_an_object(error):
            return _render(400, "malformed", N_("The body must be a JSON object."))
        return _render(
            422, "invalid", N_("Some fields need attention."), {"fields": _fields(error)}
        )
    message = HTTP_MESSAGES.get(status) or error.description or N_("The request was refused.")
    if status == 400 and is_api_request() and _invalid_json(error):
        message = N_("The body is not valid JSON.")
    response = _render(status, HTTP_CODES.get(status, "error"), message)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        # RFC 9110 15.5.6: a 405 names the methods the address does accept
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def handle_unexpected(error: Exception) -> Response:
    # The type only: an exception's text can carry values from the request.
    logger.error(
        "unhandled %s on %s (request %s)",
        type(error).__name__,
        request.endpoint,
        g.get("request_id"),
    )
    _roll_back()
    if _view_saved_work():
        return _render(500, "server_error", _PARTLY_SAVED)
    return _render(500, "server_error", HTTP_MESSAGES[500])


def handle_database_error(error: DBAPIError) -> Response:
    """The database refused the work or went away (read-only, a full disk, a restart): its
    transaction is rolled back, so nothing was changed and nothing was sent (fail closed, SECURITY
    I2); 503, with when to try again. Any other database error is unexpected (500)."""
    if not database_unavailable(error):
        return handle_unexpected(error)
    return _unavailable(error.orig)


def handle_pool_timeout(error: PoolTimeout) -> Response:
    """Every connection of the pool stayed busy: as unavailable, nothing was done."""
    return _unavailable(error)


def _unavailable(cause: BaseException | None, *, begun: int | None = None) -> Response:
    """503, or 500 "partly saved" when the view's work began to commit (`begun`: the count of
    commits to judge by, when the session's own has moved on since)."""
    # the driver's class and code only: its text can quote the statement's values
    code = getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorname", None) or ""
    logger.error(
        "database unavailable: %s %s on %s (request %s)",
        type(cause).__name__,
        code,
        request.endpoint,
        g.get("request_id"),
    )
    _roll_back()
    if _view_saved_work(begun):
        return _render(500, "server_error", _PARTLY_SAVED)
    response = _render(503, "unavailable", HTTP_MESSAGES[503])
    response.headers["Retry-After"] = "60"
    return response


def _roll_back() -> None:
    """End the request's transaction; a database that is gone cannot even do that, and the
    answer must still reach the person (as a visitor, not reading who is signed in again)."""
    try:
        db.session.rollback()
    except DBAPIError:
        logger.warning("could not roll back (request %s)", g.get("request_id"))
    if "_login_user" not in g:
        # Flask-Login would load the signed-in person from the database to render the page
        g._login_user = login_manager.anonymous_user()


def _view_saved_work(begun: int | None = None) -> bool:
    """Whether the view had begun to commit work of its own (`begun` commits, by default the
    session's count now) when it failed: then saying "nothing was changed" could make a
    clinician send a message twice."""
    before_view = g.get("commits_before_view")
    if before_view is None:
        return False
    return (commits_begun(db.session()) if begun is None else begun) > before_view


def note_commits_before_view() -> None:
    """Before the view (after the access check, whose session upkeep may commit): how many
    commits the request had begun, so a failure can tell whether the view's own work landed."""
    g.commits_before_view = commits_begun(db.session())


def database_unavailable(error: DBAPIError) -> bool:
    """Whether the database could not take the work now (worth trying again), as opposed to a
    statement roi got wrong."""
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in _UNAVAILABLE_SQLITE_CODES  # the extended code's primary
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is None:
        # a connection that broke answers with no state at all
        return isinstance(error, OperationalError)
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


def _vault_failure(error: VaultError) -> Response:
    db.session.rollback()
    actor = g.get("actor") or Actor.anonymous(client_ip(), g.get("request_id"))
    try:
        with unit_of_work(db.session()):
            audit.record(
                db.session(),
                actor,
                Action.CRYPTO_INTEGRITY_FAILURE,
                outcome=Outcome.FAILURE,
                reasons=[error.code],
            )
    except Exception:  # the refusal must still reach the person if the audit write fails
        logger.exception("could not audit a crypto failure (request %s)", g.get("request_id"))
        db.session.rollback()
    message = N_(
        "A stored record failed its integrity check, so it is not shown. Staff have been alerted."
    )
    return _render(500, error.code, message)


def _audit_denied(status: int) -> Response | None:
    """Keep a refusal on record; the 503 to answer instead when the database cannot take it."""
    actor = g.get("actor")
    if actor is None:
        return None
    ids = {k: v for k, v in (request.view_args or {}).items() if isinstance(v, int)}
    db.session.rollback()
    # the refusal's own record is no work of the view's, even if its commit fails
    begun = commits_begun(db.session())
    try:
        _record_denied(actor, status, ids)
    except DBAPIError as error:
        if not database_unavailable(error):
            raise
        return _unavailable(error.orig, begun=begun)
    return None


def _record_denied(actor: Actor, status: int, ids: dict[str, int]) -> None:
    with unit_of_work(db.session()):
        audit.record(
            db.session(),
            actor,
            Action.AUTHZ_DENIED,
            outcome=Outcome.DENY,
            consent_id=ids.pop("consent_id", None),
            client_id=ids.pop("client_id", None),
            detail={
                "endpoint": request.endpoint or "",
                "method": request.method,
                "status": status,
                **ids,
            },
        )


def _fields(error: HTTPException) -> dict[str, str]:
    """webargs' nested messages as {"field": "first reason"}."""
    messages = getattr(error, "data", {}).get("messages", {})
    fields: dict[str, str] = {}
    for location in messages.values():
        for name, reasons in location.items():
            fields[str(name)] = _first(reasons)
    return fields


def _first(reasons: Any) -> str:
    if isinstance(reasons, list) and reasons:
        return _first(reasons[0])
    if isinstance(reasons, dict) and reasons:
        return _first(next(iter(reasons.values())))
    return str(reasons)


def _invalid_json(error: HTTPException) -> bool:
    """Whether webargs refused the body because it is not JSON at all."""
    messages = getattr(error, "data", {}).get("messages", {})
    return isinstance(messages, dict) and "json" in messages


def _not_an_object(error: HTTPException) -> bool:
    """Whether webargs refused a body that is JSON but not an object (a list, a string, null):
    every body the API takes is one, so it is malformed, not a field to name (marshmallow
    would name its own `_schema`)."""
    messages = getattr(error, "data", {}).get("messages", {})
    return (
        isinstance(messages, dict)
        and "json" in messages
        and not isinstance(request.get_json(silent=True), dict)
    )


def _render(status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> Response:
    if is_api_request():
        body = jsonify({"error": code, "message": message, **(extra or {})})
    else:
        template = "errors/404.html" if status == 404 else "errors/error.html"
        # the JSON API answers in English (CONTRACT.md); pages in the reader's language
        shown = translated(message)
        body = make_response(render_template(template, status=status, message=shown))
    body.status_code = status
    return body


def install(app: Flask) -> None:
    app.register_error_handler(RoiError, handle_roi_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeout, handle_pool_timeout)
    app.before_request(note_commits_before_view)
    app.register_error_handler(Exception, handle_unexpected)
