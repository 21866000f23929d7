"""What a PDF may fetch, named without WeasyPrint: the asset type, the per-render URL scheme and
where the PDF templates are.

Kept apart from `roi.documents.fetcher` (which subclasses WeasyPrint's fetcher) so that
`roi.documents.pdf` can render the HTML preview, and every process can import it, without
loading WeasyPrint: only writing a PDF does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roi.errors import ConfigError

#: bytes given for one render only (a drawn signature, a scanned image)
RENDER_SCHEME = "roi-render:"

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Asset:
    """Bytes the fetcher may serve, and their MIME type."""

    data: bytes
    mime_type: str


def pdf_templates_dir() -> Path:
    """`templates/pdf/`: beside the package in a checkout, in `roi/_share` in a wheel.

    This repeats `roi.share_root()` because `roi.documents` may not import the Flask app module.

    Raises:
        ConfigError: neither place has it.
    """
    for root in (_PACKAGE_DIR.parent, _PACKAGE_DIR / "_share"):
        folder = root / "templates" / "pdf"
        if folder.is_dir():
            return folder
    raise ConfigError(
        f"templates/pdf not found beside {_PACKAGE_DIR}: the installation is incomplete"
    )
