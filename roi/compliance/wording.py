"""The log's words: audit actions as people say them, reason codes as sentences about the past
(the log reports what was decided then, not what holds now; `roi.audit.reasons` holds each
code's words)."""

from __future__ import annotations

from roi.audit import Action
from roi.audit.reasons import ReasonCode
from roi.consent.library import FormLibrary
from roi.i18n import N_, Message

ACTION_LABELS: dict[Action, str] = {
    Action.DISCLOSURE_PERMITTED: N_("Disclosure sent"),
    Action.DISCLOSURE_DENIED: N_("Disclosure blocked"),
    Action.DECISION_CHECKED: N_("Consent checked (nothing sent)"),
    Action.MESSAGE_READ: N_("Message opened"),
    Action.CONSENT_CREATED: N_("Release created"),
    Action.CONSENT_SENT: N_("Release sent for signature"),
    Action.CONSENT_SIGNED: N_("Release signed"),
    Action.CONSENT_REVOKED: N_("Release revoked"),
    Action.CONSENT_EXPIRED: N_("Release expired"),
    Action.CONSENT_VOIDED: N_("Release voided"),
    Action.CONSENT_SUPERSEDED: N_("Release superseded"),
    Action.CONSENT_HANDED_TO_CLIENT: N_("Device handed to the client to sign"),
    Action.CONSENT_HANDED_BACK: N_("Device handed back to the clinician"),
    Action.SIGNING_CODE_SENT: N_("Signing code emailed"),
    Action.SIGNING_IDENTITY_VERIFIED: N_("Signer's identity confirmed"),
    Action.SIGNING_IDENTITY_FAILED: N_("Signer's identity check failed"),
    Action.AUTH_LOGIN: N_("Signed in"),
    Action.AUTH_LOGIN_FAILED: N_("Sign-in failed"),
    Action.AUTH_LOGOUT: N_("Signed out"),
    Action.AUTH_THROTTLED: N_("Sign-in throttled"),
    Action.AUTH_SESSION_EXPIRED: N_("Session expired"),
    Action.AUTH_TOKEN_ISSUED: N_("API token issued"),
    Action.AUTH_PASSWORD_CHANGED: N_("Password changed"),
    Action.AUTH_MFA_ENROLLED: N_("Second factor set up"),
    Action.AUTH_MFA_VERIFIED: N_("Second factor confirmed"),
    Action.AUTH_MFA_FAILED: N_("Second factor refused"),
    Action.AUTH_MFA_RECOVERY_CODE_USED: N_("Recovery code used"),
    Action.AUTH_MFA_RESET: N_("Second factor reset"),
    Action.AUTH_MFA_REMOVED: N_("Second factor removed by its owner"),
    Action.AUTH_MFA_POLICY_CHANGED: N_("Second-factor requirement changed"),
    Action.AUTH_PASSWORD_CHANGE_FAILED: N_("Password change refused: wrong current password"),
    Action.AUTH_PASSWORD_RESET_REQUESTED: N_("Password reset link asked for"),
    Action.AUTH_PASSWORD_RESET: N_("Password reset through a link"),
    Action.AUTH_SESSION_ENDED: N_("Session ended by its owner"),
    Action.USER_CREATED: N_("Account created"),
    Action.USER_DISABLED: N_("Account disabled"),
    Action.USER_ENABLED: N_("Account enabled"),
    Action.USER_UPDATED: N_("Account changed"),
    Action.USER_INVITED: N_("Password link sent to an account"),
    Action.ORGANIZATION_CREATED: N_("Organization created"),
    Action.CLIENT_CREATED: N_("Client record created"),
    Action.CLIENT_UPDATED: N_("Client record changed"),
    Action.PROVIDER_CREATED: N_("Directory entry created"),
    Action.PROVIDER_UPDATED: N_("Directory entry changed"),
    Action.AUTHZ_DENIED: N_("Access refused"),
    Action.RECORD_VIEWED: N_("Record viewed"),
    Action.DOCUMENT_DOWNLOADED: N_("Document downloaded"),
    Action.AUDIT_VIEWED: N_("Audit log viewed"),
    Action.AUDIT_EXPORTED: N_("Audit log exported"),
    Action.AUDIT_VERIFIED: N_("Audit chain verified"),
    Action.AUDIT_CHECKPOINT: N_("Audit checkpoint written"),
    Action.CRYPTO_INTEGRITY_FAILURE: N_("Sealed data failed its integrity check"),
    Action.KEYS_ROTATED: N_("Encryption keys rotated"),
    Action.KEY_REMOVED: N_("Old encryption key removed"),
    Action.ACCOUNTING_REQUESTED: N_("Accounting requested"),
    Action.ACCOUNTING_EXTENDED: N_("Accounting deadline extended"),
    Action.ACCOUNTING_FULFILLED: N_("Accounting provided"),
    Action.DISCLOSURE_RECORDED: N_("Disclosure made outside roi recorded"),
    Action.ACCOUNTING_SUSPENDED: N_("Accounting suspended for an agency"),
    Action.ACCOUNTING_FEE_SET: N_("Accounting fee set"),
    Action.ACCOUNTING_FEE_ACCEPTED: N_("Accounting fee accepted"),
    Action.ACCOUNTING_CHANGED: N_("Accounting request changed"),
    Action.ACCOUNTING_WITHDRAWN: N_("Accounting request withdrawn"),
    Action.ACCOUNTING_FREED: N_("Accounting request made free: the free one was withdrawn"),
    Action.CLIENT_DISCHARGED: N_("Discharge recorded"),
    Action.CONSENT_SIGNATURE_REFUSED: N_("Signature refused: not the required signer"),
    Action.CLIENT_REPRESENTATIVE_RECORDED: N_("Personal representative recorded"),
    Action.CLIENT_REPRESENTATIVE_ENDED: N_("Personal representative ended"),
    Action.ORGANIZATION_UPDATED: N_("Practice settings changed"),
    Action.SHARE_REQUESTED: N_("Client asked to share their records"),
    Action.DISCLOSURE_EMERGENCY: N_("Emergency disclosure sent (no consent)"),
    Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED: N_("Emergency disclosure refused: rate reached"),
    Action.DISCLOSURE_EMERGENCY_REVIEWED: N_("Emergency disclosure reviewed"),
    Action.RESTRICTION_REQUESTED: N_("Restriction requested"),
    Action.RESTRICTION_AGREED: N_("Restriction agreed"),
    Action.RESTRICTION_DECLINED: N_("Restriction declined"),
    Action.RESTRICTION_TERMINATED: N_("Restriction ended"),
}


def action_label(action: str) -> str:
    """An action as people say it ("Disclosure blocked"); the code itself when unnamed."""
    try:
        return ACTION_LABELS.get(Action(action), action)
    except ValueError:
        return action


def reason_sentence(code: str, library: FormLibrary | None = None, language: str = "en") -> str:
    """A stored reason code as the log's sentence about what was decided then; a category
    reason names the category by its label (in `language`). An unknown code is shown as itself,
    never dropped."""
    parsed = ReasonCode.parse(code)
    if parsed is None:
        return Message("Reason code “%(code)s”.", code=code)
    reason, category = parsed
    if category is None:
        return reason.past
    return Message(reason.past, label=_category_label(category, library, language))


def _category_label(code: str, library: FormLibrary | None, language: str) -> str:
    if library is not None:
        for category in library.categories(language):
            if category.code == code:
                return category.label
    return code
