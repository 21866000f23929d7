"""The consent line a message carries, in the page's language.

The stored line (`Message.scope_summary`) is the record of what the recipient was shown, in
English. A page in another language words the same facts again from the consent it names; an
emergency's banner is a marked constant (`roi.consent.emergency`), translated as it stands.
"""

from __future__ import annotations

from flask_babel import gettext as _

from roi import i18n
from roi.consent.models import Consent
from roi.extensions import db
from roi.web.language import day, form_language, translated
from roi.web.security import form_library


def scope_line(stored: str, consent_id: int | None) -> str:
    """The line `stored` for consent `consent_id` (None: an emergency's banner), as this page
    reads it."""
    language = form_language()
    consent = db.session().get(Consent, consent_id) if consent_id is not None else None
    if consent is None or language == i18n.DEFAULT_LANGUAGE:
        return translated(stored)
    library = form_library()
    form = library.get(consent.template_id, consent.template_version).in_language(language)
    labels = {c.code: c.label for c in library.categories(language)}
    purposes = {p.code: p.label for p in library.purposes(language)}
    return _(
        "Shared under consent #%(number)s (%(title)s), which covers: %(what)s. Purposes the "
        "client agreed to: %(why)s. Valid %(until)s.",
        number=consent.id,
        title=form.title,
        what=", ".join(labels.get(code, code) for code in consent.categories),
        why="; ".join(f"“{purposes.get(code, code)}”" for code in consent.purposes),
        until=_until(consent),
    )


def _until(consent: Consent) -> str:
    if consent.expires_on is not None:
        return _("until %(day)s", day=day(consent.expires_on))
    if consent.expiry_event:
        return _("until %(event)s", event=consent.expiry_event)
    return _("with no end recorded")
