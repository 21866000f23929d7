"""Who must sign a release: the client, a personal representative, or either (issue 12 item 5).

`required_signer()` is the one rule. It reads the form's kind, the client's age on the day of
signing, the practice's state (`rules/signers.toml`, data like `forms/`) and what the clinician
recorded on the client:

- an adult signs for themself (45 CFR 164.502(g)(1)); under guardianship the guardian signs, and
  with another personal representative either may (164.502(g)(2));
- for a minor a parent or guardian signs (164.502(g)(3)), unless the minor consented to their
  own care under state law: then the parent is not their personal representative for that care
  and only the minor signs (164.502(g)(3)(i));
- a 42 CFR Part 2 consent of a minor whom state law lets consent to substance-use treatment is
  signed by the minor alone (42 CFR 2.14(a)); otherwise by a parent or guardian (2.14(b), which
  also asks for the minor's own signature: roi records the parent's).

Signing compares the signer's relationship with it (`check_signer`), and refuses the wrong person
with a reason that names the rule; with a personal representative on record, only that person,
in the name on record, signs for the client.
"""

from __future__ import annotations

import functools
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from roi.accounts.models import Client, ClientRepresentative, RepresentativeKind
from roi.consent.library import TemplateKind
from roi.consent.models import RequiredSigner, SignerRelationship
from roi.errors import ConfigError
from roi.i18n import DEFAULT_LANGUAGE, LANGUAGES, Message, Worded

RULES_FILE = Path("rules") / "signers.toml"
#: the languages a state's texts may be given in besides English (`<key>_es`)
TRANSLATED = tuple(language for language in LANGUAGES if language != DEFAULT_LANGUAGE)
_PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StateRule:
    """One state's ages and their statutes (`rules/signers.toml`)."""

    code: str
    name: str
    age_of_majority: int
    age_of_majority_citation: str
    mental_health_age: int | None = None
    mental_health_citation: str | None = None
    substance_use_age: int | None = None
    substance_use_citation: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class SignerRule:
    """Who must sign, the stable code of the rule that decided it, and the rule in words."""

    who: RequiredSigner
    code: str
    reason: str

    @property
    def for_minor(self) -> bool:
        """Whether the client is a minor on the day (the rules of a minor are `minor_*`)."""
        return self.code.startswith("minor_")


class SignerRulesError(ConfigError):
    """The rules file breaks its schema; the message names the file and the field."""


