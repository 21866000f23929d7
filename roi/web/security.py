"""Who is asking, and may they: deny by default, server-side sessions, bearer tokens, headers."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from flask import (
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)
from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from roi.accounts import passkeys, sessions
from roi.accounts.mfa import SecondStep
from roi.accounts.models import User
from roi.accounts.policy import Permission, allows
from roi.accounts.practice import today_in_practice
from roi.actor import Actor, Role
from roi.config import Settings
from roi.consent import handover
from roi.consent.library import FormLibrary
from roi.errors import Forbidden, Unauthenticated
from roi.extensions import db, login_manager
from roi.i18n import N_

F = TypeVar("F", bound=Callable[..., Any])

#: endpoints anyone may reach; every other endpoint must carry @requires (SECURITY C5)
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.index",
        "auth.login",
        # a forgotten password: the emailed single-use link stands in for a sign-in
        "auth.password_reset",
        "auth.password_reset_link",
        "static",
        "api-docs.openapi_json",
        "tokens.create_token",
        # for load balancers: they answer with words, never with data or secrets
        "health.healthz",
        "health.readyz",
        # the language switch: a page's language, for anyone (no record is read or written
        # unless signed in, and then only the person's own preference)
        "language.choose",
        # the emailed signing link: the link, date of birth and a one-time code stand in for a
        # sign-in (roi.consent.invitations), for clients who have no account
        "signing.start",
        "signing.identity",
        "signing.send_code",
        "signing.verify",
        "signing.review",
        "signing.sign",
        "signing.done",
        "signing.document",
        # the signer's link to their signed copy: the same identity check as signing
        "signing.copy",
        "signing.copy_document",
        "signing.copy_revocation_receipt",
        "signing.revoke",
        # asking for that link again: the same answer whether or not the address is known
        "signing.request_link",
    }
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
logger = logging.getLogger(__name__)

SESSION_TOKEN = "sid"  # noqa: S105 - the session key that holds the token

#: all a half-signed-in session may reach, by the step it still has to do (SECURITY A6)
SECOND_STEP_ENDPOINTS: dict[SecondStep, frozenset[str]] = {
    SecondStep.VERIFY: frozenset(
        {"auth.second_factor", "auth.second_factor_passkey", "auth.logout"}
    ),
    SecondStep.ENROL: frozenset({"auth.totp_setup", "auth.logout"}),
}
#: all a session handed to a client for in-office signing may reach (roi.consent.handover)
DEVICE_ENDPOINTS = frozenset(
    {
        "device.show",
        "device.identity",
        "device.sign",
        "device.activity",
        "device.hand_back",
        # the client reads in their language; never kept on the clinician's account (language.py)
        "language.choose",
    }
)
#: where a half-signed-in session is sent, by the step it still has to do
SECOND_STEP_PAGES = {SecondStep.VERIFY: "auth.second_factor", SecondStep.ENROL: "auth.totp_setup"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def requires(permission: Permission) -> Callable[[F], F]:
    """Mark a view with the permission it needs; the before-request check enforces it."""

    def decorate(view: F) -> F:
        view.roi_permission = permission  # type: ignore[attr-defined]
        return view

    return decorate


class SignedIn:
    """The Flask-Login user: an account as the web layer sees it, for the current request."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.name = user.name
        self.email = user.email
        self.role = Role(user.role)
        self.organization_id = user.organization_id
        self.language = user.language

    def get_id(self) -> str:
        return str(self.id)


def settings() -> Settings:
    value: Settings = current_app.config["ROI_SETTINGS"]
    return value


def form_library() -> FormLibrary:
    """The release-form templates loaded (and validated) at start-up."""
    value: FormLibrary = current_app.extensions["roi.forms"]
    return value


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def client_ip() -> str | None:
    # remote_addr only: X-Forwarded-For counts only through an explicitly configured ProxyFix.
    return request.remote_addr


