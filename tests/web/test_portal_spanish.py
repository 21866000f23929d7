"""A client who reads Spanish reads the portal in Spanish: their releases, the release and its
signature form, errors included (issue 14 item 11; the emailed link: test_signing_link.py)."""

from __future__ import annotations

import pytest

from roi.accounts.models import Client
from roi.consent.models import Consent
from tests.factories import release_waiting_for_signature, stand_in_documents
from tests.helpers import csrf_token, login_as


@pytest.fixture
def waiting(client, session, clinician, client_person) -> Consent:
    """A release waiting for the client's signature; the client signed in, in a browser that
    asks for Spanish."""
    consent = release_waiting_for_signature(
        session, clinician, session.get(Client, client_person.actor.client_id)
    )
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-MX,es;q=0.9"
    login_as(client, client_person.email, client_person.password)
    return consent


def test_a_spanish_speaking_client_reads_the_portal_and_the_sign_form_in_spanish(client, waiting):
    consent = waiting
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


def test_a_client_who_signs_in_spanish_signs_the_spanish_release(client, session, waiting):
    consent = waiting
    # When a client whose browser asks for Spanish reads the release and signs
    detail = client.get(f"/portal/consents/{consent.id}")
    with stand_in_documents():
        signed = client.post(
            f"/portal/consents/{consent.id}/sign",
            data={
                "relationship": "self",
                "signer_name": "Jordan Avery",
                "agree": "y",
                "csrf_token": csrf_token(detail),
            },
        )
    # Then the release of record is the Spanish one they read
    assert signed.status_code == 302
    session.rollback()
    assert session.get(Consent, consent.id).language == "es"
