"""The one place authorization rules live: what each role may do, and which rows it may see.

Routes name a permission (`@requires(Permission.X)`), services call `require(actor, ...)`, and the
scoped loaders use the predicates below as SQL filters, so a record that is not yours is simply
not found. This module imports no other domain package.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, SQLColumnExpression, case, false, or_, select, true

from roi.accounts.models import Client
from roi.actor import Actor, Role
from roi.errors import Forbidden


class Permission(StrEnum):
    SIGNED_IN = "signed_in"
    VIEW_CLIENTS = "view_clients"
    CREATE_CLIENT = "create_client"
    VIEW_DIRECTORY = "view_directory"
    ADD_PROVIDER = "add_provider"
    MANAGE_USERS = "manage_users"
    #: change, disable and enable the directory entries of one's organization
    MANAGE_DIRECTORY = "manage_directory"
    USE_CLINICIAN_WORKSPACE = "use_clinician_workspace"
    USE_PORTAL = "use_portal"
    USE_COMPLIANCE_WORKSPACE = "use_compliance_workspace"
    VIEW_CONSENTS = "view_consents"
    PREPARE_CONSENT = "prepare_consent"
    SIGN_CONSENT = "sign_consent"
    REVOKE_CONSENT = "revoke_consent"
    #: ask the gate whether a disclosure would be permitted; nothing is disclosed
    CHECK_DISCLOSURE = "check_disclosure"
    SEND_MESSAGES = "send_messages"
    READ_MESSAGES = "read_messages"
    VIEW_DISCLOSURE_LOG = "view_disclosure_log"
    VERIFY_AUDIT_CHAIN = "verify_audit_chain"
    #: the accounting of disclosures (45 CFR 164.528): compliance for their clients, a client
    #: their own
    VIEW_ACCOUNTING = "view_accounting"
    #: record, extend and fulfil a client's request for an accounting (compliance's own
    #: workflow records; they change no consent, message or audit entry)
    MANAGE_ACCOUNTING_REQUESTS = "manage_accounting_requests"
    #: ask for one's own accounting in the portal (compliance records requests instead)
    REQUEST_OWN_ACCOUNTING = "request_own_accounting"
    #: record a revocation received outside roi (letter, fax, email, in person, phone)
    RECORD_REVOCATION = "record_revocation"
    #: record a disclosure made outside roi (phone, fax, mail, court) about a client of one's
    #: organization, for the accounting
    RECORD_OUTSIDE_DISCLOSURE = "record_outside_disclosure"
    #: suspend an agency's entries from accountings (164.528(a)(2)), set the accounting fee
    MANAGE_ACCOUNTING_POLICY = "manage_accounting_policy"
    #: ask one's practice to share one's records with a provider (164.508(c)(1)(iv))
    REQUEST_SHARING = "request_sharing"
    #: list and review the emergency disclosures of one's organization (compliance)
    REVIEW_EMERGENCY_DISCLOSURES = "review_emergency_disclosures"
    #: ask that information not be shared (the client; staff on the client's behalf), see the
    #: requests, and end an agreed restriction (164.522(a))
    REQUEST_RESTRICTION = "request_restriction"
    #: agree to or decline a client's restriction request (staff of the client's organization)
    DECIDE_RESTRICTION = "decide_restriction"
    #: change the practice's own settings (its emergency rate)
    MANAGE_PRACTICE_SETTINGS = "manage_practice_settings"


_EVERYONE = {Permission.SIGNED_IN}

# Deny by default: a role not listed here, or a permission not listed for a role, is refused.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLINICIAN: frozenset(
        _EVERYONE
        | {
            Permission.VIEW_CLIENTS,
            Permission.CREATE_CLIENT,
            Permission.VIEW_DIRECTORY,
            Permission.ADD_PROVIDER,
            Permission.USE_CLINICIAN_WORKSPACE,
            Permission.VIEW_CONSENTS,
            Permission.PREPARE_CONSENT,
            Permission.CHECK_DISCLOSURE,
            Permission.SEND_MESSAGES,
            Permission.READ_MESSAGES,
            Permission.RECORD_REVOCATION,
            Permission.RECORD_OUTSIDE_DISCLOSURE,
            Permission.REQUEST_RESTRICTION,
            Permission.DECIDE_RESTRICTION,
        }
    ),
    Role.CLIENT: frozenset(
        _EVERYONE
        | {
            Permission.VIEW_CLIENTS,
            Permission.USE_PORTAL,
            Permission.VIEW_CONSENTS,
            Permission.SIGN_CONSENT,
            Permission.REVOKE_CONSENT,
            Permission.VIEW_ACCOUNTING,
            Permission.REQUEST_OWN_ACCOUNTING,
            Permission.REQUEST_SHARING,
            Permission.REQUEST_RESTRICTION,
        }
    ),
    Role.COMPLIANCE: frozenset(
        _EVERYONE
        | {
            Permission.USE_COMPLIANCE_WORKSPACE,
            Permission.VIEW_CONSENTS,
            Permission.VIEW_DISCLOSURE_LOG,
            Permission.VERIFY_AUDIT_CHAIN,
            Permission.VIEW_ACCOUNTING,
            Permission.MANAGE_ACCOUNTING_REQUESTS,
            Permission.RECORD_REVOCATION,
            Permission.RECORD_OUTSIDE_DISCLOSURE,
            Permission.MANAGE_ACCOUNTING_POLICY,
            Permission.REVIEW_EMERGENCY_DISCLOSURES,
            Permission.REQUEST_RESTRICTION,
            Permission.DECIDE_RESTRICTION,
        }
    ),
    Role.ADMIN: frozenset(
        _EVERYONE
        | {
            Permission.MANAGE_USERS,
            Permission.MANAGE_DIRECTORY,
            Permission.VIEW_DIRECTORY,
            Permission.ADD_PROVIDER,
            Permission.MANAGE_PRACTICE_SETTINGS,
        }
    ),
}


def allows(role: Role | str | None, permission: Permission) -> bool:
    try:
        granted = ROLE_PERMISSIONS.get(Role(role), frozenset()) if role else frozenset()
    except ValueError:
        return False
    return permission in granted


def require(actor: Actor, permission: Permission) -> None:
    """Raises:
    Forbidden: the actor's role does not carry `permission`.
    """
    if not allows(actor.role, permission):
        raise Forbidden()


def client_visibility(
    actor: Actor, *, named_on_active_consent: ColumnElement[bool] | None = None
) -> ColumnElement[bool]:
    """Which client rows `actor` may see, as a SQL predicate on the `Client` model.

    A clinician sees the clients of their organization, and — through
    `named_on_active_consent`, which the consent package builds because this one may not know
    consents — clients whose active consent names them; a client sees only their own record.
    """
    if actor.role is Role.CLINICIAN and actor.organization_id is not None:
        own = Client.organization_id == actor.organization_id
        return own if named_on_active_consent is None else or_(own, named_on_active_consent)
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return Client.id == actor.client_id
    if actor.role is Role.SYSTEM:
        return true()
    return false()


def discloses(actor: Actor) -> bool:
    """Whether `actor` may attempt a disclosure about anyone: a clinician of a practice. Nobody
    else discloses."""
    return actor.role is Role.CLINICIAN and actor.organization_id is not None


def disclosable_clients(
    organization_id: SQLColumnExpression[int], *, named_on_signed_consent: ColumnElement[bool]
) -> ColumnElement[bool]:
    """About which clients a clinician who `discloses` may attempt a disclosure (the gate then
    decides), as a SQL predicate on `Client`: their organization's (`organization_id`, a bind
    parameter, so the statement can be built once) and those whose release — signed, in any
    state since — names them, so a clinician whose consent was revoked is told why rather than
    told the client does not exist. A release not signed yet names a client who has agreed to
    nothing: the client is not theirs to see (SECURITY C7).
    """
    return or_(Client.organization_id == organization_id, named_on_signed_consent)


def answerable_clients(actor: Actor) -> ColumnElement[bool]:
    """Whose records `actor` answers for (accounting of disclosures, exports), as a SQL predicate
    on `Client`: compliance staff their organization's clients, a client their own record.

    Compliance has no client list in `client_visibility`: officers do not work with clients,
    they answer for them.
    """
    if actor.role is Role.COMPLIANCE and actor.organization_id is not None:
        return Client.organization_id == actor.organization_id
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return Client.id == actor.client_id
    return false()


def organization_clients(actor: Actor) -> ColumnElement[bool]:
    """The clients of the staff member's own organization, as a SQL predicate on `Client`: whose
    disclosures made outside roi a clinician or compliance officer may record. Not clients whose
    consent merely names a clinician elsewhere: the record belongs to the client's practice."""
    if actor.role in (Role.CLINICIAN, Role.COMPLIANCE) and actor.organization_id is not None:
        return Client.organization_id == actor.organization_id
    return false()


