"""Disclosures without a consent in an emergency: the bases the law allows, and what each needs.

A clinician of the client's own practice may disclose without a consent when a bona fide medical
emergency requires it (42 CFR 2.51: to medical personnel, for treatment) or to prevent or lessen
a serious and imminent threat to someone's health or safety (45 CFR 164.512(j)). Either way the
nature of the emergency and who receives the information must be stated, because that is what
the disclosure record documents (42 CFR 2.51(c)). `roi.consent.gate.decide` checks these rules;
this module names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from roi.i18n import N_

#: free text about the emergency is kept short: it is a record, not the clinical note
MAX_NATURE = 2000
MAX_PERSONNEL = 300
MAX_NOT_TOLD_REASON = 1000


class EmergencyBasis(StrEnum):
    """A basis in law for disclosing without a consent, with its citation and words."""

    citation: str
    label: str
    #: the banner the recipient reads on the message
    banner: str

    def __new__(cls, value: str, citation: str, label: str, banner: str) -> EmergencyBasis:
        member = str.__new__(cls, value)
        member._value_ = value
        member.citation = citation
        member.label = label
        member.banner = banner
        return member

    MEDICAL_EMERGENCY = (
        "medical_emergency",
        "42 CFR 2.51",
        N_("Bona fide medical emergency"),
        N_(
            "Emergency disclosure: sent without the client's consent because of a bona fide "
            "medical emergency (42 CFR 2.51). Use it only for the emergency treatment it was sent "
            "for."
        ),
    )
    SERIOUS_THREAT = (
        "serious_threat",
        "45 CFR 164.512(j)",
        N_("Serious and imminent threat to health or safety"),
        N_(
            "Emergency disclosure: sent without the client's consent to prevent or lessen a "
            "serious and imminent threat to health or safety (45 CFR 164.512(j))."
        ),
    )

    @classmethod
    def of(cls, code: str) -> EmergencyBasis:
        """The basis with this code.

        Raises:
            ValueError: no such basis.
        """
        for basis in cls:
            if basis.value == code:
                return basis
        raise ValueError(f"not an emergency basis: {code[:40]!r}")


@dataclass(frozen=True)
class Emergency:
    """What a clinician states to disclose without a consent: the basis, the nature of the
    emergency and the personnel who receive the information."""

    basis: EmergencyBasis
    nature: str
    recipient_personnel: str
