"""A compliance officer's afternoon in the system Chromium: find a client's disclosures in the
log, open one, export the client's accounting (PDF and CSV) and verify the audit chain."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from roi.errors import ConsentRequired
from roi.messaging import service
from tests.browser_plugin import sign_in
from tests.consent.conftest import library, referral  # noqa: F401 - the referral, shared here

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def send(session, referral, purpose: str = "treatment") -> None:  # noqa: F811
    service.send(
        session,
        referral.therapist.actor,
        referral.library,
        service.Outgoing(
            client_id=referral.client_id,
            recipient_provider_id=referral.recipient_id,
            categories=("diagnosis",),
            purpose=purpose,
            subject="Referral summary",
            body="Clinical text the officer never sees.",
        ),
    )


def test_an_officer_traces_a_clients_disclosures_and_proves_the_log(
    live_url,
    page,
    session,
    referral,  # noqa: F811
    compliance,
):
    # Given two messages that went out under a signed release and one that was stopped
    consent = referral.signed(session)
    send(session, referral)
    send(session, referral)
    with pytest.raises(ConsentRequired):
        send(session, referral, purpose="legal_matter")
    session.rollback()
    permitted = session.scalars(
        select(AuditEntry.seq)
        .where(AuditEntry.action == Action.DISCLOSURE_PERMITTED)
        .order_by(AuditEntry.seq)
    ).all()

    # When the officer filters the disclosure log by the client
    sign_in(page, live_url, compliance.email, compliance.password)
    page.get_by_role("link", name="Disclosure log", exact=True).click()
    page.get_by_label("Client", exact=True).select_option(str(referral.client_id))
    page.get_by_role("button", name="Show entries").click()
    # the filtered page, not the one it replaces (counting does not wait for navigation)
    page.wait_for_url(f"**client_id={referral.client_id}**")
    # Then both disclosures and the refusal are listed, naming the recipient
    rows = page.locator("table.log-table tbody tr")
    assert rows.filter(has_text="Samuel Okafor").count() >= 3
    for seq in permitted:
        expect(page.get_by_role("link", name=f"#{seq}", exact=True)).to_be_visible()

    # When they open the last disclosure
    with page.expect_navigation():
        page.get_by_role("link", name=f"#{permitted[-1]}", exact=True).click()
    detail = page.locator("main").inner_text()
    # Then it names the release it went out under, and the message's scope line but not its body
    assert f"#{consent.id}" in detail
    assert f"Shared under consent #{consent.id}" in detail
    assert "Clinical text the officer never sees." not in detail

    # When they export the client's accounting of disclosures
    page.get_by_role("link", name="Accounting of disclosures", exact=True).first.click()
    page.get_by_label("Client", exact=True).select_option(str(referral.client_id))
    page.get_by_role("button", name="Show the accounting").click()
    expect(page.get_by_role("heading", name="Disclosures: Jordan Avery")).to_be_visible()
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    # Then the spreadsheet has a header and exactly the two permitted disclosures
    assert len(lines) == 1 + len(permitted)
    assert all("Samuel Okafor" in " ".join(line) for line in lines[1:])

    # When they verify the audit chain
    page.get_by_role("link", name="Chain verification", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Verify now").click()
    # Then the chain is intact, with the number of entries checked
    result = page.locator("main").inner_text()
    assert "Intact" in result
    assert "Entries verified" in result
