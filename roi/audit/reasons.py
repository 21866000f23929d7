"""Why something was refused: the stable reason codes audit entries store, and their words.

Each code has its words here and nowhere else: `present`, the sentence the clinician is told at
the time (marked for translation, with `%(consent)s` the consent's number, `%(recipient)s` the
recipient's name, `%(label)s` the category's or purpose's label: `roi.consent.gate` makes it an
`i18n.Message`, English in the API and the page's language on a page); `past`, the log's
sentence about what was decided then (marked too, `%(label)s` the category's label); `label`,
the compliance overview's words at a glance (marked for translation: show it with `translated`).

A category code is stored with its category after a colon (`category_not_covered:diagnosis`,
`ReasonCode.stored`): audit entries keep that form, and the API returns it.
"""

from __future__ import annotations

from enum import StrEnum

from roi.i18n import N_


class ReasonCode(StrEnum):
    """A reason code and its words (see the module)."""

    label: str
    present: str
    past: str
    #: stored with ":<category>" after it
    per_category: bool

    def __new__(
        cls, value: str, label: str, present: str, past: str, per_category: bool = False
    ) -> ReasonCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.present = present
        member.past = past
        member.per_category = per_category
        return member

    # --- the gate (roi/consent/gate.py) ---
    CATEGORIES_REQUIRED = (
        "categories_required",
        N_("No information named"),
        N_("Say which kinds of information you share."),
        N_("No kind of information was named."),
    )
    PURPOSE_REQUIRED = (
        "purpose_required",
        N_("No purpose named"),
        N_("Say why you are sharing this information."),
        N_("No purpose was given."),
    )
    NO_CONSENT = (
        "no_consent",
        N_("No consent for this recipient"),
        N_("This client has not authorized you to share information with %(recipient)s."),
        N_("The client had not authorized this provider to share with this recipient."),
    )
    RECIPIENT_NOT_COVERED = (
        "recipient_not_covered",
        N_("Recipient not named on any consent"),
        N_("No release for this client names %(recipient)s as a recipient."),
        N_("No release for this client named this recipient."),
    )
    DIRECTION_NOT_COVERED = (
        "direction_not_covered",
        N_("One-way consent, other direction"),
        N_(
            "Consent #%(consent)s lets %(recipient)s share with you, not you with them: it is "
            "one-way."
        ),
        N_("The only release between these providers was one-way, in the other direction."),
    )
    CONSENT_NOT_SENT = (
        "consent_not_sent",
        N_("Consent still a draft"),
        N_("Consent #%(consent)s is a draft that was never sent for signature."),
        N_("The release was a draft that was never sent for signature."),
    )
    CONSENT_PENDING_SIGNATURE = (
        "consent_pending_signature",
        N_("Consent not signed yet"),
        N_("Consent #%(consent)s is waiting for the client's signature."),
        N_("The release was still waiting for the client's signature."),
    )
    CONSENT_REVOKED = (
        "consent_revoked",
        N_("Consent revoked"),
        N_("Consent #%(consent)s was revoked by the client."),
        N_("The release had been revoked by the client."),
    )
    CONSENT_EXPIRED = (
        "consent_expired",
        N_("Consent expired"),
        N_("Consent #%(consent)s has expired."),
        N_("The release had expired."),
    )
    CONSENT_VOIDED = (
        "consent_voided",
        N_("Consent voided"),
        N_("Consent #%(consent)s was voided before it was signed."),
        N_("The release had been voided before it was signed."),
    )
    CONSENT_SUPERSEDED = (
        "consent_superseded",
        N_("Consent replaced by a newer version"),
        N_("Consent #%(consent)s was replaced by a newer version."),
        N_("The release had been replaced by a newer version."),
    )
    PURPOSE_NOT_COVERED = (
        "purpose_not_covered",
        N_("Purpose not covered"),
        N_('Consent #%(consent)s does not cover the purpose "%(label)s".'),
        N_("The release did not cover the stated purpose."),
    )
    CATEGORY_NOT_COVERED = (
        "category_not_covered",
        N_("Information not covered"),
        N_('Consent #%(consent)s does not cover "%(label)s".'),
        N_("The release did not cover “%(label)s”."),
        True,
    )
    CATEGORY_NEEDS_PSYCHOTHERAPY_NOTES_AUTHORIZATION = (
        "category_needs_psychotherapy_notes_authorization",
        N_("Psychotherapy notes need own consent"),
        N_(
            "Psychotherapy notes may only be shared under their own psychotherapy-notes "
            "authorization; consent #%(consent)s is not one."
        ),
        N_(
            "“%(label)s” are psychotherapy notes: they may only be shared under their own "
            "psychotherapy-notes authorization (45 CFR 164.508(a)(2))."
        ),
        True,
    )
    CATEGORY_NEEDS_PART2_CONSENT = (
        "category_needs_part2_consent",
        N_("Substance-use records need a Part 2 consent"),
        N_(
            '"%(label)s" is a substance-use-disorder record: it may only be shared under a '
            "42 CFR Part 2 consent; consent #%(consent)s is not one."
        ),
        N_(
            "“%(label)s” is a substance-use-disorder record: it may only be shared under a "
            "42 CFR Part 2 consent."
        ),
        True,
    )
    RESTRICTED_BY_AGREEMENT = (
        "restricted_by_agreement",
        N_("Restricted at the client's request"),
        N_(
            "The client asked that this not be shared and the practice agreed (restriction "
            "#%(restriction)s): no consent overrides it."
        ),
        N_(
            "The client had asked that this not be shared, and the practice had agreed "
            "(45 CFR 164.522(a))."
        ),
    )
    EMERGENCY_NOT_OWN_CLIENT = (
        "emergency_not_own_client",
        N_("Emergency sent by another practice"),
        N_(
            "Only a clinician of the client's own practice may disclose without a consent in an "
            "emergency."
        ),
        N_(
            "Only a clinician of the client's own practice may disclose without a consent in an "
            "emergency."
        ),
    )
    EMERGENCY_NATURE_REQUIRED = (
        "emergency_nature_required",
        N_("Emergency without its nature"),
        N_("State the nature of the emergency."),
        N_("The nature of the emergency was not stated (42 CFR 2.51(c))."),
    )
    EMERGENCY_PERSONNEL_REQUIRED = (
        "emergency_personnel_required",
        N_("Emergency without receiving personnel"),
        N_("Name the personnel who receive the information."),
        N_("The receiving personnel were not named (42 CFR 2.51(c))."),
    )
    EMERGENCY_PSYCHOTHERAPY_NOTES = (
        "emergency_psychotherapy_notes",
        N_("Psychotherapy notes without a serious threat"),
        N_(
            '"%(label)s" are psychotherapy notes: without the client\'s authorization they may '
            "only be shared to prevent a serious and imminent threat to health or safety."
        ),
        N_(
            "“%(label)s” are psychotherapy notes: without authorization they may only be shared "
            "to prevent a serious and imminent threat (45 CFR 164.508(a)(2)(ii))."
        ),
        True,
    )
    EMERGENCY_PART2_NOT_MEDICAL = (
        "emergency_part2_not_medical",
        N_("Substance-use records without a medical emergency"),
        N_(
            '"%(label)s" is a substance-use-disorder record: without a Part 2 consent it may only '
            "be shared in a bona fide medical emergency."
        ),
        N_(
            "“%(label)s” is a substance-use-disorder record: without consent it may only be "
            "shared in a bona fide medical emergency (42 CFR 2.51)."
        ),
        True,
    )
    # --- signing in (roi/accounts/sessions.py) ---
    BAD_CREDENTIALS = (
        "bad_credentials",
        N_("Wrong email address or password"),
        "Wrong email address or password.",
        N_("Wrong email address or password."),
    )
    INACTIVE_ACCOUNT = (
        "inactive_account",
        N_("Account disabled"),
        "The account is disabled.",
        N_("The account is disabled."),
    )
    # --- passkeys at the second step (roi/accounts/passkeys.py) ---
    PASSKEY_NO_CHALLENGE = (
        "passkey_no_challenge",
        N_("Passkey answer without a challenge"),
        "Reload the page and use your passkey again.",
        N_("A passkey answer came with no open challenge (used already, or never asked)."),
    )
    PASSKEY_MALFORMED = (
        "passkey_malformed",
        N_("Passkey answer unreadable"),
        "The passkey's answer could not be read. Try again.",
        N_("The passkey answer could not be read."),
    )
    PASSKEY_UNKNOWN = (
        "passkey_unknown",
        N_("Passkey not on the account"),
        "This passkey is not one of this account's passkeys.",
        N_("The answer came from a passkey that was not on the account."),
    )
    PASSKEY_WRONG_ORIGIN = (
        "passkey_wrong_origin",
        N_("Passkey used for another site"),
        "The passkey answered for another site.",
        N_("The browser signed the answer on another site (a relayed sign-in)."),
    )
    PASSKEY_NOT_VERIFIED = (
        "passkey_not_verified",
        N_("Passkey answer did not verify"),
        "The passkey's answer did not verify. Try again.",
        N_("The passkey answer did not verify (challenge, host or signature)."),
    )
    PASSKEY_COUNTER_WENT_BACK = (
        "passkey_counter_went_back",
        N_("Passkey counter went back (clone?)"),
        "The passkey's counter went back.",
        N_(
            "The passkey's counter was not above the last seen: a cloned authenticator or a replay."
        ),
    )

    def stored(self, category: str | None = None) -> str:
        """The code as audit entries store it: with `:<category>` for a category code."""
        if self.per_category != (category is not None):
            raise ValueError(
                f"{self.value} is stored {'with' if self.per_category else 'without'} a category"
            )
        return f"{self.value}:{category}" if category is not None else self.value

    @classmethod
    def parse(cls, stored: str) -> tuple[ReasonCode, str | None] | None:
        """A stored code as (code, category), or None when it is not one of these codes."""
        prefix, colon, category = stored.partition(":")
        code = cls._value2member_map_.get(prefix)
        if not isinstance(code, ReasonCode):
            return None
        if code.per_category and category:
            return code, category
        if not code.per_category and not colon:
            return code, None
        return None

    @classmethod
    def label_of(cls, code: str) -> str:
        """The overview's words for a code without its category; the code itself when unknown."""
        found = cls._value2member_map_.get(code)
        return found.label if isinstance(found, ReasonCode) else code