def consent_visibility(
    actor: Actor,
    *,
    organization_id: SQLColumnExpression[int],
    client_id: SQLColumnExpression[int],
    recipient_user_id: SQLColumnExpression[int | None],
    active: ColumnElement[bool],
) -> ColumnElement[bool]:
    """Which consents `actor` may see, given the consent's columns (this module knows no
    consent model) and `active`, the consent's "active now" predicate: a clinician those of
    their organization and, while it is active, those naming them as the recipient; a client
    their own; compliance those of their organization.

    The recipient sees a consent only while it lets them receive: before signing it names a
    client who has agreed to nothing, and after revocation the client is out of their view
    (SECURITY C7); they are told of the revocation by notice.
    """
    if actor.role is Role.CLINICIAN and actor.organization_id is not None:
        recipient_while_active = case((active, recipient_user_id), else_=None)
        return or_(
            organization_id == actor.organization_id, recipient_while_active == actor.user_id
        )
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return client_id == actor.client_id
    if actor.role is Role.COMPLIANCE and actor.organization_id is not None:
        return organization_id == actor.organization_id
    if actor.role is Role.SYSTEM:
        return true()
    return false()


def _managing_organization(actor: Actor) -> int | None:
    """The organization whose consents `actor` may change: a clinician's own; nobody else's."""
    return actor.organization_id if actor.role is Role.CLINICIAN else None


