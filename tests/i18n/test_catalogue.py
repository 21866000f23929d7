"""The Spanish catalogue: every marked string translated, with the same placeholders, and no
English text left unmarked in a template."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment, nodes

from roi import i18n

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = i18n.CATALOGUES / "es" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
#: words that are the same in both languages (names, codes, abbreviations)
SAME_IN_BOTH = {"roi", "PDF", "HIPAA", "CSV", "JSON", "FHIR", "UTC", "API", "ID", "PNG", "SMTP"}
#: attributes whose values people read or hear
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "data-label", "aria-description"}


def marked_messages() -> set[str]:
    """Every msgid marked in roi/ and templates/, as `pybabel extract -F babel.cfg -k N_` finds."""
    method_map = [("roi/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "N_": None,
        "Message": None,
        "lazy_gettext": None,
    }
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map=method_map,
        # hidden directories only: Babel's default also skips "_" ones, like templates/_macros
        directory_filter=lambda path: not Path(path).name.startswith("."),
        options_map={"templates/**.html": {"trimmed": "true"}},
        keywords=keywords,
    ):
        if isinstance(message, tuple):
            # a plural is one entry, under its singular; its forms are checked as its msgstr
            found.update(message[:1] if message[0] else [])
        elif message:
            found.add(message)
    return found


def spanish_catalogue():
    with CATALOGUE.open("rb") as po:
        return read_po(po, locale="es")


def test_every_marked_string_has_a_reviewed_spanish_translation():
    catalogue = spanish_catalogue()
    missing = sorted(
        message
        for message in marked_messages()
        if message not in catalogue
        or catalogue[message].fuzzy
        or not all(
            catalogue[message].string
            if isinstance(catalogue[message].string, tuple)
            else [catalogue[message].string]
        )
    )
    assert missing == [], f"{len(missing)} strings have no Spanish translation: {missing[:20]}"


def test_translations_keep_every_placeholder():
    for message in spanish_catalogue():
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        for target in targets:
            if target:
                assert set(PLACEHOLDER.findall(target)) <= wanted | {"num"}, message.id
                assert wanted - {"num"} <= set(PLACEHOLDER.findall(target)) | {"num"}, message.id


def test_the_catalogue_has_no_duplicate_entries():
    """Concurrent changes merge the catalogue by keeping both sides (.gitattributes)."""
    ids = re.findall(r'^msgid "(.*)"$', CATALOGUE.read_text(encoding="utf-8"), re.MULTILINE)
    ids = [i for i in ids if i]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicated == []


class _Text(HTMLParser):
    """The text a reader meets in a template's literal markup: text nodes and read attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skipping += 1
        self.pieces.extend(value or "" for name, value in attrs if name in READ_ATTRIBUTES)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.pieces.append(data)


def untranslated_words(source: str) -> list[str]:
    """English words in a template's literal text: what `{% trans %}` and `_()` did not wrap."""
    tree = Environment(autoescape=True, extensions=["jinja2.ext.i18n"]).parse(source)
    # expressions become a neutral mark, so markup split around them still parses
    literal = "\x00".join(node.data for node in tree.find_all(nodes.TemplateData))
    parser = _Text()
    parser.feed(literal)
    text = " ".join(parser.pieces).replace("\x00", " ")
    return [word for word in re.findall(r"[A-Za-z][A-Za-z'’]+", text) if word not in SAME_IN_BOTH]


TEMPLATES = sorted(
    path.relative_to(ROOT / "templates").as_posix() for path in (ROOT / "templates").rglob("*.html")
)


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_english_is_left_unmarked_in_templates(name):
    words = untranslated_words((ROOT / "templates" / name).read_text(encoding="utf-8"))
    assert words == [], f"{name}: unmarked text {' '.join(words[:15])}"
