"""What a Spanish reader sees on a page, and the English words that give a page away."""

from __future__ import annotations

import re
from html import unescape

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
#: words of English prose, and the English words roi's pages use most, that no Spanish sentence
#: uses (checked whole-word and case-sensitively, so "Sí" or "a" never match)
ENGLISH = re.compile(
    r"\b(the|The|your|Your|you|You|and|with|this|This|of|is|to|for|from|by|on|at|or|not|are"
    r"|has|have|was|will|been|no longer|Sign|Save|Cancel|Back|Active|Revoked|Expired|Draft"
    r"|Pending|Signed|Sent|Refused|Everything|Anyone|Emergency|Request|Release|Message"
    r"|Restriction|Disclosure|Status|None|left|tries|Waiting|Agreed|Declined|Ended)\b"
)


def visible_text(html: str) -> str:
    """What a reader sees: no scripts, styles or tags, entities decoded."""
    html = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def english_left(html: str, *data: str) -> list[str]:
    """The English of a page's visible text, once `data` (what people typed) is taken out: each
    English word with the words around it, so a failure shows where it is."""
    # a release is written in its own language (consent.language): an English one stays English
    html = re.sub(r'<(article)\b[^>]*\blang="en"[^>]*>.*?</\1>', " ", html, flags=re.DOTALL)
    text = " ".join(visible_text(html).split())
    for typed in sorted(data, key=len, reverse=True):
        text = text.replace(typed, " ")
    spans: list[list[int]] = []
    for match in ENGLISH.finditer(text):
        start, end = max(0, match.start() - 40), match.end() + 40
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [text[start:end] for start, end in spans]
