"""The access log never carries a signing link's secret."""

from __future__ import annotations

from roi.serving import mask


def test_signing_tokens_are_masked_in_logged_paths():
    line = "GET /sign/AbCdEf0123456789_-xyzXYZ0123456789abcdEF HTTP/1.1"
    assert mask(line) == "GET /sign/[token] HTTP/1.1"


def test_other_paths_are_left_alone():
    for path in (
        "/sign/identity",
        "/sign/review",
        "/sign/done/release.pdf",
        "/clinician/clients/12",
    ):
        assert mask(path) == path
