"""Fees and delays of accounting requests (issue 13 item 7): a request that is not the first in
12 months is quoted the practice's fee in advance, and the client may go ahead, change or
withdraw it (164.528(c)(2)); a 30-day extension comes with a letter giving the reasons and the
new date (164.528(c)(1)(ii)(A))."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from roi.accounts.models import Client
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance import requests
from roi.compliance.models import AccountingRequest, Channel
from roi.consent.models import Notification
from roi.errors import Forbidden, Invalid, NotFound, WrongState
from tests.accounting.conftest import pdf_text, squeeze
from tests.factories import make_client_user
from tests.helpers import api_token, bearer, csrf_token, delivered_mail, login_as


def record(session, officer, client_id):
    return requests.record(
        session,
        officer.actor,
        requests.NewRequest(client_id=client_id, received_on=now().date(), channel=Channel.PHONE),
    )


def actions(session, client_id) -> list[str]:
    session.rollback()
    found = session.scalars(
        select(AuditEntry.action).where(AuditEntry.client_id == client_id).order_by(AuditEntry.seq)
    )
    return [str(a) for a in found if str(a).startswith("accounting.")]


@pytest.fixture
def repeat(session, referral, officer):
    """The practice charges $25.00; the client's first request this year was fulfilled, and
    a second one has just been recorded."""
    requests.set_repeat_fee(session, officer.actor, 2500)
    first = record(session, officer, referral.client_id)
    requests.fulfil(session, officer.actor, referral.library, first.id)
    return record(session, officer, referral.client_id)


def test_a_repeat_request_is_quoted_the_fee_and_waits_for_the_client(
    session, library, referral, officer, repeat
):
    assert repeat.free is False
    assert repeat.fee_cents == 2500
    assert repeat.awaiting_fee_answer
    # It cannot be fulfilled before the client agrees
    with pytest.raises(WrongState) as refused:
        requests.fulfil(session, officer.actor, library, repeat.id)
    assert "$25.00" in refused.value.message
    # The client agrees, and then it can
    accepted = requests.accept_fee(session, referral.client_person.actor, repeat.id)
    assert accepted.fee_accepted_at is not None
    assert requests.fulfil(session, officer.actor, library, repeat.id).fulfilled
    assert actions(session, referral.client_id)[-3:] == [
        "accounting.requested",
        "accounting.fee_accepted",
        "accounting.fulfilled",
    ]


def test_the_client_may_withdraw_or_change_the_request(session, library, referral, officer, repeat):
    changed = requests.change(
        session,
        referral.client_person.actor,
        repeat.id,
        since=now().date() - timedelta(days=30),
        until=None,
        part2=True,
    )
    assert changed.part2 is True
    assert changed.period_start == now().date() - timedelta(days=30)
    withdrawn = requests.withdraw(session, referral.client_person.actor, repeat.id)
    assert withdrawn.closed
    assert repeat.id not in [r.id for r in requests.open_requests(session, officer.actor)]
    with pytest.raises(WrongState):
        requests.fulfil(session, officer.actor, library, repeat.id)
    with pytest.raises(WrongState):
        requests.accept_fee(session, referral.client_person.actor, repeat.id)
    # and the client may ask again in the portal (the withdrawn one is not pending)
    assert requests.ask(session, referral.client_person.actor).fee_cents == 2500
    assert "accounting.changed" in actions(session, referral.client_id)
    assert "accounting.withdrawn" in actions(session, referral.client_id)


def test_no_fee_set_means_nothing_to_accept(session, library, referral, officer):
    record(session, officer, referral.client_id)
    second = record(session, officer, referral.client_id)
    assert second.free is False
    assert second.fee_cents is None
    assert not second.awaiting_fee_answer
    with pytest.raises(WrongState):
        requests.fee_letter(session, officer.actor, second.id)
    assert requests.fulfil(session, officer.actor, library, second.id).fulfilled


def test_who_may_answer_and_set_the_fee(session, referral, officer, foreign_officer, repeat):
    other_client, other_person = make_client_user(session, referral.therapist, given_name="Kim")
    with pytest.raises(NotFound):
        requests.accept_fee(session, other_person.actor, repeat.id)
    with pytest.raises(NotFound):
        requests.withdraw(session, foreign_officer.actor, repeat.id)
    with pytest.raises(Forbidden):
        requests.accept_fee(session, referral.therapist.actor, repeat.id)
    for person in (referral.therapist, referral.client_person):
        with pytest.raises(Forbidden):
            requests.set_repeat_fee(session, person.actor, 100)
    with pytest.raises(Invalid) as refused:
        requests.set_repeat_fee(session, officer.actor, -1)
    assert "fee_cents" in refused.value.fields
    # compliance may record the client's answer given by phone
    assert requests.accept_fee(session, officer.actor, repeat.id).fee_accepted_at is not None


def test_the_fee_letter_tells_the_fee_and_how_to_withdraw(session, referral, officer, repeat):
    found, pdf = requests.fee_letter(session, referral.client_person.actor, repeat.id)
    text = squeeze(pdf_text(pdf))
    for expected in (
        "The fee for your accounting of disclosures",
        "Jordan Avery",
        "Riverside Counseling",
        "$25.00",
        "withdraw it at no charge",
        f"request #{repeat.id}",
    ):
        assert squeeze(expected) in text, expected
    session.rollback()
    downloaded = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.DOCUMENT_DOWNLOADED)
    ).all()
    assert downloaded[-1].detail == {"document": "fee_letter", "accounting_request_id": found.id}


def test_the_extension_letter_gives_the_reasons_and_the_new_date(session, referral, officer):
    found = record(session, officer, referral.client_id)
    with pytest.raises(WrongState):
        requests.extension_letter(session, officer.actor, found.id)
    reason = "Our records from the old system are being retrieved from storage."
    extended = requests.extend(session, officer.actor, found.id, reason)
    _, pdf = requests.extension_letter(session, referral.client_person.actor, found.id)
    text = squeeze(pdf_text(pdf))
    new_date = extended.extended_to
    assert squeeze(reason) in text
    assert squeeze(f"{new_date:%B} {new_date.day}, {new_date.year}") in text
    assert squeeze("45 CFR 164.528(c)(1)(ii)") in text


def test_api_fee_answers_letters_and_settings(client, session, referral, officer, repeat):
    officer_token = api_token(client, officer.email, officer.password)
    client_token = api_token(client, referral.client_person.email, referral.client_person.password)
    therapist_token = api_token(client, referral.therapist.email, referral.therapist.password)
    base = f"/api/v1/accounting-requests/{repeat.id}"
    shown = client.get(base, headers=bearer(client_token)).get_json()
    assert (shown["fee_cents"], shown["awaiting_fee_answer"]) == (2500, True)
    # fulfilment waits for the answer (409), the therapist may not answer (403)
    assert client.post(f"{base}/fulfilment", headers=bearer(officer_token)).status_code == 409
    assert client.post(f"{base}/fee-acceptance", headers=bearer(therapist_token)).status_code == 403
    letter = client.get(f"{base}/fee-letter.pdf", headers=bearer(client_token))
    assert letter.status_code == 200
    assert letter.mimetype == "application/pdf"
    assert (
        client.get(f"{base}/extension-letter.pdf", headers=bearer(client_token)).status_code == 409
    )
    changed = client.post(f"{base}/change", json={"part2": True}, headers=bearer(client_token))
    assert changed.status_code == 200
    assert changed.get_json()["part2"] is True
    accepted = client.post(f"{base}/fee-acceptance", headers=bearer(client_token))
    assert accepted.status_code == 200
    assert accepted.get_json()["awaiting_fee_answer"] is False
    assert client.post(f"{base}/fulfilment", headers=bearer(officer_token)).status_code == 200
    assert client.post(f"{base}/withdrawal", headers=bearer(client_token)).status_code == 409
    # settings: compliance only, a negative fee names the field
    settings = "/api/v1/accounting-settings"
    assert client.get(settings, headers=bearer(officer_token)).get_json() == {
        "repeat_fee_cents": 2500
    }
    for token in (client_token, therapist_token):
        put = client.put(settings, json={"repeat_fee_cents": 1}, headers=bearer(token))
        assert put.status_code == 403
    bad = client.put(settings, json={"repeat_fee_cents": -5}, headers=bearer(officer_token))
    assert bad.status_code == 422
    assert "fee_cents" in bad.get_json()["fields"]


def test_portal_shows_the_fee_and_the_client_goes_ahead(client, session, referral, repeat):
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/accounting")
    html = page.get_data(as_text=True)
    assert "your practice charges a fee of <strong>$25.00</strong>" in html
    assert "Withdraw my request" in html
    done = client.post(
        f"/portal/accounting/requests/{repeat.id}/fee-acceptance",
        data={"csrf_token": csrf_token(page)},
    )
    assert done.status_code == 302
    session.rollback()
    assert requests.request_for(session, referral.client_person.actor, repeat.id).fee_accepted_at
    assert "Withdraw my request" not in client.get("/portal/accounting").get_data(as_text=True)


def test_compliance_sets_the_fee_and_records_a_withdrawal(client, session, referral, officer):
    login_as(client, officer.email, officer.password)
    page = client.get("/compliance/accounting/requests")
    saved = client.post(
        "/compliance/accounting/settings", data={"csrf_token": csrf_token(page), "fee": "12.50"}
    )
    assert saved.status_code == 302
    session.rollback()
    assert requests.repeat_fee(session, officer.actor.organization_id) == 1250
    record(session, officer, referral.client_id)
    second = record(session, officer, referral.client_id)
    request_page = client.get(f"/compliance/accounting/requests/{second.id}")
    html = request_page.get_data(as_text=True)
    assert "$12.50" in html
    assert "waiting for their answer" in html
    withdrawn = client.post(
        f"/compliance/accounting/requests/{second.id}/withdrawal",
        data={"csrf_token": csrf_token(request_page)},
    )
    assert withdrawn.status_code == 302
    session.rollback()
    assert requests.request_for(session, officer.actor, second.id).withdrawn


def record_on(session, officer, client_id, days_ago: int, *, part2: bool = False):
    return requests.record(
        session,
        officer.actor,
        requests.NewRequest(
            client_id=client_id,
            received_on=now().date() - timedelta(days=days_ago),
            channel=Channel.WRITTEN,
            part2=part2,
        ),
    )


def test_withdrawing_the_free_request_frees_the_next_one_quoted_a_fee(
    session, library, referral, officer
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    # Given the free request, and two later ones quoted the fee while it was still open, the
    # client having already agreed to the first one's fee
    free = record_on(session, officer, referral.client_id, 20)
    quoted = record_on(session, officer, referral.client_id, 10)
    after = record_on(session, officer, referral.client_id, 5)
    assert [r.fee_cents for r in (free, quoted, after)] == [None, 2500, 2500]
    requests.accept_fee(session, referral.client_person.actor, quoted.id)
    # When the client withdraws the free one, which provided no accounting
    requests.withdraw(session, referral.client_person.actor, free.id)
    # Then the next one is the first in its 12 months: free, with no fee to answer
    session.rollback()
    quoted, after = (requests.request_for(session, officer.actor, r.id) for r in (quoted, after))
    assert (quoted.free, quoted.fee_cents, quoted.awaiting_fee_answer) == (True, None, False)
    # the client had agreed to its fee: if they paid it, it goes back to them
    assert (quoted.fee_dropped_cents, quoted.refund_owed) == (2500, True)
    assert requests.fulfil(session, officer.actor, library, quoted.id).fulfilled
    # And the one after it, in the same 12 months, still carries its fee
    assert (after.free, after.fee_cents, after.awaiting_fee_answer) == (False, 2500, True)
    # And the log says so, after the withdrawal
    assert actions(session, referral.client_id)[-3:-1] == [
        "accounting.withdrawn",
        "accounting.freed",
    ]
    (freed,) = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.ACCOUNTING_FREED.value)
    ).all()
    assert freed.detail == {
        "accounting_request_id": quoted.id,
        "withdrawn_request_id": free.id,
        "fee_cents": 2500,
    }


def test_an_accounting_provided_with_a_fee_before_the_free_one_was_withdrawn_is_owed_back(
    client, session, library, referral, officer
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    # Given the free request, a later one whose fee was accepted and which was provided while the
    # free one was still open, and a third quoted the fee
    free = record_on(session, officer, referral.client_id, 20)
    provided = record_on(session, officer, referral.client_id, 15)
    requests.accept_fee(session, referral.client_person.actor, provided.id)
    requests.fulfil(session, officer.actor, library, provided.id)
    third = record_on(session, officer, referral.client_id, 10)
    # When the free one is withdrawn
    requests.withdraw(session, referral.client_person.actor, free.id)
    # Then the one provided was the first accounting provided in its 12 months: free, and the
    # fee the client agreed to is owed back
    session.rollback()
    provided = requests.request_for(session, officer.actor, provided.id)
    assert (provided.free, provided.fee_cents, provided.fee_dropped_cents) == (True, None, 2500)
    assert provided.refund_owed
    # And the third keeps its fee: it is not the first provided in its 12 months
    third = requests.request_for(session, officer.actor, third.id)
    assert (third.free, third.fee_cents, third.freed_by_id) == (False, 2500, None)
    # And compliance reads it on both requests' pages
    login_as(client, officer.email, officer.password)
    page = client.get(f"/compliance/accounting/requests/{provided.id}").get_data(as_text=True)
    assert f"Free since request #{free.id} was withdrawn on" in page
    assert "The client had agreed to the fee of $25.00: refund it if they paid." in page
    page = client.get(f"/compliance/accounting/requests/{free.id}").get_data(as_text=True)
    assert "Made free by this withdrawal:" in page
    assert f"request #{provided.id}</a> (refund $25.00)" in page


def test_the_first_provided_is_freed_before_an_open_one_received_earlier(
    session, library, referral, officer
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    # Given the free request, an open one quoted the fee, and a later one provided with its fee
    free = record_on(session, officer, referral.client_id, 20)
    waiting = record_on(session, officer, referral.client_id, 15)
    provided = record_on(session, officer, referral.client_id, 10)
    requests.accept_fee(session, referral.client_person.actor, provided.id)
    requests.fulfil(session, officer.actor, library, provided.id)
    # When the free one is withdrawn
    requests.withdraw(session, referral.client_person.actor, free.id)
    # Then the one provided was the first accounting provided: it is the free one, owed back
    session.rollback()
    provided, waiting = (
        requests.request_for(session, officer.actor, r.id) for r in (provided, waiting)
    )
    assert (provided.free, provided.refund_owed) == (True, True)
    # and the open one, received earlier but in the same 12 months, keeps its fee
    assert (waiting.free, waiting.fee_cents) == (False, 2500)


@pytest.mark.parametrize("part2", [False, True])
def test_of_two_provided_with_a_fee_the_one_provided_first_is_freed(
    session, library, referral, officer, part2
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    # Given the free request, and two more received the same day (one of them a Part 2
    # accounting), both provided with their fee: the later-numbered one first
    free = record_on(session, officer, referral.client_id, 20)
    one = record_on(session, officer, referral.client_id, 10)
    other = record_on(session, officer, referral.client_id, 10, part2=part2)
    for found in (other, one):
        requests.accept_fee(session, referral.client_person.actor, found.id)
        requests.fulfil(session, officer.actor, library, found.id)
    # When the free one is withdrawn
    requests.withdraw(session, referral.client_person.actor, free.id)
    # Then the one provided first is the free one, and only it
    session.rollback()
    one, other = (requests.request_for(session, officer.actor, r.id) for r in (one, other))
    assert (other.free, other.refund_owed) == (True, True)
    assert (one.free, one.fee_cents, one.refund_owed) == (False, 2500, False)


def test_an_accounting_provided_before_the_withdrawn_one_keeps_a_later_one_charged(
    session, library, referral, officer
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    # Given a free request 400 days ago, one 300 days ago provided with its fee, a free one 20
    # days ago (the first is over 12 months before it) and one 10 days ago quoted the fee
    record_on(session, officer, referral.client_id, 400)
    provided = record_on(session, officer, referral.client_id, 300)
    requests.accept_fee(session, referral.client_person.actor, provided.id)
    requests.fulfil(session, officer.actor, library, provided.id)
    free = record_on(session, officer, referral.client_id, 20)
    later = record_on(session, officer, referral.client_id, 10)
    assert (free.free, later.free) == (True, False)
    # When the free one is withdrawn
    requests.withdraw(session, referral.client_person.actor, free.id)
    # Then the last one keeps its fee: an accounting was provided in its 12 months
    session.rollback()
    later = requests.request_for(session, officer.actor, later.id)
    assert (later.free, later.fee_cents) == (False, 2500)
    assert "accounting.freed" not in actions(session, referral.client_id)


def test_with_no_fee_set_a_freed_request_tells_the_client_nothing(app, session, referral, officer):
    # Given the practice sets no fee: a repeat request is charged nothing in particular
    free = record_on(session, officer, referral.client_id, 20)
    later = record_on(session, officer, referral.client_id, 10)
    assert (later.free, later.fee_cents) == (False, None)
    # When the free one is withdrawn, the later one becomes the free one
    requests.withdraw(session, referral.client_person.actor, free.id)
    session.rollback()
    assert requests.request_for(session, officer.actor, later.id).free
    # Then there is no fee to tell the client about: no notice, no mail
    user_id = referral.client_person.user.id
    assert session.scalars(select(Notification).where(Notification.user_id == user_id)).all() == []
    assert delivered_mail(app) == []


def test_a_withdrawal_leaves_requests_beyond_its_12_months_alone(session, referral, officer):
    requests.set_repeat_fee(session, officer.actor, 2500)
    # Given a free request 400 days ago, and one 20 days ago that carries a fee for a reason of
    # its own (set here directly, as older data may have it)
    old = record_on(session, officer, referral.client_id, 400)
    recent = record_on(session, officer, referral.client_id, 20)
    session.rollback()
    row = session.get(AccountingRequest, recent.id)
    row.free, row.fee_cents = False, 2500
    session.commit()
    # When the old one is withdrawn, the recent one, beyond its 12 months, is not its to free
    requests.withdraw(session, referral.client_person.actor, old.id)
    session.rollback()
    assert session.get(AccountingRequest, recent.id).fee_cents == 2500
    assert "accounting.freed" not in actions(session, referral.client_id)


def test_a_withdrawal_in_the_api_shows_the_next_request_free(client, session, referral, officer):
    requests.set_repeat_fee(session, officer.actor, 2500)
    free = record_on(session, officer, referral.client_id, 20)
    quoted = record_on(session, officer, referral.client_id, 10)
    token = api_token(client, referral.client_person.email, referral.client_person.password)
    base = "/api/v1/accounting-requests"
    assert client.get(f"{base}/{quoted.id}", headers=bearer(token)).get_json()["fee_cents"] == 2500
    # When the client withdraws the free one through the API
    assert client.post(f"{base}/{free.id}/withdrawal", headers=bearer(token)).status_code == 200
    # Then the other one is free, with nothing to accept, in the API and in the portal
    shown = client.get(f"{base}/{quoted.id}", headers=bearer(token)).get_json()
    assert (shown["free"], shown["fee_cents"], shown["awaiting_fee_answer"]) == (True, None, False)
    assert (shown["freed_by_request_id"], shown["fee_dropped_cents"]) == (free.id, 2500)
    assert shown["refund_owed"] is False  # the client had not agreed to it
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/accounting").get_data(as_text=True)
    assert "your practice charges a fee" not in page
    assert "Free: you withdrew an earlier request, so this one is your first in 12 months." in page
    assert "Its fee of $25.00 no longer applies." in page


def test_the_client_withdraws_the_free_request_in_the_portal_and_is_told_the_fee_is_gone(
    app, client, session, referral, officer
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    # Given a Spanish-speaking client with the free request and a later one quoted the fee
    record_on(session, officer, referral.client_id, 20)
    quoted = record_on(session, officer, referral.client_id, 10)
    session.get(Client, referral.client_id).language = "es"
    session.commit()
    person = referral.client_person
    login_as(client, person.email, person.password)
    page = client.get("/portal/accounting")
    html = page.get_data(as_text=True)
    # When they withdraw the free one from the portal (its only request with no fee answer)
    (withdrawal,) = re.findall(r'action="(/portal/accounting/requests/\d+/withdrawal)" class', html)
    done = client.post(withdrawal, data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302
    # Then a notice in the portal, in their language, names the request by its day in words
    session.rollback()
    (notice,) = session.scalars(
        select(Notification.text).where(Notification.user_id == person.user.id)
    )
    day = format_date(quoted.received_on, "long", locale="es")
    assert f"que usted hizo el {day} ahora es gratuito" in notice, notice
    assert "25,00" in notice or "$25.00" in notice
    # And a mail tells them where to look, without the request or the amount
    (mail,) = delivered_mail(app)
    assert mail["To"] == session.get(Client, referral.client_id).email
    assert mail["Subject"] == "Ya no se cobra un cargo por su pedido"
    body = mail.get_content()
    assert "$25" not in body
    assert day not in body
    # And when they later read roi in English, the notice reads in English too
    english = client.get("/portal/")
    switched = client.post(
        "/language", data={"language": "en", "next": "/portal/", "csrf_token": csrf_token(english)}
    )
    assert switched.status_code == 302
    html = client.get("/portal/").get_data(as_text=True)
    english_day = format_date(quoted.received_on, "long", locale="en")
    assert f"you made on {english_day} is now free" in html
    assert "ahora es gratuito" not in html


def test_compliance_records_that_the_client_withdrew_the_free_request(
    client, session, referral, officer
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    free = record_on(session, officer, referral.client_id, 20)
    quoted = record_on(session, officer, referral.client_id, 10)
    login_as(client, officer.email, officer.password)
    # (a request with a fee waiting for an answer has its own withdrawal, beside the fee)
    charged = client.get(f"/compliance/accounting/requests/{quoted.id}").get_data(as_text=True)
    assert "Withdrawn by the client" not in charged
    # Given the free request's page, which says what recording a withdrawal does
    page = client.get(f"/compliance/accounting/requests/{free.id}")
    assert "It cannot be undone" in page.get_data(as_text=True)
    # When compliance records the client's withdrawal
    done = client.post(
        f"/compliance/accounting/requests/{free.id}/withdrawal",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    # Then the page links the request it made free, whose fee was only quoted (nothing to refund)
    html = done.get_data(as_text=True)
    assert "Made free by this withdrawal:" in html
    assert f"request #{quoted.id}</a></dd>" in html
    page = client.get(f"/compliance/accounting/requests/{quoted.id}").get_data(as_text=True)
    assert "The fee of $25.00 quoted before was dropped." in page
