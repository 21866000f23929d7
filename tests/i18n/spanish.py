"""What a Spanish reader sees on a page, and the English words that give a page away."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
#: words of English prose, and the English words roi's pages use most, that no Spanish sentence
#: uses (checked whole-word and case-sensitively, so "Sí" or "a" never match)
ENGLISH = re.compile(
    r"\b(the|The|your|Your|you|You|and|with|this|This|of|is|to|for|from|by|on|at|or|not|are"
    r"|has|have|was|will|been|no longer|Sign|Save|Cancel|Back|Active|Revoked|Expired|Draft"
    r"|Pending|Signed|Sent|Refused|Everything|Anyone|Emergency|Request|Release|Message"
    r"|Restriction|Disclosure|Status|None|left|tries|Waiting|Agreed|Declined|Ended"
    r"|in|it|be|as|an|if|all|any|only|who|what|when|which|that|there|here|more|New|View|Edit"
    r"|Name|Date|Notes|Show|Open|Yes|Send|Delete|Add|Next|Help|Search|Download|Settings|Users"
    r"|Messages|Clients|Releases|Requests|Summary|Diagnosis|Medications|Treatment|Attendance)\b"
)
#: elements that never hold text of their own
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})
HIDDEN = frozenset({"script", "style", "template"})


def visible_text(html: str) -> str:
    """What a reader sees: no scripts, styles or tags, entities decoded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", " ", html))


class _SpanishText(HTMLParser):
    """The visible text outside any element that says it is English (`lang="en"`: a release
    shown in its own language, consent.language)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[bool] = []  # per open element: whether its text is left out
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        skipped = bool(self.open and self.open[-1])
        self.open.append(skipped or tag in HIDDEN or dict(attrs).get("lang") == "en")

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if not (self.open and self.open[-1]):
            self.parts.append(data)


def english_left(html: str, *data: str) -> list[str]:
    """The English of a page's visible text, once `data` (what people typed) is taken out: each
    English word with the words around it, so a failure shows where it is."""
    reader = _SpanishText()
    reader.feed(html.replace('<html lang="es">', "<html>"))
    text = " ".join(" ".join(reader.parts).split())
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
