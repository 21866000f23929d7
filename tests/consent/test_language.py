"""A release is read, signed and kept in the client's language; the clinician previews either."""

from __future__ import annotations

from roi.consent import lifecycle
from tests.consent.conftest import identity, signature
from tests.factories import stand_in_documents


def test_a_release_signed_in_spanish_records_spanish_and_previews_in_either(session, referral):
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