class SignerRules:
    """Every state's rule, by two-letter code, and the conservative default."""

    def __init__(self, default: StateRule, states: Mapping[str, StateRule]) -> None:
        self.default = default
        self.states = dict(states)

    @classmethod
    def load(cls, path: Path) -> SignerRules:
        """Read and check the rules file.

        Raises:
            SignerRulesError: the file is missing or a field is wrong (named).
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise SignerRulesError(f"{path}: {error}") from None
        default = _state(path, "default", "", data.get("default"))
        raw = data.get("states", {})
        if not isinstance(raw, dict):
            raise SignerRulesError(f"{path}: states: must be a table of [states.XX] tables")
        states = {code: _state(path, f"states.{code}", code, table) for code, table in raw.items()}
        return cls(default, states)

    def for_state(self, code: str | None) -> StateRule:
        """The rule of state `code`, or the default when it is unset or not listed."""
        return self.states.get(code or "", self.default)

    def choices(self) -> list[tuple[str, str]]:
        """(code, name) of every listed state, by name."""
        return sorted(((c, s.name) for c, s in self.states.items()), key=lambda item: item[1])


@functools.cache
def shipped_rules() -> SignerRules:
    """The rules file beside the package (a checkout) or inside it (a wheel: roi/_share)."""
    for root in (_PACKAGE.parent, _PACKAGE / "_share"):
        if (root / RULES_FILE).is_file():
            return SignerRules.load(root / RULES_FILE)
    raise SignerRulesError(f"{RULES_FILE} not found beside {_PACKAGE}")


def _may_consent_to_own_care(state: StateRule, age: int) -> bool:
    """Whether `state`'s law lets a minor of `age` consent alone to the mental-health care a
    release other than Part 2 is about: the own-care flag counts only then. (A minor's consent to
    substance-use treatment decides Part 2 consents by its own age, above.) A flag recorded under
    another state's law, or too young for this one's, leaves the parent signing."""
    return state.mental_health_age is not None and age >= state.mental_health_age


def age_on(birth_date: date, day: date) -> int:
    """Completed years of life on `day` (someone born on 29 February turns a year older on
    1 March in common years)."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def required_signer(
    kind: TemplateKind | str, client: Client, state: StateRule, day: date
) -> SignerRule:
    """Who must sign a release of `kind` for `client` on `day`, under `state`'s law."""
    age = age_on(client.birth_date, day)
    if age >= state.age_of_majority:
        return _adult(client, state)
    minor = {
        "name": client.given_name,
        "age": age,
        "state": state.name,
        "majority": state.age_of_majority,
        "citation": state.age_of_majority_citation,
    }
    if TemplateKind(kind) is TemplateKind.PART2:
        if state.substance_use_age is not None and age >= state.substance_use_age:
            return SignerRule(
                RequiredSigner.CLIENT,
                "minor_part2_alone",
                Message(
                    "%(name)s is %(age)s, under the age of majority in %(state)s (%(majority)s, "
                    "%(citation)s), but state law lets a minor of this age consent to "
                    "substance-use treatment (%(law)s), so only the minor may sign a Part 2 "
                    "consent (42 CFR 2.14(a)).",
                    law=state.substance_use_citation,
                    **minor,
                ),
            )
        return SignerRule(
            RequiredSigner.REPRESENTATIVE,
            "minor_part2_parent",
            Message(
                "%(name)s is %(age)s, under the age of majority in %(state)s (%(majority)s, "
                "%(citation)s), and state law does not let them consent alone to substance-use "
                "treatment, so a parent or guardian signs (42 CFR 2.14(b)).",
                **minor,
            ),
        )
    if client.own_care_consent and _may_consent_to_own_care(state, age):
        return SignerRule(
            RequiredSigner.CLIENT,
            "minor_own_care",
            Message(
                "%(name)s is %(age)s, under the age of majority in %(state)s (%(majority)s, "
                "%(citation)s), but they consented to their own care under state law, so a "
                "parent is not their personal representative for it and only the minor may sign "
                "(45 CFR 164.502(g)(3)(i)).",
                **minor,
            ),
        )
    return SignerRule(
        RequiredSigner.REPRESENTATIVE,
        "minor_parent_signs",
        Message(
            "%(name)s is %(age)s, under the age of majority in %(state)s (%(majority)s, "
            "%(citation)s), so a parent or guardian signs as their personal representative "
            "(45 CFR 164.502(g)(3)).",
            **minor,
        ),
    )


def check_signer(
    rule: SignerRule,
    relationship: SignerRelationship,
    signer_name: str,
    representative: ClientRepresentative | None,
) -> str | None:
    """Why `signer_name`, signing as `relationship`, may not sign under `rule`; None when they
    may. With a personal representative on record, only they sign for the client: in their role
    and in the name on record (a signer cannot make themself the representative by saying so)."""
    if rule.who is RequiredSigner.CLIENT and relationship is not SignerRelationship.SELF:
        return Message("Only the client can sign this release. %(rule)s", rule=rule.reason)
    if rule.who is RequiredSigner.REPRESENTATIVE and relationship is SignerRelationship.SELF:
        return Message("The client cannot sign this release alone. %(rule)s", rule=rule.reason)
    if relationship is SignerRelationship.SELF or representative is None:
        return None
    if (
        relationship is SignerRelationship.PARENT
        and rule.for_minor
        and representative.kind is not RepresentativeKind.GUARDIAN
    ):
        return None  # a minor's parents stay their representatives beside another one
    role = (
        SignerRelationship.GUARDIAN
        if representative.kind is RepresentativeKind.GUARDIAN
        else SignerRelationship.PERSONAL_REPRESENTATIVE
    )
    if relationship is not role or _plain(signer_name) != _plain(representative.name):
        return Message(
            "%(representative)s is the client's personal representative on record: only they "
            "may sign for the client, in their own name. If that has changed, the practice "
            "records the new representative first.",
            representative=representative.name,
        )
    return None


