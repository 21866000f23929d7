"""GET /compliance/: the overview page an officer lands on, its chart and the table a screen
reader reads instead, against data made the real way."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from babel.dates import format_date
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance import overview, requests, verification
from roi.compliance.models import Channel
from roi.consent import lifecycle
from roi.errors import ConsentRequired
from tests.dashboard.conftest import disclose
from tests.helpers import login_as, logout


def long_day(day) -> str:
    """A day as the page writes it in English (`|day`)."""
    return format_date(day, "long", locale="en")


class Page(HTMLParser):
    """The parts of the overview a test reads: SVG bars, the hidden table, tables by id."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[int] = []
        self.bar_titles: list[str] = []
        self.hidden_rows: list[tuple[str, int]] = []
        self.styles: list[str] = []
        self.scripts = 0
        self.svg = 0
        self._stack: list[str] = []
        self._classes: list[str] = []
        self._in_hidden_table = False
        self._in_bar_title = False
        self._cells: list[str] = []
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "style" in attributes:
            self.styles.append(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self.svg += 1
        if tag == "rect" and "data-value" in attributes:
            self.bars.append(int(attributes["data-value"]))
        if tag == "table" and attributes.get("id") == "denials-by-week":
            # shown to screen readers only: inside a visually hidden wrapper
            assert "visually-hidden" in self._classes[-1]
            self._in_hidden_table = True
        if tag == "title" and self._stack and self._stack[-1] == "g":
            self._in_bar_title = True
        if tag in ("th", "td"):
            self._text = ""
        self._stack.append(tag)
        self._classes.append(attributes.get("class") or "")

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()
            self._classes.pop()
        if tag == "table":
            self._in_hidden_table = False
        if tag == "title":
            self._in_bar_title = False
        if self._in_hidden_table and tag in ("th", "td"):
            self._cells.append(self._text.strip())
        if self._in_hidden_table and tag == "tr":
            if self._cells and self._cells[-1].isdigit():
                self.hidden_rows.append((self._cells[0], int(self._cells[-1])))
            self._cells = []

    def handle_data(self, data):
        self._text += data
        if self._in_bar_title:
            self.bar_titles.append(data)


def read(response) -> Page:
    page = Page()
    page.feed(response.get_data(as_text=True))
    return page


def refuse(session, referral, **changes) -> None:
    with pytest.raises(ConsentRequired):
        disclose(session, referral, **changes)


@pytest.fixture
def busy_practice(session, referral):
    """Two permitted disclosures, then a revocation and three refused attempts; plus a second
    release that expires in 12 days."""
    consent = referral.signed(session)
    disclose(session, referral)
    disclose(session, referral)
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    for _ in range(3):
        refuse(session, referral)
    return referral.signed(session, expires_on=now().date() + timedelta(days=12))


def test_the_officer_sees_refusals_as_a_chart_and_a_table(client, session, officer, busy_practice):
    login_as(client, officer.email, officer.password)
    response = client.get("/compliance/")
    assert response.status_code == 200
    page = read(response)
    html = response.get_data(as_text=True)
    # the chart is server-drawn SVG, with no inline style or script (CSP 'self')
    assert page.svg == 1
    assert page.styles == []
    assert page.scripts == 0
    expected = overview.denials(session, officer.actor)
    assert expected.total == 3
    assert re.search(r'id="denials-total">3<', html)
    # one bar per week with refusals; the bars say the same numbers as the hidden table
    weekly = [week.count for week in expected.by_week]
    assert page.bars == [n for n in weekly if n]
    assert page.hidden_rows == [(long_day(w.starts_on), w.count) for w in expected.by_week]
    assert sum(n for _, n in page.hidden_rows) == 3
    # every week has a title a pointer or a screen reader can reach
    assert len([t for t in page.bar_titles if t.startswith("Week of")]) == 12
    assert "Consent revoked" in html
    assert "Samuel Okafor" in html


def test_expiring_releases_are_listed_with_their_date(client, officer, busy_practice):
    login_as(client, officer.email, officer.password)
    # counted from the day the page is made, on a standing clock (the fixture's day may be past)
    with time_machine.travel(now(), tick=False):
        html = client.get("/compliance/").get_data(as_text=True)
        days = (busy_practice.expires_on - now().date()).days
    table = html[html.index('id="expiring"') : html.index("</table>", html.index('id="expiring"'))]
    assert f"#{busy_practice.id}" in table
    assert long_day(busy_practice.expires_on) in table
    assert f"in {days} days" in table
    assert "Jordan Avery" in table


def test_open_accounting_requests_show_when_they_are_due(client, session, referral, officer):
    # one day throughout: "overdue by" is counted from today, which must not turn over
    with time_machine.travel(now(), tick=False):
        received = now().date() - timedelta(days=61)
        late = requests.record(
            session,
            officer.actor,
            requests.NewRequest(
                client_id=referral.client_id, received_on=received, channel=Channel.WRITTEN
            ),
        )
        login_as(client, officer.email, officer.password)
        html = client.get("/compliance/").get_data(as_text=True)
        table = html[html.index('id="open-requests"') :]
        assert f"#{late.id}" in table
        assert long_day(late.due) in table
        assert "overdue by 1 day" in table


def test_the_last_chain_verification_is_shown(client, session, officer):
    login_as(client, officer.email, officer.password)
    assert "has not been verified yet" in client.get("/compliance/").get_data(as_text=True)
    verification.verify_chain(session, officer.actor)
    html = client.get("/compliance/").get_data(as_text=True)
    facts = html[html.index('id="last-verification"') :]
    assert "Intact" in facts


def test_a_quiet_practice_says_so(client, officer):
    login_as(client, officer.email, officer.password)
    html = client.get("/compliance/").get_data(as_text=True)
    assert "No disclosure was refused in these weeks." in html
    assert "No active release expires in the next 30 days." in html
    assert "<svg" not in html
    # the screen-reader table is there even when every week is zero
    assert read(client.get("/compliance/")).hidden_rows[-1][1] == 0


def test_another_practice_sees_none_of_it(client, other_officer, busy_practice):
    login_as(client, other_officer.email, other_officer.password)
    html = client.get("/compliance/").get_data(as_text=True)
    assert re.search(r'id="denials-total">0<', html)
    assert "Jordan Avery" not in html
    assert "Samuel Okafor" not in html


def test_looking_at_the_overview_is_audited(client, session, officer):
    login_as(client, officer.email, officer.password)
    client.get("/compliance/")
    session.rollback()
    viewed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUDIT_VIEWED)
    ).all()
    assert [(e.actor_id, e.detail) for e in viewed] == [(officer.user.id, {"view": "overview"})]


def test_clinicians_and_clients_may_not_open_it(client, referral):
    for person in (referral.therapist, referral.client_person):
        login_as(client, person.email, person.password)
        assert client.get("/compliance/").status_code == 403
        logout(client)
