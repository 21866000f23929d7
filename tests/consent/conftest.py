"""Consent fixtures: a therapist, a psychiatrist elsewhere, a client, the shipped form library."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from roi.accounts.models import Provider, User
from roi.actor import Role
from roi.clock import now
from roi.consent import lifecycle
from roi.consent.library import FormLibrary
from roi.consent.models import Consent
from tests.factories import Person, make_client_user, make_user, stand_in_documents

FORMS = Path(__file__).resolve().parents[2] / "forms"


@pytest.fixture(scope="session")
def library() -> FormLibrary:
    return FormLibrary.load(FORMS)


@dataclass
class Referral:
    therapist: Person
    psychiatrist: Person
    client_person: Person
    client_id: int
    recipient_id: int
    library: FormLibrary

    def fields(self, **changes: object) -> lifecycle.ConsentFields:
        base = lifecycle.ConsentFields(
            client_id=self.client_id,
            template_id="general-authorization",
            recipient_provider_id=self.recipient_id,
            categories=("diagnosis", "medications"),
            purposes=("treatment",),
            information_description="Diagnosis, current medications and treatment summary.",
            expires_on=now().date() + timedelta(days=365),
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    def draft(self, session, **changes: object) -> Consent:
        return lifecycle.create(session, self.therapist.actor, self.fields(**changes), self.library)

    def sent(self, session, **changes: object) -> Consent:
        consent = self.draft(session, **changes)
        return lifecycle.send_for_signature(
            session,
            self.therapist.actor,
            consent.id,
            self.library,
            invitation_lifetime=timedelta(days=7),
        ).consent

    def signed(self, session, **changes: object) -> Consent:
        """A consent signed by the client, active; its PDF of record is a stand-in (fast)."""
        with stand_in_documents():
            return self.signed_with_document(session, **changes)

    def signed_with_document(self, session, **changes: object) -> Consent:
        """A consent signed by the client, with its PDF rendered and PAdES-signed for real."""
        return self.sign(session, self.sent(session, **changes))

    def sign(self, session, consent: Consent) -> Consent:
        """The client signs `consent`, waiting for their signature, in the portal."""
        return lifecycle.sign_as_client(
            session,
            self.client_person.actor,
            consent.id,
            signature(),
            identity(self.client_person),
            self.library,
        )


def signature(**changes: object) -> lifecycle.SignatureInput:
    from roi.consent.models import SignerRelationship

    base = lifecycle.SignatureInput(
        signer_name="Jordan Avery", relationship=SignerRelationship.SELF, agree=True
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def identity(person: Person) -> lifecycle.Identity:
    return lifecycle.Identity(
        method="password",
        assurance="Signed in to roi with a password",
        ip="127.0.0.1",
        user_agent="pytest",
        signer_user_id=person.user.id,
    )


CALIFORNIA = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")


def practice_in(session: Session, referral: Referral, zone: ZoneInfo) -> None:
    """The referral's practice keeps `zone`'s time."""
    session.get(User, referral.therapist.user.id).organization.time_zone = zone.key
    session.commit()


def in_california(session: Session, referral: Referral) -> None:
    """The referral's practice keeps California's time."""
    practice_in(session, referral, CALIFORNIA)


@pytest.fixture
def referral(session, library) -> Referral:
    therapist = make_user(session, Role.CLINICIAN, name="Dana Whitfield")
    psychiatrist = make_user(
        session, Role.CLINICIAN, org="Northgate Psychiatry", name="Samuel Okafor"
    )
    client, person = make_client_user(
        session,
        therapist,
        given_name="Jordan",
        family_name="Avery",
        birth_date=date(1991, 4, 12),
        email="jordan@client.example",
    )
    recipient = session.scalar(select(Provider).where(Provider.user_id == psychiatrist.user.id))
    return Referral(therapist, psychiatrist, person, client.id, recipient.id, library)
