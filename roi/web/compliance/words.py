"""Codes as compliance pages say them: how a request or a revocation arrived, a release's
status, a role. Each is marked for the catalogue and translated where a page shows it
(`{{ channel_words[code]|translated }}`)."""

from __future__ import annotations

from roi.compliance.models import Channel
from roi.consent.notices import OUTSIDE_WORDS
from roi.i18n import N_
from roi.web.clinician.consent_views import STATUS_WORDS
from roi.web.compliance import bp

CHANNEL_WORDS: dict[str, str] = {
    Channel.WRITTEN: N_("In writing (letter, fax, form)"),
    Channel.PHONE: N_("By phone"),
    Channel.PORTAL: N_("In the client portal"),
}

#: how a revocation received outside roi arrived: the words its notices and receipt use
METHOD_WORDS = OUTSIDE_WORDS


@bp.context_processor
def _words() -> dict[str, object]:
    return {
        "channel_words": CHANNEL_WORDS,
        "method_words": METHOD_WORDS,
        "status_words": {str(status): words for status, words in STATUS_WORDS.items()},
    }
