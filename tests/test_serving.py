"""The access log never carries a signing link's secret; each worker freezes what it built."""

from __future__ import annotations

import gc

from roi import serving
from roi.serving import mask


def test_signing_tokens_are_masked_in_logged_paths():
    line = "GET /sign/AbCdEf0123456789_-xyzXYZ0123456789abcdEF HTTP/1.1"
    assert mask(line) == "GET /sign/[token] HTTP/1.1"


def test_password_reset_and_invitation_tokens_are_masked_in_logged_paths():
    # the link mailed for a reset or an admin's invitation sets a password: a live secret
    line = "POST /password-reset/Zx9_-Yw8AbCdEf0123456789abcdefGHIJKLmnopQRS HTTP/1.1"
    assert mask(line) == "POST /password-reset/[token] HTTP/1.1"
    assert mask("/password-reset") == "/password-reset"


def test_other_paths_are_left_alone():
    for path in (
        "/sign/identity",
        "/sign/review",
        "/sign/done/release.pdf",
        "/clinician/clients/12",
    ):
        assert mask(path) == path


def test_a_worker_builds_the_app_then_freezes_what_it_keeps(monkeypatch):
    done: list[str] = []
    monkeypatch.setattr(serving, "create_app", lambda: done.append("built") or "the app")
    monkeypatch.setattr(gc, "collect", lambda *args: done.append("collected") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: done.append("frozen"))
    assert serving.served_app() == "the app"
    # garbage from building goes before the rest is frozen for the worker's life
    assert done == ["built", "collected", "frozen"]
