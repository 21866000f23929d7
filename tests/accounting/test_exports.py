"""The accounting as CSV (read back with the csv module) and PDF (read back with pdftotext)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from roi.accounts.models import Client, Provider
from roi.clock import iso, now
from roi.compliance import accounting
from roi.compliance.accounting import CSV_HEADER, Shown
from roi.compliance.spreadsheet import safe_cell
from tests.accounting.conftest import clock_at, disclose, pdf_text, sign_part2, squeeze


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first, so spreadsheets read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_a_header_and_one_row_per_disclosure(session, library, referral, officer):
    # Given two disclosures
    referral.signed(session, purposes=("treatment", "care_coordination"))
    # each made at one instant: the audit entry takes its time after the send's, and on a busy
    # machine a second can turn between them
    with clock_at(now() + timedelta(seconds=10)):
        first = disclose(session, referral, categories=("diagnosis", "medications"))
    with clock_at(now() + timedelta(seconds=20)):
        second = disclose(session, referral, purpose="care_coordination")
    # When the accounting is exported as CSV, after both (whose day may already be tomorrow's)
    with clock_at(second.sent_at + timedelta(seconds=1)):
        result = accounting.export(
            session, officer.actor, library, referral.client_id, file_format=Shown.CSV
        )
    # Then it parses back to the header and the two rows, oldest first
    rows = read_csv(result.data)
    assert rows[0] == list(CSV_HEADER)
    assert len(rows) == 3
    when, name, org, address, what, why, part2, consent, message, *rest = rows[1]
    assert when == iso(first.sent_at)
    assert name == "Samuel Okafor"
    assert org == "Northgate Psychiatry"
    assert what == "Diagnosis and treatment summary; Medications and prescriptions"
    assert why == "Your treatment and continuity of care"
    assert (part2, consent, message) == ("no", str(first.consent_id), str(first.id))
    # consented: beyond what HIPAA requires, one disclosure, no summary
    assert rest == ["authorization", "no", "1", ""]
    assert rows[2][5] == "Coordinating care between your providers"
    assert rows[2][8] == str(second.id)
    # And its name carries ids only, and it is CSV
    assert result.filename == f"accounting-client-{referral.client_id}.csv"
    assert result.mimetype == "text/csv"


def test_csv_cells_cannot_start_a_formula(session, library, referral, officer):
    # Given a recipient whose directory entry was typed to look like formulas
    referral.signed(session)
    disclose(session, referral)
    session.rollback()
    provider = session.get(Provider, referral.recipient_id)
    provider.name = '=HYPERLINK("http://evil.example","x")'
    provider.organization_name = "+1+2"
    provider.address = "@SUM(A1)\nline two"
    provider.credentials = ""
    session.commit()
    # When exported
    result = accounting.export(
        session, officer.actor, library, referral.client_id, file_format=Shown.CSV
    )
    # Then every such cell starts with an apostrophe, and the text is otherwise intact
    row = read_csv(result.data)[1]
    assert row[1] == '\'=HYPERLINK("http://evil.example","x")'
    assert row[2] == "'+1+2"
    assert row[3] == "'@SUM(A1)\nline two"
    for value in ("-2", "\tx", "\rx", "=1"):
        assert safe_cell(value, multiline=True) == "'" + value
    assert safe_cell("Samuel") == "Samuel"


def test_pdf_lists_the_client_range_and_each_disclosure(session, library, referral, officer):
    # Given a disclosure
    referral.signed(session)
    disclose(session, referral, categories=("diagnosis",))
    since = (now() - timedelta(days=7)).date()
    # When exported as PDF
    result = accounting.export(
        session,
        officer.actor,
        library,
        referral.client_id,
        file_format=Shown.PDF,
        since=since,
    )
    # Then the PDF names the client, the practice, the range, the recipient, what and why
    assert result.data.startswith(b"%PDF-")
    assert result.filename == f"accounting-client-{referral.client_id}.pdf"
    text = squeeze(pdf_text(result.data))
    for expected in (
        "Accounting of disclosures",
        "Jordan Avery, born April 12, 1991",
        "Riverside Counseling",
        f"{since:%B} {since.day}, {since.year}",
        "Samuel Okafor",
        "Northgate Psychiatry",
        "Diagnosis and treatment summary",
        "Your treatment and continuity of care",
        "1 entry",
        "Page 1 of 1",
    ):
        assert squeeze(expected) in text, expected
    # And the message's own words never appear
    assert squeeze("Confidential clinical text") not in text


def test_part2_pdf_says_it_is_the_part2_version(session, library, referral, officer):
    with clock_at(now() - timedelta(days=2)):
        sign_part2(session, referral)
        disclose(session, referral, categories=("sud_diagnosis",))
    result = accounting.export(
        session, officer.actor, library, referral.client_id, file_format=Shown.PDF, part2=True
    )
    text = squeeze(pdf_text(result.data))
    assert squeeze("Accounting of disclosures of substance use disorder records") in text
    assert squeeze("42 CFR 2.25") in text
    assert squeeze("Substance use diagnosis (42 CFR Part 2 records)") in text
    assert result.filename == f"accounting-client-{referral.client_id}-part2.pdf"


def test_an_empty_accounting_says_so(session, library, referral, officer):
    result = accounting.export(
        session, officer.actor, library, referral.client_id, file_format=Shown.PDF
    )
    assert squeeze("No such disclosures were made in this period.") in squeeze(
        pdf_text(result.data)
    )
    csv_rows = read_csv(
        accounting.export(
            session, officer.actor, library, referral.client_id, file_format=Shown.CSV
        ).data
    )
    assert csv_rows == [list(CSV_HEADER)]


def test_many_disclosures_run_over_pages_with_page_numbers(session, library, referral, officer):
    referral.signed(session)
    for _ in range(40):
        disclose(session, referral)
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    text = pdf_text(accounting.to_pdf(found))
    assert "Page 1 of" in text
    assert "Page 2 of" in text
    assert squeeze("40 entries") in squeeze(text)
    assert len(session.scalars(select(Provider)).all()) >= 2


def test_a_spanish_speaking_client_gets_the_accounting_in_spanish_in_their_time_zone(
    session, library, referral, officer
):
    client = session.get(Client, referral.client_id)
    client.language, client.time_zone = "es", "America/Chicago"
    session.commit()
    result = accounting.export(
        session, officer.actor, library, referral.client_id, file_format=Shown.PDF
    )
    text = squeeze(pdf_text(result.data))
    assert squeeze("Registro de divulgaciones") in text
    assert squeeze("No such disclosures were made in this period.") not in text
    assert squeeze("(hora estándar central)") in text
