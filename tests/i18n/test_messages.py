"""Domain text that is shown later: English wherever a string is read, Spanish on a Spanish page."""

from __future__ import annotations

import json
from datetime import date

from roi import i18n
from roi.errors import NotFound
from roi.i18n import N_, Message


def test_a_message_reads_as_english_and_translates_with_its_parameters():
    message = Message("No such %(what)s.", what=Message(N_("record")))
    assert message == "No such record."
    assert message.in_language("es") == "No existe ese registro (registro)."
    assert message.in_language("en") == "No such record."


def test_domain_errors_carry_translatable_messages():
    error = NotFound()
    assert error.message == "No such record."
    assert i18n.translate(error.message, "es") == "No existe ese registro (registro)."


def test_text_not_in_the_catalogue_is_shown_as_it_stands():
    assert i18n.translate("Dana Whitfield", "es") == "Dana Whitfield"


def test_speaking_a_language_for_a_block_then_returning_to_the_default():
    with i18n.speaking("es-MX"):
        assert i18n.gettext("Sign out") == "Cerrar sesión"
    assert i18n.gettext("Sign out") == "Sign out"
    assert i18n.current_language() == "en"


def test_a_day_reads_as_iso_in_english_text_and_in_words_once_translated():
    # Given a refusal that names a day
    message = Message("It ended on %(day)s.", day=date(2027, 5, 1))
    # Then the string the API and the logs carry keeps the ISO day
    assert message == "It ended on 2027-05-01."
    # and a page shows it in words of its language
    assert message.in_language("en") == "It ended on May 1, 2027."
    assert i18n.translate(Message("%(day)s", day=date(2027, 5, 1)), "es") == "1 de mayo de 2027"


def test_a_kept_message_keeps_its_day():
    kept = Message("It ended on %(day)s.", day=date(2027, 5, 1)).kept()
    assert json.loads(json.dumps(kept)) == kept
    assert Message.restored(kept).in_language("en") == "It ended on May 1, 2027."
