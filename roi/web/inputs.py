"""Hostile input stops at the door: ids the database cannot hold, JSON nested to exhaust the
parser's recursion, and text no column can store never reach a view (SECURITY J3); a body larger
than the app's limit is refused before it is read, a larger one only where a view takes a scan."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter, Map

from roi.documents import attachments
from roi.errors import Invalid, Malformed
from roi.i18n import N_, Message
from roi.inputs import MAX_ID, text_problem

F = TypeVar("F", bound=Callable[..., Any])
#: the body of a request that carries a scan, which the API takes in base64 (4 bytes for every 3)
#: inside JSON: room for the largest scan and the rest of the form
SCAN_REQUEST_LIMIT = attachments.MAX_SCAN_BYTES * 4 // 3 + attachments.MB

#: deeper than any body roi reads (a message's attachments are three levels), far below the
#: depth at which the json module's recursion gives out
MAX_JSON_DEPTH = 32

#: braces count as brackets: only the depth matters here, a mismatch is the parser's to find
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class RecordId(IntegerConverter):
    """`<int:...>` in every route: an id beyond what an id column holds matches no route (404)
    instead of reaching the database driver, which cannot bind it (OverflowError)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether `body` opens more than `limit` arrays or objects inside each other.

    Counted on the raw bytes before parsing: the json module has no depth limit of its own and
    recurses once per level, so a body of 2,000 nested lists reaches RecursionError inside it.
    No installed library bounds depth without parsing (orjson's fixed limit is 1,024, and roi
    does not depend on it), so the count is written here, with bytes methods that run at C
    speed whatever the body: a Python loop over a 16 MB body of small tokens took seconds.
    """
    # escaped backslashes, then escaped quotes, go first; every quote left opens or closes a
    # string, so every other piece between quotes is outside strings
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])
    brackets = outside.translate(_AS_BRACKETS, _NOT_BRACKETS)
    # each pass takes away the innermost pairs, one level of every nesting
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:
            break
        brackets = shorter
    # a pair still there had more than `limit` levels inside it
    if b"[]" in brackets:
        return True
    # what is left is unbalanced: openers never closed are nesting the parser would enter
    depth = 0
    for byte in brackets:
        depth += 1 if byte == ord("[") else -1
        if depth > limit:
            return True
        if depth < 0:
            return False
    return False


def refuse_hostile_input() -> None:
    """Before every request: 400 for JSON nested too deeply, 422 naming the field for text that
    no database column can hold (NUL, a lone UTF-16 surrogate), in the query, a form or JSON.

    Raises:
        Malformed: the JSON body is nested deeper than MAX_JSON_DEPTH.
        Invalid: a field holds text that cannot be stored.
    """
    if request.is_json:
        if json_depth_exceeds(request.get_data(cache=True), MAX_JSON_DEPTH):
            raise Malformed(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
        _refuse_bad_text(_strings(request.get_json(silent=True), ""))
    _refuse_bad_text(request.args.items(multi=True))
    if request.method in {"POST", "PUT", "PATCH"} and not request.is_json:
        _refuse_bad_text(request.form.items(multi=True))


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed JSON body (keys too), with where it is (`attachments.0.name`)."""
    if isinstance(value, str):
        yield path or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


def _refuse_bad_text(named: Iterable[tuple[str, str]]) -> None:
    for name, value in named:
        why = text_problem(value)
        if why is not None:
            # the name itself may be the bad text: show it only once it is printable
            shown = name if text_problem(name) is None else N_("a field name")
            raise Invalid({shown: why}, Message("%(field)s: %(why)s", field=shown, why=why))


def takes_scans(view: F) -> F:
    """Mark a view that takes a scanned document: its request may be as large as a scan needs
    (SCAN_REQUEST_LIMIT). Every other request keeps the app's MAX_CONTENT_LENGTH. Each of these
    views needs a permission, and the access check runs before anything reads the body
    (roi.web.security.install): only someone signed in with the view's permission has a body
    that large read (whether the record it names is theirs is known only after)."""
    view.roi_takes_scans = True  # type: ignore[attr-defined]
    return view


def allow_scans() -> None:
    """Before the body is read: lift the body limit for a view that takes scans."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "roi_takes_scans", False):
        request.max_content_length = SCAN_REQUEST_LIMIT


def install(app: Flask) -> None:
    """The id converter replaces `int` before any route is added; the checks run before the
    CSRF check, the body limit before anything reads the body."""
    app.url_map.converters["int"] = RecordId
    checks = app.before_request_funcs.setdefault(None, [])
    checks[:0] = [allow_scans, refuse_hostile_input]
