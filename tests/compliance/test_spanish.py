"""Compliance pages in Spanish: an officer whose browser asks for Spanish reads the log, the
overview and the accounting requests in Spanish, with the domain's refusals translated too."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from roi.clock import now
from roi.compliance import requests
from roi.compliance.models import Channel
from tests.helpers import csrf_token, login_as

SPANISH = {"Accept-Language": "es"}


def page(client, url: str) -> str:
    response = client.get(url, headers=SPANISH)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_the_log_and_the_overview_speak_spanish(client, session, seeded, officer):
    login_as(client, officer.email, officer.password)
    log = page(client, "/compliance/log")
    assert "Registro de divulgaciones del sistema" in log
    assert "Divulgación enviada" in log
    assert "Divulgación bloqueada" in log
    assert "Divulgaciones, enviadas y bloqueadas" in log  # the filter the log opens on
    for english in ("Disclosure sent", "What happened", "Show entries", "Older entries"):
        assert english not in log
    overview = page(client, "/compliance/")
    assert "Resumen de cumplimiento" in overview
    assert "Divulgaciones rechazadas" in overview
    assert "Compliance overview" not in overview


def test_accounting_requests_and_their_refusals_speak_spanish(client, session, referral, officer):
    # one day throughout: what the test expects is counted from today, which must not turn over
    with time_machine.travel(now(), tick=False):
        received = now().date() - timedelta(days=3)
        found = requests.record(
            session, officer.actor, requests.NewRequest(referral.client_id, received, Channel.PHONE)
        )
        login_as(client, officer.email, officer.password)
        listing = page(client, "/compliance/accounting/requests")
        assert "Por teléfono" in listing
        assert "vence en 57 días" in listing
        # A day in the future is refused, in Spanish, beside its field
        new = "/compliance/accounting/requests/new"
        refused = client.post(
            new,
            headers=SPANISH,
            data={
                "csrf_token": csrf_token(client.get(new)),
                "client_id": str(referral.client_id),
                "received_on": (now().date() + timedelta(days=2)).isoformat(),
                "channel": "written",
                "step": "confirmed",
            },
        )
        assert refused.status_code == 422
        assert "El día en que llegó la solicitud no puede estar en el futuro." in refused.get_data(
            as_text=True
        )
        # A second extension is refused with the rule, in Spanish
        requests.extend(session, officer.actor, found.id, "Archivo en otra sede.")
        url = f"/compliance/accounting/requests/{found.id}"
        again = client.post(
            f"{url}/extension",
            headers=SPANISH,
            data={"csrf_token": csrf_token(client.get(url)), "reason": "Más"},
        )
        assert again.status_code == 409
        assert f"La solicitud n.º {found.id} ya se prorrogó una vez" in again.get_data(as_text=True)
