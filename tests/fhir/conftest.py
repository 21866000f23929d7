"""FHIR export fixtures: the consent referral (therapist at Riverside, psychiatrist at Northgate,
client Jordan Avery), compliance officers of both practices, and API tokens for each."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from roi.actor import Role
from roi.messaging import service
from tests.consent.conftest import Referral, identity, library, referral, signature
from tests.factories import Person, make_user
from tests.helpers import api_token

__all__ = ["Referral", "identity", "library", "referral", "signature"]


@pytest.fixture
def officer(session) -> Person:
    """A compliance officer of the therapist's practice."""
    return make_user(session, Role.COMPLIANCE, name="Priya Raman")


@pytest.fixture
def other_officer(session) -> Person:
    """A compliance officer of the psychiatrist's practice."""
    return make_user(session, Role.COMPLIANCE, org="Northgate Psychiatry", name="Lee Park")


@dataclass
class Tokens:
    therapist: str
    psychiatrist: str
    client: str
    officer: str
    other_officer: str


@pytest.fixture
def tokens(client, referral, officer, other_officer) -> Tokens:
    def token(person: Person) -> str:
        return api_token(client, person.email, person.password)

    return Tokens(
        therapist=token(referral.therapist),
        psychiatrist=token(referral.psychiatrist),
        client=token(referral.client_person),
        officer=token(officer),
        other_officer=token(other_officer),
    )


def disclose(session, referral: Referral, **changes: object):
    """Send a message from the therapist to the psychiatrist the real way (through the gate)."""
    values: dict[str, object] = {
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
        "categories": ("diagnosis",),
        "purpose": "treatment",
        "subject": "Referral",
        "body": "Summary of care so far.",
    }
    values.update(changes)
    return service.send(
        session,
        referral.therapist.actor,
        referral.library,
        service.Outgoing(**values),  # type: ignore[arg-type]
    )
