"""Mails to a Spanish reader say nothing in English: the ones that need no release to write
(the release mails are checked with a Spanish signing in tests/consent/test_language.py)."""

from __future__ import annotations

import pytest

from roi import i18n
from roi.accounts import recovery
from roi.compliance import requests as accounting_requests
from roi.consent import notices as consent_notices
from roi.mail import Mail
from roi.messaging import notices as message_notices
from tests.i18n.spanish import ENGLISH

TO = "lucia@example.org"
#: each mail, written for a reader of `language`
WRITERS = {
    "new message": lambda language: message_notices.new_message_mail(TO, "Dana W.", language),
    "emergency disclosure": lambda _: message_notices.emergency_disclosure_mail(TO),
    "restriction ended": lambda _: consent_notices.restriction_ended_mail(TO),
    "accounting fee dropped": lambda _: accounting_requests._fee_dropped_mail(TO),
    "password form paused": lambda language: recovery._paused_mail(TO, language),
}


def written(kind: str, language: str) -> Mail:
    with i18n.speaking(language):
        return WRITERS[kind](language)


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_mail_to_a_spanish_reader_is_all_spanish(kind):
    spanish = written(kind, "es")
    words = " ".join((spanish.subject, spanish.text, spanish.closing))
    assert ENGLISH.findall(words) == [], words
    # and the same mail to an English reader stays English
    assert written(kind, "en").subject != spanish.subject
