"""A client who reads Spanish reads the portal in Spanish: their releases, the release and its
signature form, errors included (issue 14 item 11; the emailed link: test_signing_link.py)."""

from __future__ import annotations

from roi.accounts.models import Client
from tests.factories import release_waiting_for_signature
from tests.helpers import csrf_token, login_as

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}


def test_a_spanish_speaking_client_reads_the_portal_and_the_sign_form_in_spanish(
    client, session, clinician, client_person
):
    # Given a release waiting for the client's signature, and a browser that asks for Spanish
    record = session.get(Client, client_person.actor.client_id)
    consent = release_waiting_for_signature(session, clinician, record)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    login_as(client, client_person.email, client_person.password)
    # When they open their releases
    dashboard = client.get("/portal/").get_data(as_text=True)
    # Then the page speaks Spanish: headings, the state, and what to do
    assert '<html lang="es">' in dashboard
    assert "Esperando su firma" in dashboard
    assert "Leer y decidir" in dashboard
    assert "Waiting for your signature" not in dashboard
    assert "Read and decide" not in dashboard
    # And the release's page offers the signature form in Spanish
    detail = client.get(f"/portal/consents/{consent.id}")
    page = detail.get_data(as_text=True)
    assert "Firmar esta autorización" in page
    assert "Escriba su nombre completo" in page
    assert "Sign this release" not in page
    assert "Type your full name" not in page
    # And a drawing that cannot be read is explained in Spanish, the page titled as an error
    refused = client.post(
        f"/portal/consents/{consent.id}/sign",
        data={
            "relationship": "self",
            "signer_name": "Jordan Avery",
            "agree": "y",
            "drawn_signature": "data:image/gif;base64,R0lGOD",
            "csrf_token": csrf_token(detail),
        },
    )
    said = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "No pudimos leer la firma dibujada" in said
    assert "Hay un problema" in said
