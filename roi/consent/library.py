"""The form library: release-form templates kept as data in `forms/*.toml`, checked at start-up.

A form template is a kind of release form (DESIGN.md "Words"). Each TOML file gives one version of
one template; `FormLibrary.load` reads them all, refuses the first file that breaks a rule with a
one-line `FormLibraryError` naming the file and the field, and then serves frozen `FormTemplate`s
by (id, version). The schema is documented in `forms/README.md`.

The rules checked here are the ones a template can break on its own, before any client sees it:
the 164.508(c)(2) statements every authorization must carry, psychotherapy notes alone on their own
form (164.508(b)(3)(ii)), substance-use-disorder records only on a 42 CFR Part 2 form with the
§2.32 notice, and no typo in a key, a code or a placeholder passing silently.
"""

from __future__ import annotations

import json
import re
import string
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from roi.errors import ConfigError, NotFound

#: the only {placeholders} a text may use; filled when a consent is rendered
PLACEHOLDERS = frozenset({"discloser_organization", "recipient_name", "how_to_revoke"})
#: category, purpose and statement codes: stable, stored in consents and audit entries
CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,40}")
#: template ids: lower-kebab-case, like the file names
ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{1,60}")


class TemplateKind(StrEnum):
    GENERAL = "general"
    PSYCHOTHERAPY_NOTES = "psychotherapy_notes"
    PART2 = "part2"


#: statements every authorization carries, with the rule that asks for each
COMMON_STATEMENTS: Mapping[str, str] = {
    "revocation": "45 CFR 164.508(c)(2)(i)",
    "conditioning": "45 CFR 164.508(c)(2)(ii)",
    "redisclosure": "45 CFR 164.508(c)(2)(iii)",
    "electronic_signature": "consent to sign electronically (ESIGN Act, 15 U.S.C. 7001)",
}
#: statements a kind needs on top of COMMON_STATEMENTS
KIND_STATEMENTS: Mapping[TemplateKind, Mapping[str, str]] = {
    TemplateKind.GENERAL: {},
    TemplateKind.PSYCHOTHERAPY_NOTES: {},
    TemplateKind.PART2: {"part2_notice": "42 CFR 2.32"},
}

#: the languages a form may be written in besides English, each field's key suffix "_<language>"
TRANSLATED_INTO = ("es",)
#: statements given word for word in English, a translation printed beside them
KEPT_IN_ENGLISH: Mapping[str, str] = {"part2_notice": "42 CFR 2.32(a)(1): the notice verbatim"}

#: the text of each table that is translated (ids, codes and flags are not)
_TOP_TEXT = ("title", "introduction", "how_to_revoke", "expiry_events")
_CATEGORY_TEXT = ("label", "explanation")
_PURPOSE_TEXT = ("label",)
_STATEMENT_TEXT = ("heading", "text")


def _with_translations(keys: Iterable[str], text: Iterable[str]) -> frozenset[str]:
    return frozenset(
        {*keys, *(f"{key}_{language}" for key in text for language in TRANSLATED_INTO)}
    )


_TOP_KEYS = _with_translations(
    {"id", "version", "kind", "categories", "purposes", "statements", *_TOP_TEXT},
    _TOP_TEXT + ("version",),
)
_FLAGS = ("psychotherapy_notes", "substance_use_disorder", "hiv", "genetic")
_CATEGORY_KEYS = _with_translations({"code", *_CATEGORY_TEXT, *_FLAGS}, _CATEGORY_TEXT)
_PURPOSE_KEYS = _with_translations({"code", *_PURPOSE_TEXT}, _PURPOSE_TEXT)
_STATEMENT_KEYS = _with_translations({"code", *_STATEMENT_TEXT}, _STATEMENT_TEXT)


@dataclass(frozen=True)
class Category:
    """An information category a form offers (164.508(c)(1)(i): specific and meaningful)."""

    code: str
    label: str
    explanation: str
    psychotherapy_notes: bool = False
    substance_use_disorder: bool = False
    hiv: bool = False
    genetic: bool = False


