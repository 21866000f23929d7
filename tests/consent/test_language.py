"""A release is read, signed and kept in the client's language; the clinician previews either."""

from __future__ import annotations

import io

import pikepdf
import pytest
from sqlalchemy import select

from roi.accounts.models import Client
from roi.consent import lifecycle
from roi.consent.models import Notification
from roi.documents import seal
from roi.errors import WrongState
from roi.mail import outbox
from roi.mail.models import OutboxItem
from tests.consent.conftest import identity, signature
from tests.documents.conftest import pdf_text, squeeze
from tests.factories import stand_in_documents


def mails_to(session, address: str) -> list[outbox.Mail]:
    items = session.scalars(select(OutboxItem).order_by(OutboxItem.id))
    return [m for m in (outbox._open(i.uuid, i.message_sealed) for i in items) if m.to == address]


def test_a_release_signed_in_spanish_records_spanish_and_previews_in_either(session, referral):
    referral.therapist.user.language = "es"
    session.commit()
    consent = referral.sent(session)
    clinician = referral.therapist.actor
    # the clinician previews it in English by default, and in Spanish on request
    english = lifecycle.preview_html(session, clinician, consent.id, referral.library)
    spanish = lifecycle.preview_html(session, clinician, consent.id, referral.library, "es")
    assert "Permission to share your health information" in english
    assert "Autorización para compartir su información de salud" in spanish
    assert "Usted puede cancelar esta autorización" in spanish
    # When the client, who read it in Spanish, signs it
    with stand_in_documents():
        signed = lifecycle.sign_as_client(
            session,
            referral.client_person.actor,
            consent.id,
            signature(language="es"),
            identity(referral.client_person),
            referral.library,
        )
    # Then the release is Spanish, and so is what anyone previews of it by default
    assert signed.language == "es"
    evidence = lifecycle.evidence_of(signed.signature)
    assert (evidence["language"], evidence["language_version"]) == ("es", 1)
    again = lifecycle.preview_html(session, clinician, consent.id, referral.library)
    assert again == spanish
    # and the therapist, who reads Spanish, is told so in Spanish
    notices = session.scalars(
        select(Notification.text).where(Notification.user_id == referral.therapist.user.id)
    ).all()
    client_name = signed.client.display_name
    assert f"{client_name} firmó la autorización n.º {consent.id}; ya está vigente." in notices
    # and the link to their copy comes in Spanish, though they never picked a language
    copy = mails_to(session, "jordan@client.example")[-1]
    assert "su copia de la autorización que firmó" in copy.subject


def test_an_unknown_language_signs_in_english(session, referral):
    consent = referral.sent(session)
    with stand_in_documents():
        signed = lifecycle.sign_as_client(
            session,
            referral.client_person.actor,
            consent.id,
            signature(language="xx"),
            identity(referral.client_person),
            referral.library,
        )
    assert signed.language == "en"


def test_a_spanish_release_is_printed_in_spanish_sealed_and_the_same_on_every_download(
    session, referral
):
    # Given a client in Chicago who reads Spanish
    client = session.get(Client, referral.client_id)
    client.time_zone = "America/Chicago"
    session.commit()
    consent = referral.sent(session)
    # When they sign what they read in Spanish (rendered and sealed for real)
    signed = lifecycle.sign_as_client(
        session,
        referral.client_person.actor,
        consent.id,
        signature(language="es"),
        identity(referral.client_person),
        referral.library,
    )
    _, document = lifecycle.signed_pdf(session, referral.client_person.actor, consent.id)
    _, again = lifecycle.signed_pdf(session, referral.therapist.actor, consent.id)
    # Then the PDF is Spanish throughout, says so, and names the client's zone
    assert again == document
    text = squeeze(pdf_text(document))
    for expected in (
        "Autorización para compartir su información de salud",
        "Su atención no depende de que firme",
        "Usted puede cancelar esta autorización",
        "Cómo revocarla",
        'toque "Revocar"',
        "Idioma en que leyó quien firmó español",
        "general-authorization, versión 1; su texto en español, versión 1",
        "(hora estándar central)",
    ):
        assert squeeze(expected) in text, expected
    with pikepdf.open(io.BytesIO(document)) as pdf:
        assert pdf.Root.Lang == "es"
    # and still sealed, its seal covering the whole file
    certificate = seal.signing_identity(
        session, signed.organization_id, signed.organization.name
    ).certificate_pem
    report = seal.verify_pdf(document, certificate)
    assert report.ok
    assert report.covers_whole_file


def test_the_signing_link_mail_is_in_the_clients_language(session, referral):
    # Given a client who reads Spanish, the link to sign is written in Spanish
    client = session.get(Client, referral.client_id)
    client.language = "es"
    session.commit()
    referral.sent(session)
    (spanish,) = mails_to(session, "jordan@client.example")
    assert "una autorización espera su firma" in spanish.subject
    assert "le pide que revise y firme" in spanish.text
    assert "su fecha de nacimiento" in spanish.closing
    # and one who has not picked a language still reads English
    client.language = None
    session.commit()
    referral.sent(session)
    english = mails_to(session, "jordan@client.example")[-1]
    assert english.subject.endswith(": a release is waiting for your signature")
    assert "asks you to review and sign a release of information" in english.text


def test_a_spanish_part2_release_keeps_the_2_32_notice_in_english_beside_its_translation(
    session, referral
):
    consent = referral.draft(
        session,
        template_id="part2-consent",
        categories=("sud_treatment",),
        purposes=("care_coordination",),
    )
    html = lifecycle.preview_html(
        session, referral.therapist.actor, consent.id, referral.library, "es"
    )
    assert 'lang="es"' in html
    assert "Aviso a quien recibe estos expedientes (42 CFR 2.32)" in html
    notice_english = html.index('<p class="typed" lang="en">This record which has been disclosed')
    notice_spanish = html.index("Este expediente que se le ha divulgado")
    assert notice_english < html.index("Traducción") < notice_spanish


def test_a_refused_state_change_can_be_read_in_spanish(session, referral):
    consent = referral.signed(session)
    with pytest.raises(WrongState) as refused:
        lifecycle.void(session, referral.therapist.actor, consent.id)
    assert str(refused.value.message) == (
        "This release cannot be voided: it is already signed and active."
    )
    assert refused.value.message.in_language("es") == (
        "Esta autorización no se puede anular: ya está firmada y vigente."
    )


def test_a_clinician_prints_the_paper_release_in_spanish(session, referral):
    consent = referral.draft(session)
    _, blank = lifecycle.blank_release(
        session, referral.therapist.actor, consent.id, referral.library, "es"
    )
    text = squeeze(pdf_text(blank))
    for expected in (
        "Autorización para compartir su información de salud",
        "Firme y escriba la fecha abajo.",
        "Nombre en letra de molde",
        "Página 1 de",
    ):
        assert squeeze(expected) in text, expected
