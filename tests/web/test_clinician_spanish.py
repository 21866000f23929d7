"""The clinician's pages in Spanish: roi's own words on them are translated, with dates in
Spanish, and so are the form's validation messages and the services' refusals."""

from __future__ import annotations

import pytest

from tests.consent import conftest as consent_fixtures
from tests.helpers import csrf_token, login_as
from tests.web.test_messages_web import COMPOSE, fields, post_multipart

library = consent_fixtures.library
referral = consent_fixtures.referral

#: roi's own English on these pages, which a Spanish page must not show
ENGLISH = (
    "Send a message about this client",
    "Releases of information",
    "Who signs releases",
    "Good to see you",
    "Waiting for a signature",
    "Provider directory",
    "Find a client by name",
    "Does a signed release cover it?",
    "Choose a client",
    "Save draft",
    "Record a disclosure made outside roi",
    "Date of birth",
)


@pytest.mark.parametrize(
    ("path", "spanish"),
    [
        ("/clinician/", "Qué gusto verle"),
        ("/clinician/clients", "Buscar un cliente por nombre"),
        ("/clinician/clients/{client}", "Autorizaciones para divulgar información"),
        ("/clinician/clients/{client}/consents/new", "Elija el tipo de autorización"),
        (
            "/clinician/clients/{client}/consents/new?template_id=general-authorization",
            "Guardar borrador",
        ),
        ("/clinician/clients/{client}/disclosures/new", "Registrar la divulgación"),
        ("/clinician/directory", "Directorio de proveedores"),
        ("/clinician/directory/new", "Agregar un proveedor al directorio"),
        ("/clinician/messages", "Mensaje nuevo"),
        (COMPOSE, "¿Lo cubre una autorización firmada?"),
    ],
)
def test_the_page_speaks_spanish(client, session, referral, path, spanish):
    login_as(client, referral.therapist.email, referral.therapist.password)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    page = client.get(path.format(client=referral.client_id))
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert spanish in shown
    assert [english for english in ENGLISH if english in shown] == []


def test_the_client_page_gives_dates_in_spanish(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    shown = client.get(f"/clinician/clients/{referral.client_id}").get_data(as_text=True)
    assert "12 de abril de 1991" in shown
    assert "1991-04-12" not in shown


def test_validation_and_service_refusals_are_in_spanish(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    token = csrf_token(client.get(COMPOSE))
    # the form's own check
    missing = post_multipart(
        client, COMPOSE, {**fields(referral, client_id="0"), "csrf_token": token}
    )
    assert missing.status_code == 422
    assert "Elija el cliente del que trata este mensaje." in missing.get_data(as_text=True)
    # the messaging service's rules
    empty = post_multipart(
        client, COMPOSE, {**fields(referral, subject="", body=""), "csrf_token": token}
    )
    assert empty.status_code == 422
    shown = empty.get_data(as_text=True)
    assert "Escriba un asunto." in shown
    assert "Escriba el mensaje." in shown
    assert "Write a subject." not in shown
