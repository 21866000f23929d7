"""Which language a page speaks and in which time zone it shows times; the language switch.

The choice, in order: what the person picked in this browser, what their account keeps, what
their browser asks for (`Accept-Language`), English. Picking a language while signed in keeps it
on the account, so mails and documents follow it too. Times show in the reader's own time zone,
else their practice's, named on the page (`when`); the audit log keeps UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Blueprint, Flask, g, redirect, request, session
from flask_babel import Babel, Domain, format_date, get_locale, get_timezone
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

from roi import i18n
from roi.accounts import service as accounts
from roi.consent import rendering
from roi.consent.models import Consent
from roi.documents import wording
from roi.extensions import db

bp = Blueprint("language", __name__)

#: the session key of the language picked in this browser
LANGUAGE_KEY = "language"


class CatalogueDomain(Domain):
    """Flask-Babel's translations, read from roi's one catalogue (`roi.i18n`)."""

    def get_translations(self) -> i18n.NullTranslations:
        return i18n.translations(str(get_locale() or i18n.DEFAULT_LANGUAGE))


class LanguageForm(FlaskForm):
    language = HiddenField(validators=[DataRequired(), AnyOf(i18n.LANGUAGES)])
    #: the page to return to: a path on this site only
    next = HiddenField()
    #: "no" on a shared device: switch this browser's pages, leave the account's choice alone
    keep = HiddenField()


def install(app: Flask) -> None:
    """Flask-Babel on roi's catalogue, the switch's route, and the language every page needs."""
    babel = Babel(app, locale_selector=page_language, timezone_selector=page_time_zone)
    babel.domain_instance = CatalogueDomain()
    # `{% trans %}` blocks read like prose in templates; their line breaks are not the message's
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)
    app.context_processor(_template_globals)
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(zone_name)
    app.add_template_filter(when_utc)
    app.add_template_filter(translated)
    app.add_template_filter(expiry_event)
    app.add_template_global(translated)


def page_language() -> str:
    """The language of this request (Flask-Babel's locale selector)."""
    chosen = session.get(LANGUAGE_KEY)
    if chosen in i18n.LANGUAGES:
        return str(chosen)
    kept = getattr(current_user, "language", None)
    if kept in i18n.LANGUAGES:
        return str(kept)
    return request.accept_languages.best_match(i18n.LANGUAGES) or i18n.DEFAULT_LANGUAGE


def form_language() -> str:
    """The language this page shows the forms' text in (titles, categories, purposes): the
    page's own, one of roi.i18n.LANGUAGES (a form without it falls back to English)."""
    return i18n.supported(str(get_locale() or i18n.DEFAULT_LANGUAGE))


def expiry_event(consent: Consent) -> str | None:
    """A release's expiration event in this page's language: roi's own words for an event it
    sees itself (they are kept in English), a clinician's as written."""
    return rendering.expiry_event_in(consent, str(get_locale() or i18n.DEFAULT_LANGUAGE))


def translated(text: str | None) -> str:
    """Text from the domain (an `i18n.Message`, a constant marked with `N_`) in this page's
    language: `flash(translated(error.message))`, `{{ reason.message|translated }}`."""
    if text is None:
        return ""
    return i18n.translate(text, str(get_locale() or i18n.DEFAULT_LANGUAGE))


def page_time_zone() -> str:
    """The time zone of this request's times (Flask-Babel's time zone selector)."""
    if not current_user.is_authenticated:
        # an emailed link's page names whose times it shows (roi.web.signing)
        return str(g.get("reader_time_zone") or "UTC")
    return accounts.time_zone_of(db.session(), current_user.id)


def when(moment: datetime | None) -> str:
    """A stored time as the reader reads it: their day and minute, the zone named."""
    if moment is None:
        return ""
    return format_datetime(
        where_reader_is(moment), "d MMM y, HH:mm zzz", locale=i18n.regional(form_language())
    )


def where_reader_is(moment: datetime) -> datetime:
    """A stored time in the reader's time zone, read with zoneinfo as `roi.clock` reads days
    (Flask-Babel's own rebasing goes through pytz, whose database may be another release)."""
    return moment.astimezone(ZoneInfo(str(get_timezone())))


def when_utc(moment: datetime | None) -> str:
    """A stored time in UTC to the second, as the audit log keeps it."""
    if moment is None:
        return ""
    return format_datetime(
        moment.astimezone(UTC), "d MMM y, HH:mm:ss 'UTC'", locale=i18n.regional(form_language())
    )


def day(value: date | datetime | None) -> str:
    """A calendar day in words of the page's language ("30 November 2026"); of a stored time, the
    day it falls on where the reader is."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = where_reader_is(value).date()
    return format_date(value, "long")


def zone_name(time_zone: str) -> str:
    """A time zone as people call it, in the page's language ("Pacific Time")."""
    return wording.zone_name(time_zone, page_language())


@bp.post("/language")
def choose() -> Response:
    """Switch this browser (and the signed-in account) to the chosen language."""
    form = LanguageForm()
    back = _local_path(form.next.data)
    if not form.validate_on_submit():
        return redirect(back)
    language = str(form.language.data)
    session[LANGUAGE_KEY] = language
    # a device handed to a client (g.handover, roi.web.security) switches its pages only: the
    # signed-in account is the clinician's
    if current_user.is_authenticated and form.keep.data != "no" and g.get("handover") is None:
        accounts.set_language(db.session(), current_user.id, language)
    return redirect(back)


def _local_path(path: str | None) -> str:
    """`path` if it is a path on this site; otherwise the home page (no open redirect).

    A control character, space or backslash anywhere refuses it: browsers drop tabs and line
    breaks from a URL and read a backslash as a slash, so "/<tab>/evil.example" would lead
    off-site, and a line break cannot go in a header at all."""
    if (
        path
        and path.startswith("/")
        and not path.startswith("//")
        and not any(character <= " " or character in "\\\x7f" for character in path)
    ):
        return path
    return "/"


def _template_globals() -> dict[str, object]:
    return {
        "page_language": str(get_locale() or i18n.DEFAULT_LANGUAGE),
        "language_names": i18n.LANGUAGE_NAMES,
        "language_form": LanguageForm,
    }
