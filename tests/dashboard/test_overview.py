"""roi.compliance.overview: the figures against data made the real way, and the chart geometry."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.actor import Role
from roi.clock import now
from roi.compliance import overview
from roi.consent import lifecycle
from roi.errors import ConsentRequired, Forbidden
from roi.messaging import service
from tests.consent.conftest import CALIFORNIA, in_california
from tests.dashboard.conftest import disclose
from tests.factories import make_client_user, make_user

# --- the bar chart -------------------------------------------------------------------------------


def test_bars_share_the_width_and_the_tallest_reaches_the_top():
    chart = overview.bar_chart([0, 2, 4, 1], width=400, height=100, gap=10, top=20)
    assert [bar.value for bar in chart.bars] == [0, 2, 4, 1]
    # four slots of 100: bars 90 wide, centred in their slot
    assert [bar.x for bar in chart.bars] == [5, 105, 205, 305]
    assert {bar.width for bar in chart.bars} == {90}
    # the largest value uses the full usable height (100 - 20), others in proportion
    assert [bar.height for bar in chart.bars] == [0, 40, 80, 20]
    # every bar stands on the baseline
    assert all(bar.y + bar.height == chart.baseline == 100 for bar in chart.bars)


def test_an_all_zero_chart_draws_no_bars_but_keeps_its_baseline():
    chart = overview.bar_chart([0, 0, 0], width=300, height=120)
    assert [bar.height for bar in chart.bars] == [0, 0, 0]
    assert chart.baseline == 120
    assert overview.bar_chart([]).bars == []


def test_bars_never_leave_the_chart():
    values = [7, 0, 3, 12, 12, 1, 0, 0, 5, 9, 2, 11]
    chart = overview.bar_chart(values)
    for bar in chart.bars:
        assert bar.x >= 0
        assert bar.x + bar.width <= chart.width
        assert 0 <= bar.y <= chart.baseline <= chart.height
    # the bars do not overlap
    for left, right in zip(chart.bars, chart.bars[1:], strict=False):
        assert left.x + left.width < right.x


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        overview.bar_chart([1, -1])


# --- expiring consents ---------------------------------------------------------------------------


def test_expiring_consents_are_the_active_ones_dated_in_the_next_30_days(
    session, referral, officer
):
    # one day throughout: the days left are counted from today, which must not turn over
    with time_machine.travel(now(), tick=False):
        today = now().date()
        soon = referral.signed(session, expires_on=today + timedelta(days=10))
        edge = referral.signed(session, expires_on=today + timedelta(days=30))
        referral.signed(session, expires_on=today + timedelta(days=31))  # later
        referral.sent(session, expires_on=today + timedelta(days=5))  # not signed
        revoked = referral.signed(session, expires_on=today + timedelta(days=3))
        lifecycle.revoke(session, referral.client_person.actor, revoked.id, reason=None)
        found = overview.expiring_consents(session, officer.actor)
        assert [(c.consent_id, c.days_left) for c in found] == [(soon.id, 10), (edge.id, 30)]
        assert found[0].client_name == "Jordan Avery"
        assert found[0].recipient_name == "Samuel Okafor"


def test_a_consent_past_its_date_is_no_longer_expiring(session, referral, officer):
    consent = referral.signed(session, expires_on=now().date() + timedelta(days=2))
    assert [c.consent_id for c in overview.expiring_consents(session, officer.actor)] == [
        consent.id
    ]
    with time_machine.travel(now() + timedelta(days=2)):
        # expires "on" that day: from its first moment it is expired, not expiring
        assert overview.expiring_consents(session, officer.actor) == []


def test_days_left_are_counted_on_the_practices_calendar(session, referral, officer):
    # Given a practice in California, at 8 p.m. there, when the day has turned over in UTC
    in_california(session, referral)
    evening = datetime.combine(now().date() + timedelta(days=3), time(20), tzinfo=CALIFORNIA)
    with time_machine.travel(evening, tick=False):
        ends = evening.date() + timedelta(days=1)  # tomorrow in California, today in UTC
        consent = referral.signed(session, expires_on=ends)
        # Then the release that ends tomorrow there has a day left, and is still active
        found = overview.expiring_consents(session, officer.actor)
        assert [(c.consent_id, c.days_left) for c in found] == [(consent.id, 1)]


def test_another_practices_consents_are_not_counted(session, referral, other_officer):
    referral.signed(session, expires_on=now().date() + timedelta(days=5))
    assert overview.expiring_consents(session, other_officer.actor) == []


# --- refused disclosures -------------------------------------------------------------------------


def refuse(session, referral, **changes) -> None:
    with pytest.raises(ConsentRequired):
        disclose(session, referral, **changes)


def test_refusals_by_reason_recipient_and_week(session, referral, officer):
    # Given a week ago: one refusal with no consent at all
    start = now()
    with time_machine.travel(start - timedelta(days=7), tick=True):
        refuse(session, referral)
    # And today: a consent, one permitted disclosure, one refusal outside its scope
    referral.signed(session)
    disclose(session, referral)
    refuse(session, referral, categories=("diagnosis", "treatment_plan"), purpose="legal_matter")
    # And a refusal to a second recipient, who is on no consent
    helen = make_user(session, Role.CLINICIAN, org="Lakeside Family Medicine", name="Helen Brooks")
    elsewhere = session.scalar(select(Provider.id).where(Provider.user_id == helen.user.id))
    refuse(session, referral, recipient_provider_id=elsewhere)

    found = overview.denials(session, officer.actor)

    # Then every refusal counts once, the permitted disclosure not at all
    assert found.total == 3
    assert sum(week.count for week in found.by_week) == 3
    assert len(found.by_week) == 12
    assert found.by_week[-1].starts_on == start.date() - timedelta(days=start.weekday())
    assert found.by_week[-1].count == 2
    assert found.by_week[-2].count == 1
    # the out-of-scope refusal failed two rules: it counts under each
    by_reason = {t.key: t.count for t in found.by_reason}
    assert by_reason["category_not_covered"] == 1
    assert by_reason["purpose_not_covered"] == 1
    assert by_reason.get("no_consent", 0) + by_reason.get("recipient_not_covered", 0) == 2
    assert {t.label: t.count for t in found.by_recipient} == {"Samuel Okafor": 2, "Helen Brooks": 1}
    # most refused first
    assert found.by_recipient[0].label == "Samuel Okafor"


def test_refusals_are_counted_in_the_practices_weeks(session, referral, officer):
    # Given a practice in California, and a refusal at 8 p.m. on a Sunday there (Monday in UTC)
    in_california(session, referral)
    today = now().date()
    sunday = today + timedelta(days=13 - today.weekday())
    evening = datetime.combine(sunday, time(20), tzinfo=CALIFORNIA)
    with time_machine.travel(evening, tick=False):
        refuse(session, referral)
        # When compliance looks that evening
        found = overview.overview(session, officer.actor)
    # Then the refusal is in this week, which began last Monday there; today is Sunday
    assert found.today == sunday
    assert found.denials.by_week[-1].starts_on == sunday - timedelta(days=6)
    assert found.denials.by_week[-1].count == 1
    assert found.denials.total == 1


def test_refusals_older_than_twelve_weeks_are_left_out(session, referral, officer):
    with time_machine.travel(now() - timedelta(weeks=13), tick=True):
        refuse(session, referral)
    refuse(session, referral)
    found = overview.denials(session, officer.actor)
    assert found.total == 1


def test_refusals_about_our_client_by_another_practice_count(session, referral, officer):
    # Given a one-way consent from the therapist to the psychiatrist
    referral.signed(session)
    # When the psychiatrist tries to send back about the therapist's client
    therapist = session.scalar(
        select(Provider.id).where(Provider.user_id == referral.therapist.user.id)
    )
    with pytest.raises(ConsentRequired):
        service.send(
            session,
            referral.psychiatrist.actor,
            referral.library,
            service.Outgoing(
                client_id=referral.client_id,
                recipient_provider_id=therapist,
                categories=("diagnosis",),
                purpose="treatment",
                subject="Back",
                body="Reply.",
            ),
        )
    # Then the therapist's practice sees it: it is about their client
    found = overview.denials(session, officer.actor)
    assert found.total == 1
    assert {t.key for t in found.by_reason} == {"direction_not_covered"}
    assert [t.label for t in found.by_recipient] == ["Dana Whitfield"]


def test_another_practice_sees_none_of_ours(session, referral, other_officer):
    refuse(session, referral)
    assert overview.denials(session, other_officer.actor).total == 0


def test_only_compliance_may_read_the_figures(session, referral):
    for role in (Role.CLINICIAN, Role.ADMIN):
        person = make_user(session, role, name=f"Not Compliance {role.value}")
        with pytest.raises(Forbidden):
            overview.denials(session, person.actor)
        with pytest.raises(Forbidden):
            overview.expiring_consents(session, person.actor)
    _, client = make_client_user(session, referral.therapist, given_name="Ruth")
    with pytest.raises(Forbidden):
        overview.overview(session, client.actor)
