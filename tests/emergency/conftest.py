"""Emergency fixtures: the consent referral (therapist, psychiatrist elsewhere, client), API tokens
and a compliance officer of the therapist's practice."""

from __future__ import annotations

import pytest

from roi.actor import Role
from tests.consent.conftest import Referral, identity, library, referral, signature
from tests.factories import Person, make_user
from tests.helpers import api_token

__all__ = ["Referral", "identity", "library", "referral", "signature"]


@pytest.fixture
def officer(session) -> Person:
    return make_user(session, Role.COMPLIANCE, name="Casey Morgan")


@pytest.fixture
def tokens(client, referral, officer):
    people = {
        "therapist": referral.therapist,
        "psychiatrist": referral.psychiatrist,
        "client": referral.client_person,
        "officer": officer,
    }
    return {key: api_token(client, p.email, p.password) for key, p in people.items()}


def emergency(**changes):
    return {
        "basis": "medical_emergency",
        "nature": "Overdose; patient unresponsive on arrival at the emergency department.",
        "recipient_personnel": "Dr. Samuel Okafor, emergency psychiatry on call",
        **changes,
    }


def message_body(referral, **changes):
    return {
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
        "categories": ["medications"],
        "purpose": "treatment",
        "subject": "Current medications",
        "body": "Sertraline 100 mg daily; lithium 600 mg twice daily.",
        "emergency": emergency(),
        **changes,
    }