def manages_consent(actor: Actor, organization_id: int) -> bool:
    """Whether `actor` may change a consent of `organization_id` (draft, send, void, a new
    version, an expiry event): a clinician of the practice that prepared it. A recipient may
    read a release but not manage it."""
    managing = _managing_organization(actor)
    return managing is not None and organization_id == managing


def managed_consents(
    actor: Actor, *, organization_id: SQLColumnExpression[int]
) -> ColumnElement[bool]:
    """`manages_consent` as a SQL predicate on the consent's organization column."""
    managing = _managing_organization(actor)
    return false() if managing is None else organization_id == managing


def records_revocations(
    actor: Actor, *, organization_id: SQLColumnExpression[int]
) -> ColumnElement[bool]:
    """Whose revocations received outside roi `actor` may record, as a SQL predicate on the
    consent's organization column: a clinician or compliance officer of the disclosing practice
    (the one the client wrote to); nobody elsewhere, not even the recipient."""
    if _records_revocations(actor):
        return organization_id == actor.organization_id
    return false()


def records_revocation(actor: Actor, organization_id: int) -> bool:
    """`records_revocations` for one consent's organization."""
    return _records_revocations(actor) and organization_id == actor.organization_id


def _records_revocations(actor: Actor) -> bool:
    return actor.role in (Role.CLINICIAN, Role.COMPLIANCE) and actor.organization_id is not None


def named_on_consent(
    actor: Actor,
    *,
    organization_id: SQLColumnExpression[int],
    recipient_user_id: SQLColumnExpression[int | None],
) -> ColumnElement[bool]:
    """Whether a consent's columns name the clinician `actor` on either side: their
    organization discloses under it, or it names them as the recipient."""
    if actor.role is not Role.CLINICIAN or actor.organization_id is None:
        return false()
    return or_(organization_id == actor.organization_id, recipient_user_id == actor.user_id)


