"""The only URL fetcher WeasyPrint is ever given: it serves named in-memory assets and nothing else.

WeasyPrint's docs advise "a custom URL fetcher that doesn't allow `file://` URLs" and note that
its timeout does not apply to `file://` (STYLE.md 8, SECURITY H1). This one goes further: it has
no network or file access at all. A URL is served only when it is a key of the fetcher's asset
table:

- `roi-asset:<name>`  packaged assets, read once from `templates/pdf/` (today: `pdf.css`).
  Fonts come from fontconfig (DejaVu Sans), which needs no fetch.
- `roi-render:<name>` bytes given for one render only (the client's drawn signature PNG). They
  are handed to a fresh fetcher for that render, so one document's image can never appear in
  another's.

Everything else is refused, whatever the scheme: `file:`, `http(s):`, `ftp:`, and `data:` too.
`data:` is refused even for images because the template never needs it (the drawn signature
arrives as `roi-render:signature.png`), so there is no "small image" exception to get wrong.

WeasyPrint 70 takes a `URLFetcher` instance (not a plain function): `LockedURLFetcher`
subclasses it, overrides `fetch`, and also builds its parent with no allowed protocols, so a code
path that reached the parent's urllib opener would still be refused.

Every attempt, served or refused, is reported to the listeners registered with `watch_fetches()`
(the tests' "fetcher spy"). Refusals are logged with the URL's scheme only: a URL could carry
client text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from weasyprint.urls import URLFetcher, URLFetcherResponse

from roi.documents.assets import RENDER_SCHEME, Asset, pdf_templates_dir

logger = logging.getLogger(__name__)

ASSET_SCHEME = "roi-asset:"
#: packaged assets: URL → (file in templates/pdf/, MIME type)
PACKAGED_ASSETS = {f"{ASSET_SCHEME}pdf.css": ("pdf.css", "text/css")}

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


@dataclass(frozen=True)
class FetchAttempt:
    """One URL WeasyPrint asked for, and whether it was served."""

    url: str
    allowed: bool


class FetchRefused(ValueError):
    """A URL outside the allowlist. WeasyPrint catches it, logs it and renders without it."""


_listeners: list[Callable[[FetchAttempt], None]] = []


@contextmanager
def watch_fetches() -> Iterator[list[FetchAttempt]]:
    """Record every fetch attempt made while the block runs (the tests' fetcher spy)."""
    seen: list[FetchAttempt] = []
    _listeners.append(seen.append)
    try:
        yield seen
    finally:
        _listeners.remove(seen.append)


@cache
def packaged_assets() -> Mapping[str, Asset]:
    """The packaged assets, read from disk once per process."""
    folder = pdf_templates_dir()
    return {
        url: Asset((folder / name).read_bytes(), mime)
        for url, (name, mime) in PACKAGED_ASSETS.items()
    }


class LockedURLFetcher(URLFetcher):
    """Serves packaged assets plus `extra` (per-render `roi-render:` assets); refuses the rest."""

    def __init__(
        self,
        extra: Mapping[str, Asset] | None = None,
        timeout: float = 10,
        ssl_context: Any = None,
        **kwargs: Any,
    ) -> None:
        # No protocol is allowed to the parent's opener: `fetch` below never calls it, and if
        # anything else did, it would refuse.
        super().__init__(
            timeout=timeout,
            ssl_context=ssl_context,
            allowed_protocols=frozenset(),
            allow_redirects=False,
            fail_on_errors=False,
        )
        for url in extra or {}:
            if not url.startswith(RENDER_SCHEME):
                raise ValueError(f"per-render assets use the {RENDER_SCHEME} scheme")
        self._assets: dict[str, Asset] = {**packaged_assets(), **(extra or {})}

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Serve `url` from memory when it is allowlisted.

        Raises:
            FetchRefused: any other URL.
        """
        asset = self._assets.get(url)
        attempt = FetchAttempt(url=url, allowed=asset is not None)
        for listener in list(_listeners):
            listener(attempt)
        if asset is None:
            match = _SCHEME.match(url)
            logger.warning("PDF fetch refused (scheme %r)", match[1] if match else None)
            raise FetchRefused("URL not in the PDF asset allowlist")
        return URLFetcherResponse(url, asset.data, {"Content-Type": asset.mime_type})

    def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
        """Refuse: nothing may reach urllib through this fetcher.

        Raises:
            FetchRefused: always.
        """
        raise FetchRefused("the locked fetcher opens no URLs")

    def __call__(self, url: str) -> URLFetcherResponse:
        return self.fetch(url)


@cache
def _shared() -> LockedURLFetcher:
    return LockedURLFetcher()


def locked_fetcher(url: str, timeout: float = 10, ssl_context: Any = None) -> URLFetcherResponse:
    """Fetch `url` with the packaged-assets-only fetcher (the function form of the fetcher).

    Raises:
        FetchRefused: the URL is not a packaged asset.
    """
    return _shared().fetch(url)


def fetcher_for(extra: Mapping[str, Asset] | None = None) -> LockedURLFetcher:
    """The fetcher to hand WeasyPrint: shared when there are no per-render assets."""
    return LockedURLFetcher(extra) if extra else _shared()
