"""The consent lifecycle: create, send for signature, sign, revoke, expire, void, supersede.

Each step owns its transaction: the state change, its sealed fields and its audit entry commit
together or not at all. State changes lock the consent row first (SELECT … FOR UPDATE; on SQLite
the write transaction's BEGIN IMMEDIATE), so two concurrent signatures or revocations cannot both
succeed: the second finds the new state and gets WrongState (409).

The steps live in `drafting`, `sending`, `signing`, `paper`, `ending` and `documents`; this package
re-exports their public names, so callers write `lifecycle.revoke(...)`.
"""

from __future__ import annotations

from roi.consent.lifecycle._shared import (
    COPY_LINK_LIFETIME,
    STATE_WORDS,
    date_end,
    description_of,
    description_place,
    mail_copy_link,
    notify,
    state_refusal,
)
from roi.consent.lifecycle.documents import (
    resend_copy_link,
    revocation_document,
    revocation_receipt,
    signed_pdf,
)
from roi.consent.lifecycle.drafting import (
    MAX_DESCRIPTION,
    MAX_EVENT,
    ConsentFields,
    check_draft,
    completeness,
    create,
    event_wording,
    new_version,
    update_draft,
    void,
)
from roi.consent.lifecycle.ending import (
    MAX_REASON,
    ReceivedRevocation,
    record_discharge,
    record_expiry_event,
    record_revocation,
    revoke,
)
from roi.consent.lifecycle.paper import (
    PaperSignature,
    blank_release,
    record_paper,
)
from roi.consent.lifecycle.sending import (
    Sent,
    preview_html,
    resend_signing_link,
    send_for_signature,
)
from roi.consent.lifecycle.signing import (
    MAX_DRAWN_SIGNATURE,
    MIN_AUTHORITY,
    Identity,
    SignatureInput,
    evidence_of,
    sign_as_client,
    sign_for_verified_invitation,
    sign_in_person,
)

__all__ = [
    "COPY_LINK_LIFETIME",
    "MAX_DESCRIPTION",
    "MAX_DRAWN_SIGNATURE",
    "MAX_EVENT",
    "MAX_REASON",
    "MIN_AUTHORITY",
    "STATE_WORDS",
    "ConsentFields",
    "Identity",
    "PaperSignature",
    "ReceivedRevocation",
    "Sent",
    "SignatureInput",
    "blank_release",
    "check_draft",
    "completeness",
    "date_end",
    "create",
    "event_wording",
    "description_of",
    "description_place",
    "evidence_of",
    "mail_copy_link",
    "new_version",
    "notify",
    "preview_html",
    "record_discharge",
    "record_expiry_event",
    "record_paper",
    "record_revocation",
    "resend_copy_link",
    "resend_signing_link",
    "revocation_document",
    "revocation_receipt",
    "revoke",
    "send_for_signature",
    "sign_as_client",
    "sign_for_verified_invitation",
    "sign_in_person",
    "signed_pdf",
    "state_refusal",
    "update_draft",
    "void",
]
