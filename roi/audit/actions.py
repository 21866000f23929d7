"""Every kind of audit entry, named as CONTRACT.md names them (warehouse's EventTag)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGOUT = "auth.logout"
    AUTH_THROTTLED = "auth.throttled"
    AUTH_SESSION_EXPIRED = "auth.session_expired"
    AUTH_TOKEN_ISSUED = "auth.token_issued"  # noqa: S105 - an action name, not a secret
    AUTH_PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an action name
    #: an authenticator app (or passkey: `detail.kind`) confirmed as a second factor
    AUTH_MFA_ENROLLED = "auth.mfa_enrolled"
    AUTH_MFA_VERIFIED = "auth.mfa_verified"
    AUTH_MFA_FAILED = "auth.mfa_failed"
    AUTH_MFA_RECOVERY_CODE_USED = "auth.mfa_recovery_code_used"
    #: every second factor of a user removed, by an admin or the instance operator
    AUTH_MFA_RESET = "auth.mfa_reset"
    #: a user removed one of their own second factors (`detail.kind`: `passkey`)
    AUTH_MFA_REMOVED = "auth.mfa_removed"
    #: an admin turned "second factor required for staff" on or off (`detail.required`)
    AUTH_MFA_POLICY_CHANGED = "auth.mfa_policy_changed"
    #: a wrong current password on the change form (SECURITY A9)
    AUTH_PASSWORD_CHANGE_FAILED = "auth.password_change_failed"  # noqa: S105 - an action name
    #: a reset link was asked for; `subject_user_id` is empty when the address has no account
    AUTH_PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"  # noqa: S105 - an action name
    AUTH_PASSWORD_RESET = "auth.password_reset"  # noqa: S105 - an action name
    #: a user ended one of their own sessions from "Your sessions"
    AUTH_SESSION_ENDED = "auth.session_ended"
    AUTHZ_DENIED = "authz.denied"
    USER_CREATED = "user.created"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    #: an administrator changed a user's name or role; `detail` names the fields
    USER_UPDATED = "user.updated"
    #: an administrator sent a user a link to set their password
    USER_INVITED = "user.invited"
    ORGANIZATION_CREATED = "organization.created"
    #: an administrator changed a practice setting; `detail` names it and its new value
    ORGANIZATION_UPDATED = "organization.updated"
    CLIENT_CREATED = "client.created"
    CLIENT_UPDATED = "client.updated"
    #: the clinician recorded the end of treatment; `detail` carries `occurred_on`
    CLIENT_DISCHARGED = "client.discharged"
    #: a personal representative (guardian or other) recorded with their authority document
    CLIENT_REPRESENTATIVE_RECORDED = "client.representative_recorded"
    CLIENT_REPRESENTATIVE_ENDED = "client.representative_ended"
    PROVIDER_CREATED = "provider.created"
    PROVIDER_UPDATED = "provider.updated"
    RECORD_VIEWED = "record.viewed"
    CONSENT_CREATED = "consent.created"
    CONSENT_SENT = "consent.sent"
    CONSENT_SIGNED = "consent.signed"
    CONSENT_REVOKED = "consent.revoked"
    CONSENT_EXPIRED = "consent.expired"
    CONSENT_VOIDED = "consent.voided"
    CONSENT_SUPERSEDED = "consent.superseded"
    #: a clinician mailed the signer a new link to their signed copy (164.508(c)(4))
    CONSENT_COPY_SENT = "consent.copy_sent"
    #: the written confirmation of a revocation made by phone arrived and was recorded
    CONSENT_REVOCATION_CONFIRMED = "consent.revocation_confirmed"
    #: a signature by someone the signer rule does not allow; `detail` carries the rule's code
    CONSENT_SIGNATURE_REFUSED = "consent.signature_refused"
    #: the clinician handed their device to the client to sign in the office
    CONSENT_HANDED_TO_CLIENT = "consent.handed_to_client"
    #: the clinician took their device back with their password (and second factor)
    CONSENT_HANDED_BACK = "consent.handed_back"
    #: a client asked, from the portal, to share their records; `detail` carries the request id
    SHARE_REQUESTED = "share.requested"
    SIGNING_CODE_SENT = "signing.code_sent"
    SIGNING_IDENTITY_VERIFIED = "signing.identity_verified"
    SIGNING_IDENTITY_FAILED = "signing.identity_failed"
    DECISION_CHECKED = "decision.checked"
    DISCLOSURE_PERMITTED = "disclosure.permitted"
    DISCLOSURE_DENIED = "disclosure.denied"
    #: sent without a consent under an emergency basis (42 CFR 2.51, 45 CFR 164.512(j));
    #: `detail` carries `basis` and `emergency_disclosure_id`
    DISCLOSURE_EMERGENCY = "disclosure.emergency"
    #: a disclosure made outside roi (phone, fax, mail, court), recorded by staff;
    #: `detail` carries `basis` and `outside_disclosure_id`
    DISCLOSURE_RECORDED = "disclosure.recorded"
    #: a clinician reached the practice's emergency rate: the send was refused, and this entry
    #: is compliance's alert
    DISCLOSURE_EMERGENCY_RATE_EXCEEDED = "disclosure.emergency_rate_exceeded"
    #: compliance reviewed an emergency disclosure; `detail` carries `emergency_disclosure_id`
    DISCLOSURE_EMERGENCY_REVIEWED = "disclosure.emergency_reviewed"
    RESTRICTION_REQUESTED = "restriction.requested"
    RESTRICTION_AGREED = "restriction.agreed"
    RESTRICTION_DECLINED = "restriction.declined"
    RESTRICTION_TERMINATED = "restriction.terminated"
    MESSAGE_READ = "message.read"
    ACCOUNTING_REQUESTED = "accounting.requested"
    ACCOUNTING_EXTENDED = "accounting.extended"
    ACCOUNTING_FULFILLED = "accounting.fulfilled"
    #: an agency's statement suspends its entries from accountings (164.528(a)(2))
    ACCOUNTING_SUSPENDED = "accounting.suspended"
    #: the practice set the fee for a repeat accounting (164.528(c)(2))
    ACCOUNTING_FEE_SET = "accounting.fee_set"
    #: the client agreed to the fee they were told in advance
    ACCOUNTING_FEE_ACCEPTED = "accounting.fee_accepted"
    #: the client changed the range or kind of a request that carries a fee
    ACCOUNTING_CHANGED = "accounting.changed"
    #: the client withdrew a request (to avoid the fee, or for any reason)
    ACCOUNTING_WITHDRAWN = "accounting.withdrawn"
    #: a request quoted a fee became the free one: the free request before it was withdrawn
    ACCOUNTING_FREED = "accounting.freed"
    #: a compliance officer looked at the log, an accounting or a FHIR export (SECURITY G7)
    AUDIT_VIEWED = "audit.viewed"
    DOCUMENT_DOWNLOADED = "document.downloaded"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    CRYPTO_INTEGRITY_FAILURE = "crypto.integrity_failure"
    KEYS_ROTATED = "keys.rotated"
    KEY_REMOVED = "keys.removed"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    PERMIT = "permit"
    DENY = "deny"
