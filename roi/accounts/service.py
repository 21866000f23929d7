"""Organizations, users, clients and the provider directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, SQLColumnExpression, func, or_, select
from sqlalchemy.orm import Session

from roi import audit, i18n, inputs
from roi.accounts.models import Client, Organization, Provider, User
from roi.accounts.passwords import hash_password, password_problem
from roi.accounts.policy import (
    Permission,
    administered,
    administers,
    chooses_recipients,
    directory_visibility,
    keeps_entries_of,
    require,
)
from roi.accounts.practice import today_in_practice
from roi.actor import Actor, Role
from roi.audit import Action
from roi.config import Argon2Parameters
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound
from roi.i18n import N_

USER_ROLES = (Role.CLINICIAN, Role.CLIENT, Role.COMPLIANCE, Role.ADMIN)


@dataclass(frozen=True)
class NewClient:
    given_name: str
    family_name: str
    birth_date: date
    email: str | None


@dataclass(frozen=True)
class NewProvider:
    name: str
    credentials: str
    organization: str
    address: str
    email: str | None


def email_key(email: str) -> str:
    """The form of an address that makes it unique: trimmed and lower-cased."""
    return email.strip().lower()


def ensure_organization(session: Session, actor: Actor, name: str) -> Organization:
    """The organization called `name`, created (and audited) when it does not exist yet."""
    name = name.strip()
    found = session.scalar(select(Organization).where(Organization.name == name))
    if found is not None:
        return found
    organization = Organization(name=name)
    session.add(organization)
    session.flush()
    audit.record(
        session, actor, Action.ORGANIZATION_CREATED, detail={"organization_id": organization.id}
    )
    return organization


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    password: str,
    role: Role,
    name: str,
    organization: str | None,
    client_id: int | None,
    argon2: Argon2Parameters,
) -> User:
    """Create a user; a clinician also gets a directory entry, a client user is linked to a client.

    An admin adds accounts to their own organization only (the field defaults to it and may name
    no other, SECURITY C9); the system actor (the `roi` command) adds them anywhere, creating
    the organization when it is new.

    Raises:
        Forbidden: the actor may not manage users.
        Invalid: a field is missing or unacceptable (the email is taken, the password too weak,
            another organization or its client).
    """
    if actor.role is not Role.SYSTEM:
        require(actor, Permission.MANAGE_USERS)
        organization = organization or own_organization_name(session, actor)
    problems = _user_problems(email, password, role, name, organization, client_id)
    if problems:
        raise Invalid(problems)
    name = inputs.normal_name(name)
    # Hash before taking the write lock: argon2 is deliberately slow.
    password_hash = hash_password(password, argon2)
    with unit_of_work(session):
        if session.scalar(select(User.id).where(User.email_key == email_key(email))):
            raise Invalid({"email": N_("An account with this email address already exists.")})
        org = _organization_for(session, actor, organization)
        client = None
        if role is Role.CLIENT:
            client = session.scalar(
                select(Client).where(
                    Client.id == client_id,
                    administered(actor, organization_id=Client.organization_id),
                )
            )
            if client is None:
                raise Invalid({"client_id": N_("No client record has this id.")})
            if client.user_id is not None:
                raise Invalid({"client_id": N_("This client record already has an account.")})
            org = client.organization
        user = User(
            email=email.strip(),
            email_key=email_key(email),
            name=name.strip(),
            role=role,
            organization_id=org.id if org else None,
            password_hash=password_hash,
        )
        session.add(user)
        session.flush()
        if client is not None:
            client.user_id = user.id
        if role is Role.CLINICIAN and org is not None:
            session.add(directory_entry_of(actor, user, org))
        audit.record(
            session,
            actor,
            Action.USER_CREATED,
            subject_user_id=user.id,
            client_id=client.id if client else None,
            detail={"role": role.value},
        )
    return user


def directory_entry_of(actor: Actor, user: User, org: Organization) -> Provider:
    """A clinician's own directory entry, linked by `user_id`, so others can name them as a
    recipient."""
    return Provider(
        name=user.name,
        organization_name=org.name,
        organization_id=org.id,
        email=user.email,
        user_id=user.id,
        created_by_id=actor.user_id,
    )


def own_organization_name(session: Session, actor: Actor) -> str | None:
    """The name of the actor's organization; None when they have none."""
    if actor.organization_id is None:
        return None
    return session.scalar(select(Organization.name).where(Organization.id == actor.organization_id))