def exportable_clients(actor: Actor) -> ColumnElement[bool]:
    """Whose consents and disclosures a compliance officer or a client may export as a FHIR
    bundle, as a SQL predicate on `Client`: the clients they answer for. A clinician's are the
    clients they may see (`consent.queries.client_for`, which knows consents)."""
    return answerable_clients(actor)


def audit_entry_visibility(
    actor: Actor,
    *,
    organization_id: SQLColumnExpression[int | None],
    client_id: SQLColumnExpression[int | None],
) -> ColumnElement[bool]:
    """Which audit entries a compliance officer may see, given the entry's columns: those of
    their organization's own people, and every entry about one of the organization's clients,
    whoever wrote it (a psychiatrist elsewhere opening a message about our client belongs in our
    log). Another practice's entry is "not found", never "forbidden"."""
    if actor.role is not Role.COMPLIANCE or actor.organization_id is None:
        return false()
    own_clients = select(Client.id).where(Client.organization_id == actor.organization_id)
    return or_(organization_id == actor.organization_id, client_id.in_(own_clients))


def administered_organization(actor: Actor) -> int | None:
    """The organization whose accounts and directory entries `actor` administers: an admin's
    own; nobody else's. Work across practices is the instance operator's, with the `roi`
    command on the server (the system actor)."""
    return actor.organization_id if actor.role is Role.ADMIN else None


def administers(actor: Actor, organization_id: int | None) -> bool:
    """Whether `actor` may list, add, change, disable or enable the users and directory entries
    of `organization_id` (SECURITY C9): an admin of that organization, or the system actor."""
    if actor.role is Role.SYSTEM:
        return True
    own = administered_organization(actor)
    return own is not None and organization_id == own


def administered(
    actor: Actor, *, organization_id: SQLColumnExpression[int | None]
) -> ColumnElement[bool]:
    """`administers` as a SQL predicate on a row's organization column: another practice's
    user or entry is simply not found."""
    if actor.role is Role.SYSTEM:
        return true()
    own = administered_organization(actor)
    return false() if own is None else organization_id == own


def keeps_entries_of(actor: Actor, organization_id: int | None) -> bool:
    """Whether a directory entry `actor` adds or changes may belong to `organization_id` (None:
    a practice outside roi). A practice that uses roi keeps its own entries: its admin, and its
    clinicians; nobody else can list someone under it (the gate treats an organization's
    entries as one party). An admin keeps their own organization's entries only; a clinician
    may also add practices outside roi."""
    if organization_id is None:
        return actor.role in (Role.CLINICIAN, Role.SYSTEM)
    if actor.role is Role.CLINICIAN:
        return organization_id == actor.organization_id
    return administers(actor, organization_id)


def directory_visibility(
    actor: Actor, *, organization_id: SQLColumnExpression[int | None]
) -> ColumnElement[bool]:
    """Which directory entries `actor` sees, as a SQL predicate on the entry's organization
    column: a clinician the whole shared directory (recipients are chosen from it); an admin
    only the entries they administer."""
    if actor.role is Role.CLINICIAN:
        return true()
    return administered(actor, organization_id=organization_id)


def chooses_recipients(actor: Actor) -> bool:
    """Whether `actor` sees the directory to choose recipients from (a clinician), so disabled
    entries are left out; an admin sees them, to enable them again."""
    return actor.role is Role.CLINICIAN


def restriction_clients(actor: Actor) -> ColumnElement[bool]:
    """Whose restrictions `actor` may see, ask for and (staff) decide, as a SQL predicate on
    `Client`: a clinician or compliance officer their organization's clients, a client their
    own record (164.522(a): the practice that holds the record agrees to a restriction)."""
    staff = actor.role in (Role.CLINICIAN, Role.COMPLIANCE)
    if staff and actor.organization_id is not None:
        return Client.organization_id == actor.organization_id
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return Client.id == actor.client_id
    return false()
