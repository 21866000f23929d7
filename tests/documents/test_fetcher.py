"""The locked fetcher serves its allowlist from memory and refuses every other URL."""

from __future__ import annotations

import pytest

from roi.documents import fetcher
from roi.documents.assets import Asset
from roi.documents.fetcher import FetchRefused, LockedURLFetcher, fetcher_for


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://127.0.0.1:9/x",
        "https://169.254.169.254/latest/meta-data/",
        "ftp://127.0.0.1/x",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:text/css,body{}",
        "roi-asset:../../etc/passwd",
        "roi-asset:pdf.css?x",
        "roi-render:signature.png",
        "/etc/passwd",
        "pdf.css",
    ],
)
def test_refuses_everything_not_allowlisted(url, expect_refusals):
    with fetcher.watch_fetches() as attempts, pytest.raises(FetchRefused):
        fetcher_for().fetch(url)
    assert attempts == [fetcher.FetchAttempt(url, allowed=False)]


def test_serves_the_packaged_stylesheet_from_memory():
    response = fetcher.locked_fetcher("roi-asset:pdf.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


def test_per_render_assets_are_served_only_by_their_fetcher(expect_refusals):
    png = Asset(b"\x89PNG...", "image/png")
    own = fetcher_for({"roi-render:signature.png": png})
    assert own.fetch("roi-render:signature.png").read() == png.data
    with pytest.raises(FetchRefused):
        fetcher_for().fetch("roi-render:signature.png")


def test_per_render_assets_must_use_the_render_scheme():
    with pytest.raises(ValueError, match="roi-render"):
        LockedURLFetcher({"file:///etc/passwd": Asset(b"", "text/plain")})


def test_urllib_path_is_closed():
    with pytest.raises(FetchRefused):
        fetcher_for().open("file:///etc/passwd")
