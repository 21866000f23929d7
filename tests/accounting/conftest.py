"""Accounting fixtures: disclosures made the real way (a signed consent, then `send()`), at
chosen moments by moving the clock, and compliance officers of both practices."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from roi.accounts.models import Client, Provider
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance import disclosures
from roi.messaging import service
from roi.messaging.models import Message
from tests.consent.conftest import Referral, identity, library, referral, signature
from tests.factories import Person, make_client_user, make_user

__all__ = ["Referral", "identity", "library", "referral", "signature"]

PART2_DESCRIPTION = "Substance use (alcohol) diagnosis and treatment."


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Everything in the block happens at `moment` (the clock stands still)."""
    with time_machine.travel(moment, tick=False):
        yield


def disclose(
    session,
    referral: Referral,
    categories: tuple[str, ...] = ("diagnosis",),
    purpose: str = "treatment",
    subject: str = "Referral summary",
) -> Message:
    """The therapist sends a message about the referral's client to the psychiatrist."""
    return service.send(
        session,
        referral.therapist.actor,
        referral.library,
        service.Outgoing(
            client_id=referral.client_id,
            recipient_provider_id=referral.recipient_id,
            categories=categories,
            purpose=purpose,
            subject=subject,
            body="Confidential clinical text that the accounting must never show.",
        ),
    )


def sign_part2(session, referral: Referral):
    return referral.signed(
        session,
        template_id="part2-consent",
        categories=("sud_diagnosis", "sud_treatment"),
        purposes=("treatment",),
        information_description=PART2_DESCRIPTION,
    )


def years_ago(years: int, *, days: int = 0) -> datetime:
    """`years` calendar years before now, then `days` more (negative: fewer)."""
    current = now()
    try:
        then = current.replace(year=current.year - years)
    except ValueError:  # 29 February
        then = current.replace(year=current.year - years, day=28)
    return then - timedelta(days=days)


def permitted_entries(session, client_id: int, since: date, until: date) -> list[AuditEntry]:
    """The G6 reference: the `disclosure.permitted` entries of a client in a range, from SQL,
    but for those the client's practice received (to its own directory entries)."""
    session.rollback()
    start = datetime.combine(since, datetime.min.time()).replace(tzinfo=now().tzinfo)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time()).replace(
        tzinfo=now().tzinfo
    )
    return list(
        session.scalars(
            select(AuditEntry)
            .join(Client, Client.id == AuditEntry.client_id)
            .join(Provider, Provider.id == AuditEntry.recipient_provider_id)
            .where(
                AuditEntry.action == Action.DISCLOSURE_PERMITTED,
                AuditEntry.client_id == client_id,
                AuditEntry.at >= start,
                AuditEntry.at < end,
                Provider.organization_id.is_distinct_from(Client.organization_id),
            )
            # the accounting's order (oldest first): without it PostgreSQL returns rows in
            # whatever order they lie on disk
            .order_by(AuditEntry.at, AuditEntry.seq)
        )
    )


SECRET_DESCRIPTION = "Treatment dates 2025-2026 and the intake assessment (Marker-7f3a)"


def outside(referral, **changes) -> disclosures.NewOutsideDisclosure:
    """A subpoena answered by mail three days ago, as staff would record it."""
    values = {
        "client_id": referral.client_id,
        "disclosed_on": now().date() - timedelta(days=3),
        "description": SECRET_DESCRIPTION,
        "purpose": "Subpoena in Avery v. Avery, county family court",
        "basis": "judicial",
        "recipient_name": "Clerk of the Family Court",
        "recipient_address": "100 Main St\nSpringfield",
    }
    values.update(changes)
    return disclosures.NewOutsideDisclosure(**values)


def disclosure_entries(session, client_id):
    """The G6 reference: every disclosure entry about the client, straight from SQL."""
    session.rollback()
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.client_id == client_id,
                AuditEntry.action.in_(
                    (
                        Action.DISCLOSURE_PERMITTED,
                        Action.DISCLOSURE_EMERGENCY,
                        Action.DISCLOSURE_RECORDED,
                    )
                ),
            )
            .order_by(AuditEntry.seq)
        )
    )


def pdf_text(pdf: bytes) -> str:
    """pdftotext's reading of `pdf` (UTF-8), as tests/documents read consents."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def officer(session, referral: Referral) -> Person:
    """A compliance officer of the therapist's practice (the client's organization)."""
    return make_user(session, Role.COMPLIANCE, name="Priya Raman")


@pytest.fixture
def foreign_officer(session, referral: Referral) -> Person:
    """A compliance officer of the psychiatrist's practice: not the client's organization."""
    return make_user(session, Role.COMPLIANCE, org="Northgate Psychiatry", name="Lena Ortiz")


@pytest.fixture
def second_referral(session, referral: Referral) -> Referral:
    """Another client of the same therapist, referred to the same psychiatrist."""
    client, person = make_client_user(
        session,
        referral.therapist,
        given_name="Casey",
        family_name="Morrow",
        birth_date=date(1985, 9, 3),
    )
    return Referral(
        referral.therapist,
        referral.psychiatrist,
        person,
        client.id,
        referral.recipient_id,
        referral.library,
    )
