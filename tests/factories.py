"""Factories that go through the services, so test data obeys the same rules as real data."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

from sqlalchemy.orm import Session

from roi import vault
from roi.accounts import mfa, service
from roi.accounts.models import Client, Provider, TotpCredential, User
from roi.actor import Actor, Role
from roi.clock import now
from roi.consent import lifecycle
from roi.consent.library import FormLibrary
from roi.consent.models import Consent
from roi.documents import pdf, seal
from roi.documents.model import ConsentDocument, Evidence, SignerBlock
from tests.conftest import TEST_ARGON2

PASSWORD = "correct horse battery staple"
#: the authenticator secret of every staff member the factories make (practices require a second
#: factor of staff by default); tests/helpers.py signs in with its codes
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_counter = itertools.count(1)


@dataclass
class Person:
    """A user and the actor they act as (with the password used to create them)."""

    user: User
    actor: Actor
    password: str = PASSWORD

    @property
    def email(self) -> str:
        return self.user.email


def make_user(
    session: Session,
    role: Role,
    *,
    org: str | None = "Riverside Counseling",
    name: str | None = None,
    email: str | None = None,
    client_id: int | None = None,
    password: str = PASSWORD,
    second_factor: bool | None = None,
) -> Person:
    """A user through `service.create_user`; staff get the test authenticator secret unless
    `second_factor=False` (clients when `second_factor=True`)."""
    n = next(_counter)
    user = service.create_user(
        session,
        Actor.system(),
        email=email or f"{role.value}{n}@example.org",
        password=password,
        role=role,
        name=name or f"{role.value.title()} Person {n}",
        organization=None if role is Role.ADMIN and org is None else org,
        client_id=client_id,
        argon2=TEST_ARGON2,
    )
    if second_factor if second_factor is not None else role in mfa.STAFF:
        enrol_test_totp(session, user)
    actor = Actor(user.id, role, user.organization_id, client_id=client_id)
    return Person(user, actor, password)


def enrol_test_totp(session: Session, user: User) -> None:
    """Give `user` a confirmed authenticator with TEST_TOTP_SECRET, written directly rather than
    through `mfa.confirm_totp`: that would add an audit entry for every staff member of every
    test, and tests/accounts/test_mfa.py covers enrolment itself."""
    credential = TotpCredential(uuid=f"test-totp-{user.id}", user_id=user.id)
    credential.secret_sealed = vault.seal(
        TEST_TOTP_SECRET.encode(), vault.Place("totp_credentials", "secret_sealed", credential.uuid)
    )
    credential.confirmed_at = user.created_at
    session.add(credential)
    session.commit()


def make_client(
    session: Session,
    clinician: Person,
    *,
    given_name: str = "Jordan",
    family_name: str | None = None,
    birth_date: date = date(1990, 5, 17),
    email: str | None = None,
) -> Client:
    n = next(_counter)
    return service.create_client(
        session,
        clinician.actor,
        service.NewClient(given_name, family_name or f"Avery{n}", birth_date, email),
    )


def make_client_user(
    session: Session, clinician: Person, **kwargs: object
) -> tuple[Client, Person]:
    client = make_client(session, clinician, **kwargs)  # type: ignore[arg-type]
    person = make_user(session, Role.CLIENT, org=None, client_id=client.id)
    return client, person


def make_provider(session: Session, clinician: Person, name: str = "Helen Brooks") -> Provider:
    return service.add_provider(
        session,
        clinician.actor,
        service.NewProvider(name, "MD", "Lakeside Family Medicine", "1 Lake St", None),
    )


#: the first bytes of every stand-in document of record (`stand_in_documents`)
STAND_IN_PDF = b"%PDF-1.7\n% roi test stand-in for a signed consent\n"


@contextmanager
def stand_in_documents() -> Iterator[None]:
    """Consents signed in this block get a stand-in PDF of record: for tests not about documents.

    The signing service runs unchanged (its checks, the row lock, the Signature row with every
    sealed field, the state, the audit entry, the notices), so the gate and every page treat the
    consent exactly as one signed for real. Only WeasyPrint's rendering and pyHanko's PAdES
    signature (0.45 s a consent on 2 cores) are replaced: the stand-in is the consent's HTML
    rendered by the same template, hashed, behind STAND_IN_PDF. Tests about documents and signing
    (tests/documents, tests/consent/test_lifecycle.py, the web and browser signing flows) sign
    for real. Fails loudly if signing no longer calls what this replaces.
    """
    rendered: list[bytes] = []

    def render_consent(doc: ConsentDocument, *, signer: SignerBlock, evidence: Evidence) -> bytes:
        html = pdf.consent_html(doc, signer=signer, evidence=evidence)
        rendered.append(STAND_IN_PDF + hashlib.sha256(html.encode()).hexdigest().encode())
        return rendered[-1]

    def sign_pdf(document: bytes, identity: seal.SigningIdentity, **_: str) -> bytes:
        assert document.startswith(STAND_IN_PDF), "a real PDF reached the stand-in signer"
        return document

    with (
        mock.patch.object(pdf, "render_consent", render_consent),
        mock.patch.object(seal, "sign_pdf", sign_pdf),
    ):
        yield
    assert rendered, "signing no longer renders through pdf.render_consent: update this stand-in"


def release_waiting_for_signature(session: Session, clinician: Person, client: Client) -> Consent:
    """A complete general release for the client, to a new provider, sent for their signature."""
    library = FormLibrary.load(Path(__file__).resolve().parents[1] / "forms")
    draft = lifecycle.create(
        session,
        clinician.actor,
        lifecycle.ConsentFields(
            client_id=client.id,
            template_id="general-authorization",
            recipient_provider_id=make_provider(session, clinician).id,
            categories=("diagnosis",),
            purposes=("treatment",),
            information_description="Diagnosis and a treatment summary since 2025.",
            expires_on=now().date() + timedelta(days=90),
        ),
        library,
    )
    return lifecycle.send_for_signature(
        session, clinician.actor, draft.id, library, invitation_lifetime=timedelta(days=7)
    ).consent