def relying_party() -> passkeys.RelyingParty:
    """The host and origin this request came to: passkeys are bound to them by the browser."""
    return passkeys.RelyingParty(
        rp_id=request.host.rsplit(":", 1)[0], origin=request.host_url.rstrip("/")
    )


def passkey_challenge() -> str | None:
    """A fresh challenge for the acting person's passkeys, as the JSON a browser's
    navigator.credentials.get() takes (kept with their session); None when they have none."""
    user = db.session.get(User, actor().user_id)
    assert user is not None  # noqa: S101 - the session resumed this user
    if not passkeys.has_passkey(db.session(), user.id):
        return None
    return passkeys.authentication_options(
        db.session(), user, session[SESSION_TOKEN], relying_party()
    )


@login_manager.user_loader
def load_signed_in(user_id: str) -> SignedIn | None:
    token = session.get(SESSION_TOKEN)
    if not token or is_api_request():
        return None
    resumed = sessions.resume_session(db.session(), token, settings())
    if resumed.second_step is not None:
        return None
    if resumed.user is None or str(resumed.user.id) != user_id:
        g.session_ended_because = resumed.ended_because
        session.clear()
        return None
    return SignedIn(resumed.user)


def enforce_access() -> Response | None:
    """Before every request: public, or signed in with the view's permission; else refuse."""
    # The id is logged and audited, tying an entry to the request that wrote it: only the
    # configured proxy's is taken (ROI_PROXY_HOPS), never one a caller chose to pass as another's.
    given = request.headers.get("X-Request-Id", "") if settings().proxy_hops else ""
    g.request_id = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
    if _from_another_site():
        # a trace of the attempt: the address only, as the access log has it
        logger.info("refused a %s from another site to %s", request.method, request.path)
        return _refused_from_another_site()
    endpoint = request.endpoint
    if endpoint != "static" and handed_to_client() and endpoint not in DEVICE_ENDPOINTS:
        # The device is with the client: nothing else of the clinician's session is reachable,
        # a typed URL and an unknown one included.
        if is_api_request():
            raise Forbidden("This browser is handed to a client for signing.")
        return redirect(url_for("device.show"))
    if endpoint is None:
        # no such page, or not by this method: 404 or 405 before anything reads the body
        current_app.raise_routing_exception(request)
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    view = current_app.view_functions.get(endpoint)
    permission = getattr(view, "roi_permission", None)
    if permission is None:
        # Deny by default: a view nobody marked is reachable by nobody.
        raise Forbidden("This page is not available.")
    actor = _api_actor() if is_api_request() else _web_actor()
    if actor is None:
        step = half_signed_in()
        if step is not None:
            if endpoint in SECOND_STEP_ENDPOINTS[step]:
                return None
            return redirect(url_for(SECOND_STEP_PAGES[step]))
        flash(_signed_out_message(), "info")
        return redirect(url_for("auth.login"))
    g.actor = actor
    if not allows(actor.role, permission):
        raise Forbidden()
    return None


def _from_another_site() -> bool:
    """A request to change something, made by a page of another site (the browser says so:
    Fetch Metadata). Its form could carry no CSRF token and no session cookie (SameSite), so it
    would fail anyway; refusing it first keeps it from touching this browser's session."""
    return (
        request.method not in _SAFE_METHODS
        and request.headers.get("Sec-Fetch-Site") == "cross-site"
    )


#: methods that change nothing: a link from a mail or another site may follow them
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _refused_from_another_site() -> Response:
    """A 403 that writes nothing to the session: a page with a form (its CSRF token) or a
    flashed message would set a new session cookie over the signed-in person's, signing them
    out from another site's page."""
    if is_api_request():
        raise Forbidden(_CROSS_SITE)  # the API's error body; it writes no cookie
    page = render_template_string(_CROSS_SITE_PAGE, message=_(_CROSS_SITE), back=_("Back to roi"))
    return FlaskResponse(page, 403, mimetype="text/html")


