"""A consent's state has one definition with two forms: `Consent.status_at` (Python, read by the
gate and every page) and `status_sql` (SQL, for the scoped queries and the overview). Hypothesis
draws consents with random timestamps — ties and microsecond neighbours included — and random
instants, and the two forms must agree on every one, on the configured database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from roi.actor import Role
from roi.consent.models import (
    Consent,
    ConsentStatus,
    expiry_instant,
    has_status,
    status_sql,
)
from roi.db import unit_of_work
from tests.factories import make_client, make_provider, make_user

BASE = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
#: instants near one another and near midnights, so that ties and half-open edges come up often
INSTANTS = st.sampled_from(
    [
        BASE + timedelta(days=days, hours=hours) + ONE_MICROSECOND * nudge
        for days in range(4)
        for hours in (0, 12)
        for nudge in (-1, 0, 1)
    ]
)


@st.composite
def consent_times(draw: st.DrawFn, moments: list[datetime]) -> dict[str, object]:
    """The fields the state rule reads, each unset or one of a few `moments` (so ties are
    common), in any order and any combination, with any status."""
    instant = st.one_of(st.none(), st.sampled_from(moments))
    days = sorted({m.date() + timedelta(days=n) for m in moments for n in (0, 1)})
    return {
        "status": draw(st.sampled_from(list(ConsentStatus))),
        "sent_at": draw(instant),
        "signed_at": draw(instant),
        "revoked_at": draw(instant),
        "superseded_at": draw(instant),
        "expired_at": draw(instant),
        "voided_at": draw(instant),
        "expires_on": draw(st.one_of(st.none(), st.sampled_from(days))),
        # fixed at signing from the practice's time zone; a row written without it ends at
        # 00:00 UTC of `expires_on`
        "expires_at": draw(instant),
    }


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, object]], list[datetime]]:
    """A few consents over a few shared moments, and instants on and around those moments."""
    moments = draw(st.lists(INSTANTS, min_size=1, max_size=4, unique=True))
    rows = draw(st.lists(consent_times(moments), min_size=1, max_size=8))
    around = [m + ONE_MICROSECOND * nudge for m in moments for nudge in (-1, 0, 1)]
    midnights = [expiry_instant(row["expires_on"]) for row in rows if row["expires_on"]]  # type: ignore[arg-type]
    instants = draw(st.lists(st.sampled_from(around + midnights), min_size=1, max_size=4))
    return rows, instants


@pytest.fixture
def parties(session: Session) -> dict[str, int]:
    """The ids a consent row needs: an organization, a clinician, their client, a recipient."""
    clinician = make_user(session, Role.CLINICIAN)
    client = make_client(session, clinician)
    recipient = make_provider(session, clinician)
    discloser = make_provider(session, clinician, "Clinician Self")
    assert clinician.actor.organization_id is not None
    return {
        "client_id": client.id,
        "organization_id": clinician.actor.organization_id,
        "discloser_provider_id": discloser.id,
        "recipient_provider_id": recipient.id,
        "created_by_id": clinician.user.id,
    }


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_sql_form_agrees_with_python_form(
    session: Session,
    parties: dict[str, int],
    case: tuple[list[dict[str, object]], list[datetime]],
) -> None:
    rows, instants = case
    with unit_of_work(session):
        session.execute(delete(Consent))
        consents = [
            Consent(template_id="t", template_version=1, kind="general", **parties, **times)
            for times in rows
        ]
        session.add_all(consents)
    for at in instants:
        expected = {consent.id: consent.status_at(at) for consent in consents}
        found = {i: state for i, state in session.execute(select(Consent.id, status_sql(at)))}
        assert {i: ConsentStatus(state) for i, state in found.items()} == expected
        for status in ConsentStatus:
            chosen = set(session.scalars(select(Consent.id).where(has_status(status, at))))
            assert chosen == {i for i, state in expected.items() if state is status}
    session.commit()


def test_an_instant_in_another_time_zone_means_the_same_moment(
    session: Session, parties: dict[str, int]
) -> None:
    # Given a consent signed on the 10th that expires on the 12th (00:00 UTC)
    with unit_of_work(session):
        consent = Consent(
            template_id="t",
            template_version=1,
            kind="general",
            **parties,
            status=ConsentStatus.ACTIVE,
            sent_at=BASE,
            signed_at=BASE,
            expires_on=date(2026, 3, 12),
        )
        session.add(consent)
    # When asked at 21:00 on the 11th in New York (EDT: 01:00 UTC on the 12th)
    at = datetime(2026, 3, 11, 21, 0, tzinfo=ZoneInfo("America/New_York"))
    # Then both forms say it has expired
    assert consent.status_at(at) is ConsentStatus.EXPIRED
    assert session.scalar(select(status_sql(at)).where(Consent.id == consent.id)) == "expired"
