"""The languages roi speaks: English (the source text) and Spanish, from one catalogue.

Bottom layer, no Flask. The web layer (Flask-Babel) and the domain's mails and documents read the
same catalogue, `roi/translations/<language>/LC_MESSAGES/messages.po`. Domain code that writes to
someone in their own language (a mail to a client, the PDF they sign) wraps the work in
`speaking(language)` and marks its strings with `gettext`. Text shown later, in the reader's
language (refusal reasons, error messages), is a `Message` (or a constant marked with `N_`): it
reads as English everywhere a string is expected (the JSON API, logs) and the web layer shows it
translated (`roi.web.language.translated`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, Final, TypeGuard

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

#: every language roi speaks, the source language first
LANGUAGES: Final = ("en", "es")
DEFAULT_LANGUAGE: Final = "en"
#: each language named in itself, as a language switch shows it
LANGUAGE_NAMES: Final = {"en": "English", "es": "Español"}
#: where roi's practices are (HIPAA): a time names its zone as people there say it; Spain's
#: Spanish has no names for American zones and prints an offset ("-0800") where US Spanish, like
#: English, says "PST"
REGION: Final = "US"
CATALOGUES: Final = Path(__file__).resolve().parent / "translations"

_speaking: ContextVar[str] = ContextVar("roi_language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it: it is translated where shown."""
    return message


class Message(str):
    """English text that keeps its catalogue id and parameters, to be shown translated later.

    `Message("No such %(what)s.", what=Message("release"))` is the string "No such release." and
    also knows how to say it in Spanish (`in_language`). A `str`, so code and tests that compare,
    log or serialize it see the English.
    """

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> Message:
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid = msgid
        text.params = params
        return text

    def in_language(self, language: str) -> str:
        """This message (and any message among its parameters) in `language`."""
        return translate(self, language)

    def kept(self) -> dict[str, object]:
        """This message as JSON keeps it (`{"msgid", "params"}`, messages among the parameters
        kept the same way), to be shown later in the reader's language (`restored`)."""
        return {"msgid": self.msgid, "params": {k: _kept(v) for k, v in self.params.items()}}

    @classmethod
    def restored(cls, kept: dict[str, Any]) -> Message:
        """The message `kept` stored."""
        params = {name: _restored(value) for name, value in kept.get("params", {}).items()}
        return cls(str(kept["msgid"]), **params)


class Worded(str):
    """Data written in several languages (a rules file's `<key>_es` beside its English): reads as
    the English; `translate` picks the reader's language (English when it has none). Given as a
    `Message` parameter, it is shown in the message's language."""

    others: dict[str, str]

    def __new__(cls, english: str, **others: str) -> Worded:
        text = super().__new__(cls, english)
        text.others = others
        return text


def _kept(value: object) -> object:
    if isinstance(value, Message):
        return value.kept()
    if isinstance(value, Worded):
        return {"worded": {DEFAULT_LANGUAGE: str(value), **value.others}}
    if _is_day(value):
        return {"day": value.isoformat()}
    return value


def _restored(value: object) -> object:
    if isinstance(value, dict) and "worded" in value:
        texts = dict(value["worded"])
        return Worded(str(texts.pop(DEFAULT_LANGUAGE)), **texts)
    if isinstance(value, dict) and "day" in value:
        return date.fromisoformat(str(value["day"]))
    if isinstance(value, dict):
        return Message.restored(value)
    return value


def worded(words: Callable[[], str]) -> Worded:
    """What `words()` says in every language roi speaks (it is called speaking each), as one
    `Worded` text: for text built from pieces the catalogue cannot hold (a date in words)."""
    texts = {}
    for language in LANGUAGES:
        with speaking(language):
            texts[language] = words()
    return Worded(texts.pop(DEFAULT_LANGUAGE), **texts)


def translate(text: str, language: str) -> str:
    """`text` in `language`: a `Message` by its id and parameters, `Worded` data by its own text in
    that language, any other string looked up as it stands (constants marked with `N_`); text not
    in the catalogue stays as it is."""
    if isinstance(text, Worded):
        return text.others.get(supported(language), str(text))
    catalogue = translations(language)
    if isinstance(text, Message):
        params = {name: _translated(value, language) for name, value in text.params.items()}
        wording = catalogue.gettext(text.msgid)
        return wording % params if params else wording
    return catalogue.gettext(text)


def _translated(value: object, language: str) -> object:
    """A message's parameter as it reads in `language`: text translated, a day in words."""
    if isinstance(value, str):
        return translate(value, language)
    if _is_day(value):
        return format_date(value, "long", locale=supported(language))
    return value


def _is_day(value: object) -> TypeGuard[date]:
    # a datetime is a date too, but a moment needs its time zone to be read as a day
    return isinstance(value, date) and not isinstance(value, datetime)


def supported(language: str | None) -> str:
    """`language` if roi speaks it, else the default (a stored or requested code may be stale)."""
    if language is None:
        return DEFAULT_LANGUAGE
    code = language.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def regional(language: str | None) -> str:
    """The locale of `language` as spoken in roi's region, for formatting times: "es_US"."""
    return f"{supported(language)}_{REGION}"


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of `language`, read once per process.

    The `.po` files are what the repository keeps and reviewers read; compiling them in memory at
    first use means no build step and no compiled files that could fall out of step with them.
    Fuzzy (unreviewed) entries are left out, so they show the English source.
    """
    language = supported(language)
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Within the block, `gettext` and `ngettext` answer in `language` (or the default)."""
    token = _speaking.set(supported(language))
    try:
        yield _speaking.get()
    finally:
        _speaking.reset(token)


def current_language() -> str:
    return _speaking.get()


def gettext(message: str, **params: object) -> str:
    """`message` in the language being spoken, with `%(name)s` placeholders filled in."""
    text = translations(_speaking.get()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, count: int, **params: object) -> str:
    """The singular or plural of a message in the language being spoken; `%(num)d` is `count`."""
    text = translations(_speaking.get()).ngettext(singular, plural, count)
    return text % {"num": count, **params}