def _plain(name: str) -> str:
    """A name as compared: one form of each letter, any case, single spaces."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _adult(client: Client, state: StateRule) -> SignerRule:
    adult = {
        "name": client.given_name,
        "state": state.name,
        "citation": state.age_of_majority_citation,
    }
    representative = client.representative
    if representative is None:
        return SignerRule(
            RequiredSigner.CLIENT,
            "adult_signs",
            Message(
                "%(name)s is an adult in %(state)s (%(citation)s) and signs for themself "
                "(45 CFR 164.502(g)(1)).",
                **adult,
            ),
        )
    if representative.kind is RepresentativeKind.GUARDIAN:
        return SignerRule(
            RequiredSigner.REPRESENTATIVE,
            "adult_under_guardianship",
            Message(
                "%(name)s is an adult in %(state)s (%(citation)s) under guardianship: the "
                "guardian, %(representative)s, signs as their personal representative "
                "(45 CFR 164.502(g)(2)).",
                representative=representative.name,
                **adult,
            ),
        )
    return SignerRule(
        RequiredSigner.CLIENT_OR_REPRESENTATIVE,
        "adult_with_representative",
        Message(
            "%(name)s is an adult in %(state)s (%(citation)s); %(representative)s is also their "
            "personal representative, so either may sign (45 CFR 164.502(g)(2)).",
            representative=representative.name,
            **adult,
        ),
    )


#: the texts of a state's table; each may have its Spanish beside it, as `<key>_es`
_TEXT_KEYS = (
    "name",
    "age_of_majority_citation",
    "mental_health_citation",
    "substance_use_citation",
    "note",
)
_STATE_KEYS = frozenset(
    {
        "age_of_majority",
        "mental_health_age",
        "substance_use_age",
        *_TEXT_KEYS,
        *(f"{key}_{language}" for key in _TEXT_KEYS for language in TRANSLATED),
    }
)


def _state(path: Path, where: str, code: str, table: Any) -> StateRule:
    def fail(field: str, problem: str) -> SignerRulesError:
        return SignerRulesError(f"{path}: {where}.{field}: {problem}" if field else problem)

    if not isinstance(table, dict):
        raise SignerRulesError(f"{path}: {where}: must be a table")
    if code and (len(code) != 2 or not code.isalpha() or not code.isupper()):
        raise SignerRulesError(f"{path}: {where}: a state is its two-letter code, like WA")
    unknown = sorted(set(table) - _STATE_KEYS)
    if unknown:
        raise fail(unknown[0], "unknown key")
    for key in ("name", "age_of_majority_citation"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise fail(key, "is required text")
    ages: dict[str, int | None] = {}
    for key in ("age_of_majority", "mental_health_age", "substance_use_age"):
        value = table.get(key)
        if value is None and key != "age_of_majority":
            ages[key] = None
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 21:
            raise fail(key, "must be an age from 0 to 21")
        ages[key] = value
    for age, citation in (
        ("mental_health_age", "mental_health_citation"),
        ("substance_use_age", "substance_use_citation"),
    ):
        if (ages[age] is None) != (table.get(citation) is None):
            raise fail(citation, f"give it exactly when {age} is given")
    majority = ages["age_of_majority"]
    assert majority is not None  # noqa: S101 - checked above
    texts: dict[str, Worded | None] = {}
    for key in _TEXT_KEYS:
        others = {language: table.get(f"{key}_{language}") for language in TRANSLATED}
        for language, text in others.items():
            if text is not None and (not isinstance(text, str) or table.get(key) is None):
                raise fail(f"{key}_{language}", f"must be text, beside {key}")
        english = table.get(key)
        texts[key] = (
            None
            if english is None
            else Worded(
                english, **{language: text for language, text in others.items() if text is not None}
            )
        )
    return StateRule(
        code=code,
        name=texts["name"] or "",
        age_of_majority=majority,
        age_of_majority_citation=texts["age_of_majority_citation"] or "",
        mental_health_age=ages["mental_health_age"],
        mental_health_citation=texts["mental_health_citation"],
        substance_use_age=ages["substance_use_age"],
        substance_use_citation=texts["substance_use_citation"],
        note=texts["note"],
    )