def _organization_for(session: Session, actor: Actor, name: str | None) -> Organization | None:
    """The organization a new account joins, by name; only one the actor administers.

    Raises:
        Invalid: an admin named an organization that is not theirs.
    """
    if actor.role is Role.SYSTEM:
        return ensure_organization(session, actor, name) if name else None
    found = (
        session.scalar(select(Organization).where(Organization.name == name.strip()))
        if name
        else None
    )
    if found is None or not administers(actor, found.id):
        raise Invalid({"organization": N_("Add accounts to your own organization only.")})
    return found


def _user_problems(
    email: str,
    password: str,
    role: Role,
    name: str,
    organization: str | None,
    client_id: int | None,
) -> dict[str, str]:
    problems: dict[str, str] = {}
    if "@" not in email or len(email) > 254 or email.strip() != email or not email:
        problems["email"] = N_("Enter a valid email address.")
    if not name.strip():
        problems["name"] = N_("Enter the person's name.")
    # the same rules as the forms and the API, so the `roi` command cannot add a hidden character
    for field, text in (("name", name), ("email", email), ("organization", organization or "")):
        why = inputs.name_problem(text)
        if why is not None:
            problems.setdefault(field, why)
    if role not in USER_ROLES:
        problems["role"] = N_("Choose clinician, client, compliance or admin.")
    if role in (Role.CLINICIAN, Role.COMPLIANCE) and not organization:
        problems["organization"] = N_("Clinicians and compliance staff belong to an organization.")
    if role is Role.CLIENT and client_id is None:
        problems["client_id"] = N_("A client account is linked to a client record.")
    if role is not Role.CLIENT and client_id is not None:
        # not dropped in silence: whoever gave it meant a client's account
        problems["client_id"] = N_("Only a client's account is linked to a client record.")
    why = password_problem(password, email=email, name=name)
    if why:
        problems["password"] = why
    return problems


def set_language(session: Session, user_id: int, language: str) -> None:
    """Keep the language a person picked on their account (and, for a client, on their client
    record, so mails and documents follow it). A preference, not an action on anyone's
    information: it is not audited."""
    language = i18n.supported(language)
    with unit_of_work(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("account"))
        user.language = language
        client = session.scalar(select(Client).where(Client.user_id == user_id))
        if client is not None:
            client.language = language


