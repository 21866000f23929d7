"""The log's words: audit actions as people say them, reason codes as sentences about the past
(the log reports what was decided then, not what holds now; `roi.audit.reasons` holds each
code's words)."""

from __future__ import annotations

from roi.audit import Action
from roi.audit.reasons import ReasonCode
from roi.consent.library import FormLibrary

ACTION_LABELS: dict[Action, str] = {
    Action.DISCLOSURE_PERMITTED: "Disclosure sent",
    Action.DISCLOSURE_DENIED: "Disclosure blocked",
    Action.DECISION_CHECKED: "Consent checked (nothing sent)",
    Action.MESSAGE_READ: "Message opened",
    Action.CONSENT_CREATED: "Release created",
    Action.CONSENT_SENT: "Release sent for signature",
    Action.CONSENT_SIGNED: "Release signed",
    Action.CONSENT_REVOKED: "Release revoked",
    Action.CONSENT_EXPIRED: "Release expired",
    Action.CONSENT_VOIDED: "Release voided",
    Action.CONSENT_SUPERSEDED: "Release superseded",
    Action.CONSENT_HANDED_TO_CLIENT: "Device handed to the client to sign",
    Action.CONSENT_HANDED_BACK: "Device handed back to the clinician",
    Action.SIGNING_CODE_SENT: "Signing code emailed",
    Action.SIGNING_IDENTITY_VERIFIED: "Signer's identity confirmed",
    Action.SIGNING_IDENTITY_FAILED: "Signer's identity check failed",
    Action.AUTH_LOGIN: "Signed in",
    Action.AUTH_LOGIN_FAILED: "Sign-in failed",
    Action.AUTH_LOGOUT: "Signed out",
    Action.AUTH_THROTTLED: "Sign-in throttled",
    Action.AUTH_SESSION_EXPIRED: "Session expired",
    Action.AUTH_TOKEN_ISSUED: "API token issued",
    Action.AUTH_PASSWORD_CHANGED: "Password changed",
    Action.AUTH_MFA_ENROLLED: "Second factor set up",
    Action.AUTH_MFA_VERIFIED: "Second factor confirmed",
    Action.AUTH_MFA_FAILED: "Second factor refused",
    Action.AUTH_MFA_RECOVERY_CODE_USED: "Recovery code used",
    Action.AUTH_MFA_RESET: "Second factor reset",
    Action.AUTH_MFA_POLICY_CHANGED: "Second-factor requirement changed",
    Action.AUTH_PASSWORD_CHANGE_FAILED: "Password change refused: wrong current password",
    Action.AUTH_PASSWORD_RESET_REQUESTED: "Password reset link asked for",
    Action.AUTH_PASSWORD_RESET: "Password reset through a link",
    Action.AUTH_SESSION_ENDED: "Session ended by its owner",
    Action.USER_CREATED: "Account created",
    Action.USER_DISABLED: "Account disabled",
    Action.USER_ENABLED: "Account enabled",
    Action.USER_UPDATED: "Account changed",
    Action.USER_INVITED: "Password link sent to an account",
    Action.ORGANIZATION_CREATED: "Organization created",
    Action.CLIENT_CREATED: "Client record created",
    Action.CLIENT_UPDATED: "Client record changed",
    Action.PROVIDER_CREATED: "Directory entry created",
    Action.PROVIDER_UPDATED: "Directory entry changed",
    Action.AUTHZ_DENIED: "Access refused",
    Action.RECORD_VIEWED: "Record viewed",
    Action.DOCUMENT_DOWNLOADED: "Document downloaded",
    Action.AUDIT_VIEWED: "Audit log viewed",
    Action.AUDIT_EXPORTED: "Audit log exported",
    Action.AUDIT_VERIFIED: "Audit chain verified",
    Action.AUDIT_CHECKPOINT: "Audit checkpoint written",
    Action.CRYPTO_INTEGRITY_FAILURE: "Sealed data failed its integrity check",
    Action.KEYS_ROTATED: "Encryption keys rotated",
    Action.KEY_REMOVED: "Old encryption key removed",
    Action.ACCOUNTING_REQUESTED: "Accounting requested",
    Action.ACCOUNTING_EXTENDED: "Accounting deadline extended",
    Action.ACCOUNTING_FULFILLED: "Accounting provided",
    Action.DISCLOSURE_RECORDED: "Disclosure made outside roi recorded",
    Action.ACCOUNTING_SUSPENDED: "Accounting suspended for an agency",
    Action.ACCOUNTING_FEE_SET: "Accounting fee set",
    Action.ACCOUNTING_FEE_ACCEPTED: "Accounting fee accepted",
    Action.ACCOUNTING_CHANGED: "Accounting request changed",
    Action.ACCOUNTING_WITHDRAWN: "Accounting request withdrawn",
    Action.CLIENT_DISCHARGED: "Discharge recorded",
    Action.CONSENT_SIGNATURE_REFUSED: "Signature refused: not the required signer",
    Action.CLIENT_REPRESENTATIVE_RECORDED: "Personal representative recorded",
    Action.CLIENT_REPRESENTATIVE_ENDED: "Personal representative ended",
    Action.ORGANIZATION_UPDATED: "Practice settings changed",
    Action.SHARE_REQUESTED: "Client asked to share their records",
    Action.DISCLOSURE_EMERGENCY: "Emergency disclosure sent (no consent)",
    Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED: "Emergency disclosure refused: rate reached",
    Action.DISCLOSURE_EMERGENCY_REVIEWED: "Emergency disclosure reviewed",
    Action.RESTRICTION_REQUESTED: "Restriction requested",
    Action.RESTRICTION_AGREED: "Restriction agreed",
    Action.RESTRICTION_DECLINED: "Restriction declined",
    Action.RESTRICTION_TERMINATED: "Restriction ended",
}


def action_label(action: str) -> str:
    """An action as people say it ("Disclosure blocked"); the code itself when unnamed."""
    try:
        return ACTION_LABELS.get(Action(action), action)
    except ValueError:
        return action


def reason_sentence(code: str, library: FormLibrary | None = None) -> str:
    """A stored reason code as the log's sentence about what was decided then; a category
    reason names the category by its label. An unknown code is shown as itself, never dropped."""
    parsed = ReasonCode.parse(code)
    if parsed is None:
        return f"Reason code “{code}”."
    reason, category = parsed
    if category is None:
        return reason.past
    return reason.past.format(label=_category_label(category, library))


def _category_label(code: str, library: FormLibrary | None) -> str:
    if library is not None:
        for category in library.categories():
            if category.code == code:
                return category.label
    return code
