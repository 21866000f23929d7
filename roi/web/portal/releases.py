"""How a release reads to its client on every page of theirs (the portal, the emailed link, the
in-office device): in the page's language, with a title that tells one release from another."""

from __future__ import annotations

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from roi import i18n
from roi.consent.library import FormLibrary, FormTemplate
from roi.consent.models import Consent
from roi.web.language import day

#: how many categories a title names before it says "and N more"
TITLE_CATEGORIES = 2


def reading_language() -> str:
    """The language the client reads this page in: the release shown and signed in it too."""
    return i18n.supported(str(get_locale() or i18n.DEFAULT_LANGUAGE))


def form_of(library: FormLibrary, consent: Consent) -> FormTemplate:
    """The consent's form in the page's language (English when the form has no such text)."""
    return library.get(consent.template_id, consent.template_version).in_language(
        reading_language()
    )


def release_title(library: FormLibrary, consent: Consent) -> str:
    """ "To Helen Brooks: Diagnosis and treatment summary, Medications, 4 March 2026": whom,
    what and when, so two releases of the same form read differently on the client's list."""
    form = form_of(library, consent)
    labels = [form.category(code).label for code in consent.categories]
    what = ", ".join(labels[:TITLE_CATEGORIES]) or form.title
    if len(labels) > TITLE_CATEGORIES:
        what = ngettext(
            "%(what)s and %(num)d more",
            "%(what)s and %(num)d more",
            len(labels) - TITLE_CATEGORIES,
            what=what,
        )
    return _(
        "To %(recipient)s: %(what)s, %(day)s",
        recipient=consent.recipient.name,
        what=what,
        day=day(consent.sent_at or consent.created_at),
    )


def release_titles(library: FormLibrary, consents: list[Consent]) -> dict[int, str]:
    """Each consent's title, by id."""
    return {consent.id: release_title(library, consent) for consent in consents}