def time_zone_of(session: Session, user_id: int) -> str:
    """The IANA time zone a person reads times in: their own, else (for a client) their client
    record's, else their practice's, else UTC."""
    row = session.execute(
        select(User.time_zone, Client.time_zone, Organization.time_zone)
        .select_from(User)
        .outerjoin(Client, Client.user_id == User.id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(User.id == user_id)
    ).first()
    return next((zone for zone in row or () if zone), "UTC")


def create_client(session: Session, actor: Actor, new: NewClient) -> Client:
    """Add a client to the clinician's organization.

    Raises:
        Forbidden: the actor is not a clinician.
        Invalid: a field is unacceptable.
    """
    require(actor, Permission.CREATE_CLIENT)
    problems = _client_problems(new, today_in_practice(session, actor))
    if problems:
        raise Invalid(problems)
    with unit_of_work(session):
        client = Client(
            organization_id=actor.organization_id,
            given_name=new.given_name.strip(),
            family_name=new.family_name.strip(),
            birth_date=new.birth_date,
            email=(new.email or "").strip() or None,
        )
        session.add(client)
        session.flush()
        audit.record(session, actor, Action.CLIENT_CREATED, client_id=client.id)
    return client


def _client_problems(new: NewClient, today: date) -> dict[str, str]:
    """What is wrong with `new`, on `today` where the practice is (the calendar staff enter in)."""
    problems: dict[str, str] = {}
    if not new.given_name.strip():
        problems["given_name"] = N_("Enter the client's given name.")
    if not new.family_name.strip():
        problems["family_name"] = N_("Enter the client's family name.")
    if new.birth_date > today:
        problems["birth_date"] = N_("The date of birth cannot be in the future.")
    elif new.birth_date.year < 1900:
        problems["birth_date"] = N_("Check the year of birth.")
    return problems


def add_provider(session: Session, actor: Actor, new: NewProvider) -> Provider:
    """Add an entry to the shared provider directory.

    Raises:
        Forbidden: the actor may not edit the directory.
        Invalid: a field is unacceptable.
    """
    check_provider(actor, new)
    with unit_of_work(session):
        return insert_provider(session, actor, new)


def check_provider(actor: Actor, new: NewProvider) -> None:
    """Raises:
    Forbidden: the actor may not edit the directory.
    Invalid: a field of the new entry is unacceptable.
    """
    require(actor, Permission.ADD_PROVIDER)
    problems: dict[str, str] = {}
    if not new.name.strip():
        problems["name"] = N_("Enter the provider's name.")
    if not new.organization.strip():
        problems["organization"] = N_("Enter the practice or organization.")
    if new.email and "@" not in new.email:
        problems["email"] = N_("Enter a valid email address.")
    if problems:
        raise Invalid(problems)


def insert_provider(session: Session, actor: Actor, new: NewProvider) -> Provider:
    """Add a checked directory entry inside the caller's transaction (see `check_provider`).

    Raises:
        Invalid: an admin named an organization other than their own (SECURITY C9).
    """
    org = _entry_organization(session, actor, new.organization)
    provider = Provider(
        name=new.name.strip(),
        credentials=new.credentials.strip(),
        organization_name=new.organization.strip(),
        organization_id=org.id if org else None,
        address=new.address.strip(),
        email=(new.email or "").strip() or None,
        created_by_id=actor.user_id,
    )
    session.add(provider)
    session.flush()
    audit.record(session, actor, Action.PROVIDER_CREATED, detail={"provider_id": provider.id})
    return provider


def _entry_organization(session: Session, actor: Actor, name: str) -> Organization | None:
    """The roi organization a directory entry names, if any (`policy.keeps_entries_of`).

    Raises:
        Invalid: an admin named an organization other than their own (SECURITY C9), or a
            clinician another practice that uses roi.
    """
    org = session.scalar(select(Organization).where(Organization.name == name.strip()))
    if keeps_entries_of(actor, org.id if org else None):
        return org
    if actor.role is Role.ADMIN:
        raise Invalid({"organization": N_("Add entries of your own organization only.")})
    raise Invalid(
        {"organization": N_("This practice uses roi: its own people keep its directory entries.")}
    )


def administered_provider(session: Session, actor: Actor, provider_id: int) -> Provider:
    """A directory entry of an organization the actor administers.

    Raises:
        NotFound: no such entry, or another organization's (SECURITY C9).
    """
    provider = session.scalar(
        select(Provider).where(
            Provider.id == provider_id,
            administered(actor, organization_id=Provider.organization_id),
        )
    )
    if provider is None:
        raise NotFound(N_("provider"))
    return provider


def update_provider(
    session: Session, actor: Actor, provider_id: int, changes: NewProvider
) -> Provider:
    """Change a directory entry of the actor's organization; it stays in that organization.

    Raises:
        NotFound: no such entry in the actor's organization.
        Invalid: a field is unacceptable, or names another organization.
    """
    require(actor, Permission.MANAGE_DIRECTORY)
    check_provider(actor, changes)
    with unit_of_work(session):
        provider = administered_provider(session, actor, provider_id)
        org = _entry_organization(session, actor, changes.organization)
        provider.name = changes.name.strip()
        provider.credentials = changes.credentials.strip()
        provider.organization_name = changes.organization.strip()
        provider.organization_id = org.id if org else provider.organization_id
        provider.address = changes.address.strip()
        provider.email = (changes.email or "").strip() or None
        audit.record(session, actor, Action.PROVIDER_UPDATED, detail={"provider_id": provider.id})
    return provider


def set_provider_active(
    session: Session, actor: Actor, provider_id: int, *, active: bool
) -> Provider:
    """Disable a directory entry (kept for the releases that name it, no longer offered as a
    recipient) or enable it again.

    Raises:
        NotFound: no such entry in the actor's organization.
    """
    require(actor, Permission.MANAGE_DIRECTORY)
    with unit_of_work(session):
        provider = administered_provider(session, actor, provider_id)
        provider.active = active
        audit.record(
            session,
            actor,
            Action.PROVIDER_UPDATED,
            detail={"provider_id": provider.id, "active": active},
        )
    return provider


def providers(session: Session, actor: Actor, search: str | None = None) -> list[Provider]:
    """The directory as the actor sees it (`directory_visibility`), by name; `search` matches
    name, credentials or organization."""
    require(actor, Permission.VIEW_DIRECTORY)
    query = select(Provider).where(
        directory_visibility(actor, organization_id=Provider.organization_id)
    )
    if chooses_recipients(actor):
        query = query.where(Provider.active.is_(True))
    if search:
        query = query.where(
            text_search(search, Provider.name, Provider.organization_name, Provider.credentials)
        )
    return list(session.scalars(query.order_by(Provider.name, Provider.id)))


def text_search(search: str, *columns: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """Whether any of `columns` contains `search`, ignoring case; `%` and `_` in `search` are
    literal characters, not wildcards."""
    pattern = f"%{_escape_like(search.strip().lower())}%"
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