@dataclass(frozen=True)
class Purpose:
    """A purpose a form offers (164.508(c)(1)(iv))."""

    code: str
    label: str


@dataclass(frozen=True)
class Statement:
    """A required or explanatory statement, shown before signing and printed on the PDF."""

    code: str
    heading: str
    text: str
    #: in a translation, the English text that stays beside it (KEPT_IN_ENGLISH), else None
    english: str | None = None


@dataclass(frozen=True)
class FormTemplate:
    """One version of one release form, as loaded from a TOML file and validated."""

    id: str
    version: int
    kind: TemplateKind
    title: str
    introduction: str
    categories: tuple[Category, ...]
    purposes: tuple[Purpose, ...]
    statements: tuple[Statement, ...]
    expiry_events: tuple[str, ...]
    how_to_revoke: str
    source: str
    #: the language of this text (roi.i18n.LANGUAGES)
    language: str = "en"
    #: the version of this language's text: `version` for English, `version_es` for Spanish
    language_version: int = 0
    #: the same form in its other languages, each a FormTemplate of its own
    translations: tuple[FormTemplate, ...] = field(default=(), compare=False, repr=False)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this form can be read in, English first."""
        return (self.language, *(t.language for t in self.translations))

    def in_language(self, language: str) -> FormTemplate:
        """This form in `language`, or in English when it has no text in that language (the
        result's `language` says which)."""
        return next((t for t in self.translations if t.language == language), self)

    def category(self, code: str) -> Category:
        """The category with this code.

        Raises:
            KeyError: the form does not offer it.
        """
        for category in self.categories:
            if category.code == code:
                return category
        raise KeyError(code)

    def purpose(self, code: str) -> Purpose:
        """The purpose with this code.

        Raises:
            KeyError: the form does not offer it.
        """
        for purpose in self.purposes:
            if purpose.code == code:
                return purpose
        raise KeyError(code)

    def statement(self, code: str) -> Statement:
        """The statement with this code.

        Raises:
            KeyError: the form has no such statement.
        """
        for statement in self.statements:
            if statement.code == code:
                return statement
        raise KeyError(code)

    def fill(self, text: str, **values: str) -> str:
        """`text` (any text of this template) with its placeholders filled from `values`.

        `how_to_revoke` defaults to this template's own instructions; either way its own
        placeholders are filled from the other values first.

        Raises:
            TypeError: a value is given for a name that is not a placeholder.
            ValueError: the text uses a placeholder no value was given for.
        """
        return _fill(text, self._values(values))

    def statement_texts(self, **values: str) -> tuple[tuple[str, str], ...]:
        """(heading, text) of every statement in display order, placeholders filled.

        Give `discloser_organization` and `recipient_name`; `how_to_revoke` is optional, as in
        `fill`.

        Raises:
            TypeError: a value is given for a name that is not a placeholder.
            ValueError: a statement uses a placeholder no value was given for.
        """
        filled = self._values(values)
        return tuple((_fill(s.heading, filled), _fill(s.text, filled)) for s in self.statements)

    def statement_originals(self, **values: str) -> tuple[str | None, ...]:
        """Per statement in display order, the English text kept beside its translation
        (placeholders filled), or None; all None in English."""
        filled = self._values(values)
        return tuple(
            None if s.english is None else _fill(s.english, filled) for s in self.statements
        )

    def _values(self, values: Mapping[str, str]) -> dict[str, str]:
        unknown = sorted(set(values) - PLACEHOLDERS)
        if unknown:
            raise TypeError(f"not a form placeholder: {', '.join(unknown)}")
        filled = {k: v for k, v in values.items() if k != "how_to_revoke"}
        # how_to_revoke is template text with its own placeholders ({discloser_organization}), so
        # it is filled first; the loader forbids {how_to_revoke} inside it, so this cannot recurse.
        # Left out when its own values are missing: only a text that uses it then fails.
        how = values.get("how_to_revoke", self.how_to_revoke)
        if _placeholders(how) <= set(filled):
            filled["how_to_revoke"] = how.format_map(filled)
        return filled


class FormLibraryError(ConfigError):
    """A form template file breaks a rule; the message names the file and the field, one line."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.field = field
        self.problem = problem


class FormLibrary:
    """Every loaded form template, by (id, version)."""

    def __init__(self, templates: Iterable[FormTemplate]) -> None:
        self._versions: dict[tuple[str, int], FormTemplate] = {}
        self._latest: dict[str, FormTemplate] = {}
        for template in templates:
            self._versions[(template.id, template.version)] = template
            current = self._latest.get(template.id)
            if current is None or template.version > current.version:
                self._latest[template.id] = template
        # per language, so a page in Spanish lists (and sorts) the Spanish labels
        self._categories = {
            language: _merged_categories(t.in_language(language) for t in self._versions.values())
            for language in ("en", *TRANSLATED_INTO)
        }
        self._purposes = {
            language: _merged_purposes(t.in_language(language) for t in self._versions.values())
            for language in ("en", *TRANSLATED_INTO)
        }

    @classmethod
    def load(cls, folder: Path) -> FormLibrary:
        """Read and validate every `*.toml` in `folder`.

        Raises:
            FormLibraryError: on the first file that breaks a rule, naming the file and the field.
        """
        if not folder.is_dir():
            raise FormLibraryError(str(folder), "", "form template folder not found")
        paths = sorted(folder.glob("*.toml"))
        if not paths:
            raise FormLibraryError(str(folder), "", "no *.toml form templates found")
        seen: dict[tuple[str, int], FormTemplate] = {}
        kinds: dict[str, FormTemplate] = {}
        for path in paths:
            template = _parse_file(path)
            key = (template.id, template.version)
            if key in seen:
                raise FormLibraryError(
                    template.source,
                    "version",
                    f'template "{template.id}" version {template.version} is also defined in '
                    f"{seen[key].source}",
                )
            # a consent names (id, version); the same id must mean the same kind of release
            first = kinds.setdefault(template.id, template)
            if first.kind is not template.kind:
                raise FormLibraryError(
                    template.source,
                    "kind",
                    f'"{template.kind}" differs from "{first.kind}" of template '
                    f'"{template.id}" in {first.source}; a template keeps its kind',
                )
            seen[key] = template
        return cls(seen.values())

    def get(self, template_id: str, version: int | None = None) -> FormTemplate:
        """The template with this id: the given version, or the latest when `version` is None.

        Raises:
            NotFound: no such template or version.
        """
        found = (
            self._latest.get(template_id)
            if version is None
            else self._versions.get((template_id, version))
        )
        if found is None:
            raise NotFound("form template")
        return found

    def all(self) -> list[FormTemplate]:
        """The latest version of each template, sorted by title."""
        return sorted(self._latest.values(), key=lambda t: (t.title.casefold(), t.id))

    def template_for(self, categories: Iterable[str]) -> FormTemplate | None:
        """The kind of release these categories need: psychotherapy notes and substance-use
        records each need their own (164.508(a)(2), 42 CFR 2.31); anything else a general one."""
        wanted = set(categories)
        chosen = [c for c in self._categories["en"] if c.code in wanted]
        if any(c.psychotherapy_notes for c in chosen):
            kind = TemplateKind.PSYCHOTHERAPY_NOTES
        elif any(c.substance_use_disorder for c in chosen):
            kind = TemplateKind.PART2
        else:
            kind = TemplateKind.GENERAL
        return next((t for t in self.all() if t.kind is kind), None)

    def categories(self, language: str = "en") -> list[Category]:
        """Every category any form offers, by code (the newest form's wording in `language`,
        English where a form has none), sorted by label.

        A code flagged psychotherapy notes or substance use disorder in any version of any form
        keeps the flag, so a sensitive code never passes as an ordinary one.
        """
        return list(self._categories.get(language, self._categories["en"]))

    def purposes(self, language: str = "en") -> list[Purpose]:
        """Every purpose any form offers, by code (the newest form's wording in `language`),
        sorted by label."""
        return list(self._purposes.get(language, self._purposes["en"]))


def _merged_categories(templates: Iterable[FormTemplate]) -> tuple[Category, ...]:
    found: dict[str, Category] = {}
    flags: dict[str, dict[str, bool]] = {}
    for template in sorted(templates, key=lambda t: t.version):
        for category in template.categories:
            found[category.code] = category
            seen = flags.setdefault(category.code, dict.fromkeys(_FLAGS, False))
            for flag in _FLAGS:
                seen[flag] = seen[flag] or getattr(category, flag)
    merged = [
        replace(
            found[code],
            psychotherapy_notes=flags[code]["psychotherapy_notes"],
            substance_use_disorder=flags[code]["substance_use_disorder"],
            hiv=flags[code]["hiv"],
            genetic=flags[code]["genetic"],
        )
        for code in found
    ]
    return tuple(sorted(merged, key=lambda c: (c.label.casefold(), c.code)))


def _merged_purposes(templates: Iterable[FormTemplate]) -> tuple[Purpose, ...]:
    found: dict[str, Purpose] = {}
    for template in sorted(templates, key=lambda t: t.version):
        for purpose in template.purposes:
            found[purpose.code] = purpose
    return tuple(sorted(found.values(), key=lambda p: (p.label.casefold(), p.code)))


# --- reading one file ------------------------------------------------------------------------


def _parse_file(path: Path) -> FormTemplate:
    source = str(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise FormLibraryError(source, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise FormLibraryError(source, "", f"not valid TOML: {error}") from None
    return _Reader(source).template(data)


class _Reader:
    """Turns one file's parsed TOML into a FormTemplate, or raises naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, problem: str) -> FormLibraryError:
        return FormLibraryError(self.source, field, problem)

    def template(self, data: dict[str, Any]) -> FormTemplate:
        self.no_unknown_keys(data, _TOP_KEYS, "")
        # ids and codes are identifiers, not prose: checked as written, never normalised
        self.line(data, "id", "id")  # present, a string, not blank
        template_id: str = data["id"]
        if not ID_PATTERN.fullmatch(template_id):
            raise self.fail("id", f"{_show(template_id)} must be lower-kebab-case, 2-61 chars")
        version = data.get("version")
        # TOML booleans are Python ints; `version = true` must not pass as 1
        if version is None:
            raise self.fail("version", "is required")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail("version", f"{_show(version)} must be a whole number, 1 or more")
        kind_text = self.line(data, "kind", "kind")
        try:
            kind = TemplateKind(kind_text)
        except ValueError:
            allowed = ", ".join(k.value for k in TemplateKind)
            raise self.fail("kind", f"{_show(kind_text)} must be one of {allowed}") from None
        categories = tuple(
            self.category(table, f"categories[{i}]")
            for i, table in enumerate(self.tables(data, "categories"))
        )
        purposes = tuple(
            Purpose(
                code=self.code(table, f"purposes[{i}]", _PURPOSE_KEYS),
                label=self.line(table, "label", f"purposes[{i}].label"),
            )
            for i, table in enumerate(self.tables(data, "purposes"))
        )
        statements = tuple(
            Statement(
                code=self.code(table, f"statements[{i}]", _STATEMENT_KEYS),
                heading=self.line(table, "heading", f"statements[{i}].heading"),
                text=self.text(table, "text", f"statements[{i}].text"),
            )
            for i, table in enumerate(self.tables(data, "statements", required=False))
        )
        for name, items in (
            ("categories", categories),
            ("purposes", purposes),
            ("statements", statements),
        ):
            self.unique_codes(name, [item.code for item in items])
        template = FormTemplate(
            id=template_id,
            version=version,
            kind=kind,
            title=self.line(data, "title", "title"),
            introduction=self.text(data, "introduction", "introduction"),
            categories=categories,
            purposes=purposes,
            statements=statements,
            expiry_events=self.expiry_events(data),
            how_to_revoke=self.text(
                data, "how_to_revoke", "how_to_revoke", allowed=PLACEHOLDERS - {"how_to_revoke"}
            ),
            source=self.source,
            language_version=version,
        )
        self.kind_rules(template)
        translations = tuple(
            self.translation(data, template, language)
            for language in TRANSLATED_INTO
            if self.has_translation(data, language)
        )
        return replace(template, translations=translations)

    # --- translations ---

    def has_translation(self, data: dict[str, Any], language: str) -> bool:
        """Whether the file gives its text in `language`: it must then say the text's version."""
        suffix = f"_{language}"
        if f"version{suffix}" in data:
            return True
        tables = [data, *_tables_of(data)]
        for table in tables:
            found = sorted(k for k in table if k.endswith(suffix))
            if found:
                raise self.fail(
                    f"version{suffix}",
                    f"is required when the form has text in {language!r} (e.g. {found[0]})",
                )
        return False

    def translation(
        self, data: dict[str, Any], english: FormTemplate, language: str
    ) -> FormTemplate:
        """The form in `language`: every text from its `<key>_<language>` beside the English,
        checked like the English and with the same placeholders; codes and flags are shared."""
        suffix = f"_{language}"
        version = data[f"version{suffix}"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(
                f"version{suffix}", f"{_show(version)} must be a whole number, 1 or more"
            )

        def text_of(table: Mapping[str, Any], keys: tuple[str, ...], path: str) -> dict[str, Any]:
            for key in keys:
                if key in table and f"{key}{suffix}" not in table:
                    where = f"{path}.{key}{suffix}" if path else f"{key}{suffix}"
                    raise self.fail(where, f"is required: the {language!r} text beside {key}")
            kept = {k: v for k, v in table.items() if k not in keys and not _is_translation(k)}
            return kept | {k: table[f"{k}{suffix}"] for k in keys if f"{k}{suffix}" in table}

        translated = text_of(data, _TOP_TEXT, "") | {
            key: [
                text_of(table, fields, f"{key}[{i}]") if isinstance(table, dict) else table
                for i, table in enumerate(data.get(key, []))
            ]
            for key, fields in (
                ("categories", _CATEGORY_TEXT),
                ("purposes", _PURPOSE_TEXT),
                ("statements", _STATEMENT_TEXT),
            )
        }
        events = translated.get("expiry_events")
        if isinstance(events, list) and len(events) != len(english.expiry_events):
            raise self.fail(f"expiry_events{suffix}", "must give one event per English event")
        try:
            template = _Reader(self.source).template(translated)
        except FormLibraryError as error:
            raise self.fail(_translated_field(error.field, suffix), error.problem) from None
        for field_name, source, target in _text_pairs(english, template):
            if _placeholders(source) != _placeholders(target):
                raise self.fail(
                    _translated_field(field_name, suffix),
                    f"uses placeholders {sorted(_placeholders(target))}, the English "
                    f"{sorted(_placeholders(source))}",
                )
        statements = tuple(
            replace(s, english=english.statement(s.code).text) if s.code in KEPT_IN_ENGLISH else s
            for s in template.statements
        )
        return replace(
            template,
            statements=statements,
            language=language,
            language_version=version,
            source=self.source,
        )

    # --- the rules of each kind ---

    def kind_rules(self, template: FormTemplate) -> None:
        have = {s.code for s in template.statements}
        required = {**COMMON_STATEMENTS, **KIND_STATEMENTS[template.kind]}
        for code, rule in required.items():
            if code not in have:
                raise self.fail(
                    "statements", f'a {template.kind} form needs a "{code}" statement ({rule})'
                )
        where = _index(template.statements, "revocation")
        # 164.508(c)(2)(i)(A): the statement must say how to revoke, not only that one may
        if "how_to_revoke" not in _placeholders(template.statement("revocation").text):
            raise self.fail(
                f"statements[{where}].text",
                "the revocation statement must include {how_to_revoke} (164.508(c)(2)(i)(A))",
            )
        notes = [i for i, c in enumerate(template.categories) if c.psychotherapy_notes]
        sud = [i for i, c in enumerate(template.categories) if c.substance_use_disorder]
        if template.kind is TemplateKind.PSYCHOTHERAPY_NOTES:
            # 164.508(b)(3)(ii): an authorization for psychotherapy notes covers nothing else
            if len(template.categories) != 1 or not notes:
                raise self.fail(
                    "categories",
                    "a psychotherapy_notes form must offer exactly one category, flagged "
                    "psychotherapy_notes = true, and nothing else (164.508(b)(3)(ii))",
                )
            return
        if notes:
            # the same rule seen from the other side: no other form may carry the notes
            raise self.fail(
                f"categories[{notes[0]}].psychotherapy_notes",
                f"a {template.kind} form may not offer psychotherapy notes; they need their own "
                "psychotherapy_notes form (164.508(b)(3)(ii))",
            )
        if template.kind is TemplateKind.GENERAL and sud:
            raise self.fail(
                f"categories[{sud[0]}].substance_use_disorder",
                "a general form may not offer substance use disorder records; they need a part2 "
                "form (42 CFR 2.31)",
            )
        if template.kind is TemplateKind.PART2 and not sud:
            # 42 CFR 2.31(a)(3): a Part 2 consent describes the SUD information explicitly
            raise self.fail(
                "categories",
                "a part2 form must offer at least one category flagged "
                "substance_use_disorder = true (42 CFR 2.31(a)(3))",
            )

    # --- fields ---

    def category(self, table: dict[str, Any], path: str) -> Category:
        self.no_unknown_keys(table, _CATEGORY_KEYS, path)
        flags: dict[str, bool] = {}
        for flag in _FLAGS:
            value = table.get(flag, False)
            if not isinstance(value, bool):
                raise self.fail(f"{path}.{flag}", f"{_show(value)} must be true or false")
            flags[flag] = value
        return Category(
            code=self.code(table, path, _CATEGORY_KEYS),
            label=self.line(table, "label", f"{path}.label"),
            explanation=self.text(table, "explanation", f"{path}.explanation"),
            **flags,
        )

    def code(self, table: dict[str, Any], path: str, keys: frozenset[str]) -> str:
        """Check a table's keys, then return its `code`."""
        self.no_unknown_keys(table, keys, path)
        self.line(table, "code", f"{path}.code")  # present, a string, not blank
        code: str = table["code"]
        if not CODE_PATTERN.fullmatch(code):
            raise self.fail(
                f"{path}.code", f"{_show(code)} must be lower_snake_case, 2-41 characters"
            )
        return code

    def tables(self, data: dict[str, Any], key: str, *, required: bool = True) -> list[Any]:
        value = data.get(key)
        if value is None or value == []:
            if required:
                raise self.fail(key, f"at least one is required (write [[{key}]] tables)")
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of [[{key}]] tables")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", f"must be a [[{key}]] table")
        return value

    def expiry_events(self, data: dict[str, Any]) -> tuple[str, ...]:
        value = data.get("expiry_events", [])
        if not isinstance(value, list):
            raise self.fail("expiry_events", "must be a list of strings")
        return tuple(
            self.text({"event": v}, "event", f"expiry_events[{i}]") for i, v in enumerate(value)
        )

    def line(self, table: Mapping[str, Any], key: str, path: str) -> str:
        """A required one-line string: whitespace runs collapse to one space."""
        return " ".join(self.text(table, key, path).split())

    def text(
        self,
        table: Mapping[str, Any],
        key: str,
        path: str,
        *,
        allowed: frozenset[str] = PLACEHOLDERS,
    ) -> str:
        """A required, non-blank string whose placeholders are all known.

        Lines inside a paragraph join with one space, so files can wrap freely; a blank line
        separates paragraphs, kept as "\\n\\n" for the page and the PDF to split on.
        """
        value = table.get(key)
        if value is None:
            raise self.fail(path, "is required")
        if not isinstance(value, str):
            raise self.fail(path, f"{_show(value)} must be a string")
        if not value.strip():
            raise self.fail(path, "must not be blank")
        try:
            names = _placeholders(value)
        except ValueError as error:
            raise self.fail(
                path, f"bad placeholder ({error}); write {{{{ or }}}} for a literal brace"
            ) from None
        unknown = sorted(names - allowed)
        if unknown:
            known = ", ".join(f"{{{p}}}" for p in sorted(allowed))
            raise self.fail(path, f"unknown placeholder {{{unknown[0]}}} (allowed: {known})")
        paragraphs = re.split(r"\n[ \t]*\n", value.strip())
        return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())

    def no_unknown_keys(self, table: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
        # a misspelt key ("explenation") would otherwise drop text silently
        unknown = sorted(set(table) - allowed)
        if unknown:
            field = f"{path}.{unknown[0]}" if path else unknown[0]
            raise self.fail(field, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def unique_codes(self, name: str, codes: list[str]) -> None:
        first: dict[str, int] = {}
        for i, code in enumerate(codes):
            if code in first:
                raise self.fail(
                    f"{name}[{i}].code", f"{_show(code)} is already used by {name}[{first[code]}]"
                )
            first[code] = i


def _is_translation(key: str) -> bool:
    return any(key.endswith(f"_{language}") for language in TRANSLATED_INTO)


def _tables_of(data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("categories", "purposes", "statements"):
        value = data.get(key)
        if isinstance(value, list):
            yield from (table for table in value if isinstance(table, dict))


def _translated_field(field: str, suffix: str) -> str:
    """A field of the translation as the file names it: "statements[0].text_es"."""
    return re.sub(r"^(.*?)(\w+)(\[\d+\])?$", rf"\1\2{suffix}\3", field) if field else field


def _text_pairs(english: FormTemplate, other: FormTemplate) -> Iterator[tuple[str, str, str]]:
    """(field, English text, translated text) for every text of a form, as the file names it."""
    yield "title", english.title, other.title
    yield "introduction", english.introduction, other.introduction
    yield "how_to_revoke", english.how_to_revoke, other.how_to_revoke
    for i, (a, b) in enumerate(zip(english.expiry_events, other.expiry_events, strict=True)):
        yield f"expiry_events[{i}]", a, b
    for i, (c, d) in enumerate(zip(english.categories, other.categories, strict=True)):
        yield f"categories[{i}].label", c.label, d.label
        yield f"categories[{i}].explanation", c.explanation, d.explanation
    for i, (p, q) in enumerate(zip(english.purposes, other.purposes, strict=True)):
        yield f"purposes[{i}].label", p.label, q.label
    for i, (s, t) in enumerate(zip(english.statements, other.statements, strict=True)):
        yield f"statements[{i}].heading", s.heading, t.heading
        yield f"statements[{i}].text", s.text, t.text


def _placeholders(text: str) -> set[str]:
    """The names of the {placeholders} in `text`.

    Raises:
        ValueError: unbalanced braces, or a placeholder that is not a plain name
            ({0}, {}, {x.y}, {x[0]}, {x!r}, {x:>9}).
    """
    names: set[str] = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{{{name}}} is not a plain {{name}}")
        names.add(name)
    return names


def _fill(text: str, values: Mapping[str, str]) -> str:
    missing = sorted(_placeholders(text) - set(values))
    if missing:
        raise ValueError(f"no value for placeholder {{{missing[0]}}}")
    return text.format_map(values)


def _index(statements: tuple[Statement, ...], code: str) -> int:
    return next(i for i, s in enumerate(statements) if s.code == code)


def _show(value: object) -> str:
    """A value for an error message: quoted, one line, short."""
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except TypeError:
        shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
