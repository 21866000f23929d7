"""The core elements of a valid authorization (45 CFR 164.508(c)), checked before sending.

Pure functions: a draft and its form template in, the list of what is missing out, each with the
rule it comes from and a sentence the clinician can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from roi.consent.library import FormTemplate, TemplateKind
from roi.i18n import N_, Message

#: words that make a Part 2 description explicit about substance use (42 CFR 2.31(a)(3))
SUBSTANCE_USE_WORDS = re.compile(
    r"substance|alcohol|drug|opioid|opiate|methadone|buprenorphine|addiction|\bSUD\b|"
    r"cannabis|stimulant|withdrawal|detox",
    re.IGNORECASE,
)
MIN_DESCRIPTION = 15


@dataclass(frozen=True)
class Draft:
    """What a consent says so far, in plain values."""

    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    information_description: str
    expires_on: date | None
    expiry_event: str | None
    discloser_provider_id: int | None
    recipient_provider_id: int | None


@dataclass(frozen=True)
class MissingElement:
    #: the field to fix, as the API names it
    field: str
    #: the regulation it comes from
    rule: str
    message: str


def missing_elements(draft: Draft, template: FormTemplate, *, today: date) -> list[MissingElement]:
    """Every element the draft lacks before it may be sent for signature, in form order."""
    missing: list[MissingElement] = []
    missing += _information(draft, template)
    if draft.discloser_provider_id is None:
        missing.append(
            MissingElement(
                "discloser", "164.508(c)(1)(ii)", N_("Name who may share the information.")
            )
        )
    if draft.recipient_provider_id is None:
        missing.append(
            MissingElement(
                "recipient_provider_id",
                "164.508(c)(1)(iii)",
                N_("Choose who may receive the information from the provider directory."),
            )
        )
    elif draft.recipient_provider_id == draft.discloser_provider_id:
        missing.append(
            MissingElement(
                "recipient_provider_id",
                "164.508(c)(1)(iii)",
                N_("The recipient must be someone other than the person sharing."),
            )
        )
    missing += _purposes(draft, template)
    missing += _expiry(draft, today)
    return missing


def _information(draft: Draft, template: FormTemplate) -> list[MissingElement]:
    rule = "164.508(c)(1)(i)"
    found: list[MissingElement] = []
    if not draft.categories:
        found.append(
            MissingElement("categories", rule, N_("Choose the information that may be shared."))
        )
    for code in draft.categories:
        found += _category_problems(code, template)
    if len(draft.information_description.strip()) < MIN_DESCRIPTION:
        found.append(
            MissingElement(
                "information_description",
                rule,
                N_(
                    "Describe the information specifically, for example "
                    "“diagnosis, current medications and treatment summary since January 2026”."
                ),
            )
        )
    if template.kind is TemplateKind.PART2:
        found += _part2_problems(draft, template)
    return found


def _category_problems(code: str, template: FormTemplate) -> list[MissingElement]:
    codes = {c.code for c in template.categories}
    if code in codes:
        return []
    if code == "psychotherapy_notes" or "psychotherapy" in code:
        return [
            MissingElement(
                "categories",
                "164.508(b)(3)(ii)",
                N_(
                    "Psychotherapy notes need their own authorization: use the "
                    "psychotherapy-notes form, which covers nothing else."
                ),
            )
        ]
    return [
        MissingElement(
            "categories",
            "164.508(c)(1)(i)",
            Message("“%(code)s” is not offered by this form.", code=code),
        )
    ]


def _part2_problems(draft: Draft, template: FormTemplate) -> list[MissingElement]:
    found: list[MissingElement] = []
    sud_codes = {c.code for c in template.categories if c.substance_use_disorder}
    if not sud_codes.intersection(draft.categories):
        found.append(
            MissingElement(
                "categories",
                "42 CFR 2.31(a)(3)",
                N_(
                    "A Part 2 consent must include the substance use disorder information to be "
                    "shared."
                ),
            )
        )
    if not SUBSTANCE_USE_WORDS.search(draft.information_description):
        found.append(
            MissingElement(
                "information_description",
                "42 CFR 2.31(a)(3)",
                N_(
                    "Say explicitly which substance use disorder information may be shared, for "
                    "example “diagnosis and medication for opioid use disorder”."
                ),
            )
        )
    return found


def _purposes(draft: Draft, template: FormTemplate) -> list[MissingElement]:
    rule = "164.508(c)(1)(iv)"
    if not draft.purposes:
        return [
            MissingElement(
                "purposes",
                rule,
                N_("Give each purpose of the disclosure, or “at the request of the individual”."),
            )
        ]
    codes = {p.code for p in template.purposes}
    return [
        MissingElement(
            "purposes", rule, Message("“%(code)s” is not a purpose this form offers.", code=code)
        )
        for code in draft.purposes
        if code not in codes
    ]


def _expiry(draft: Draft, today: date) -> list[MissingElement]:
    rule = "164.508(c)(1)(v)"
    event = (draft.expiry_event or "").strip()
    if draft.expires_on is None and not event:
        return [
            MissingElement(
                "expires_on", rule, N_("Give an expiration date or an expiration event.")
            )
        ]
    if draft.expires_on is not None and draft.expires_on <= today:
        return [
            MissingElement("expires_on", rule, N_("The expiration date must be in the future."))
        ]
    return []