_CROSS_SITE = N_("This request came from another website, so roi did not carry it out.")
_CROSS_SITE_PAGE = (
    '<!doctype html><html lang="{{ page_language }}"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>roi</title>'
    '<p>{{ message }}</p><p><a href="/">{{ back }}</a></p></html>'
)


def handed_to_client() -> bool:
    """Whether this browser's live session is handed to a client; sets `g.handover` when so."""
    token = session.get(SESSION_TOKEN)
    if not token:
        return False
    found = handover.live_handover(db.session(), token)
    if found is None or sessions.resume_session(db.session(), token, settings()).user is None:
        return False
    g.handover = found
    return True


def _web_actor() -> Actor | None:
    if not current_user.is_authenticated:
        return None
    user = db.session.get(User, current_user.id)
    if user is None:
        return None
    return sessions.actor_for(db.session(), user, ip=client_ip(), request_id=g.request_id)


def half_signed_in() -> SecondStep | None:
    """The step a half-signed-in web session still has to do; None for any other request.

    Sets `g.actor` to the person signing in, for the few views that step may reach."""
    token = session.get(SESSION_TOKEN)
    if not token or is_api_request():
        return None
    resumed = sessions.resume_session(db.session(), token, settings())
    if resumed.user is None or resumed.second_step is None:
        g.session_ended_because = resumed.ended_because
        return None
    g.actor = sessions.actor_for(
        db.session(), resumed.user, ip=client_ip(), request_id=g.request_id
    )
    return resumed.second_step


def _api_actor() -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    found = sessions.actor_for_token(
        db.session(), token.strip(), ip=client_ip(), request_id=g.request_id
    )
    if found is None:
        raise Unauthenticated("The token is unknown, expired or revoked. Request a new one.")
    return found


def _signed_out_message() -> str:
    """Why the person must sign in, in the page's language."""
    reason = g.get("session_ended_because")
    if reason == "idle_timeout":
        minutes = int(settings().session_idle.total_seconds() // 60)
        return _(
            "You were signed out after %(minutes)d minutes without activity. Sign in again.",
            minutes=minutes,
        )
    if reason == "absolute_timeout":
        return _("Your session reached its time limit. Sign in again.")
    if reason == "mfa_failed":
        return _("Too many wrong codes. Sign in again with your password.")
    if reason in {"password_changed", "password_reset", "account_disabled", "ended_by_user"}:
        return _("Your session has ended. Sign in again.")
    return _("Sign in to continue.")


def actor() -> Actor:
    """The Actor of the current request, set by `enforce_access`."""
    value: Actor = g.actor
    return value


def practice_today() -> date:
    """Today where the current actor's practice is: the day a form offers and the day requests
    fall due against (`today_in_practice`)."""
    return today_in_practice(db.session(), actor())


def secure_headers(response: FlaskResponse) -> FlaskResponse:
    """Security headers on every response; no caching of anything but static assets.

    Hand-written rather than Flask-Talisman: roi needs one fixed policy for every route, which is
    a dozen lines, and Talisman's per-view options and nonce machinery would go unused.
    """
    headers = response.headers
    headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if g.get("request_id"):
        headers["X-Request-Id"] = g.request_id
    if response.status_code == 429 and "Retry-After" not in headers:
        # every "too many" says when to come back (RFC 6585); a minute when the refusal gave none
        headers["Retry-After"] = "60"
    return response


def install(app: Flask) -> None:
    """The access check runs first, before anything reads the body (the input checks, the CSRF
    check): a request no one may make is refused unread, so a stranger cannot have a view that
    takes a scan read 21 MB, or any other view 16 MB."""
    login_manager.session_protection = None  # sessions are checked on the server instead
    app.before_request_funcs.setdefault(None, []).insert(0, enforce_access)
    app.after_request(secure_headers)
