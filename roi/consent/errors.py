"""Consent refusals."""

from __future__ import annotations

from collections.abc import Sequence

from roi.consent.elements import MissingElement
from roi.errors import Invalid


class IncompleteConsent(Invalid):
    """The consent lacks core elements (164.508(c)); each is named with its rule."""

    def __init__(self, missing: Sequence[MissingElement]) -> None:
        fields: dict[str, str] = {}
        for element in missing:
            fields[element.field] = " ".join(
                filter(None, [fields.get(element.field), element.message])
            )
        super().__init__(fields, "This release is missing required elements.")
        self.missing = list(missing)
