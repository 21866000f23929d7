"""Consent PDFs and the browser preview, rendered from plain data (`roi.documents.model`).

The only module in roi that calls WeasyPrint (STYLE.md 8). Three rules keep a hostile field
harmless (SECURITY H1):

- Jinja autoescapes every value, so `<img src="file:///etc/passwd">` typed into a field is printed
  as those characters: it never becomes an element, a URL or a stylesheet.
- WeasyPrint gets the locked fetcher (`roi.documents.fetcher`), which serves only allowlisted
  in-memory assets, and no `base_url`, so even a template bug cannot reach a file or a host.
- `write_pdf` is called with no `stylesheets=`, `attachments=` or metadata from data: the
  stylesheet is the packaged `roi-asset:pdf.css` the template links, and nothing is embedded.

Every PDF is tagged PDF/UA-1 (`PDF_VARIANT`), so a screen reader reads it in order: WeasyPrint
writes the structure tree from the HTML, /Lang from `<html lang>`, /Title from `<title>` with
DisplayDocTitle, and each image's `alt`. Every template in templates/pdf/ must therefore carry
those three (tests/documents/test_tagged.py checks them). The tagging is deterministic: the same
HTML gives the same bytes.

The preview the client reads before signing is the same template in preview mode: the very
`<article>` the PDF prints, as an HTML fragment with nothing to fetch. Its SHA-256 is the
"document fingerprint" recorded as evidence (`shown_document_sha256`).
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Mapping
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from roi import i18n
from roi.documents import scans, wording
from roi.documents.assets import RENDER_SCHEME, Asset, pdf_templates_dir
from roi.documents.model import (
    ConsentDocument,
    Evidence,
    PaperRecord,
    RevocationBlock,
    SignerBlock,
)
from roi.errors import Invalid
from roi.i18n import N_

logger = logging.getLogger(__name__)

CONSENT_TEMPLATE = "consent.html"
REVOCATION_TEMPLATE = "revocation_receipt.html"
PAPER_TEMPLATE = "paper_release.html"
SCAN_IMAGE = "scan"
SIGNATURE_IMAGE = "signature.png"
#: WeasyPrint's PDF/UA-1 variant: tagged structure, /MarkInfo, /Lang, DisplayDocTitle, XMP id
PDF_VARIANT = "pdf/ua-1"

#: a drawn signature larger than this is refused rather than decoded (a PNG "pixel bomb")
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIGNATURE_SIDE = 4000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

RELATIONSHIPS = {
    "self": N_("The client, signing for themselves"),
    "parent": N_("Parent of the client"),
    "guardian": N_("Legal guardian of the client"),
    "personal_representative": N_("Personal representative of the client"),
}
#: each language named in the language being spoken (the evidence says which one was read)
LANGUAGE_WORDS = {"en": N_("English"), "es": N_("Spanish")}


def relationship_words(code: str) -> str:
    return i18n.gettext(RELATIONSHIPS[code]) if code in RELATIONSHIPS else code


def language_words(code: str) -> str:
    return i18n.gettext(LANGUAGE_WORDS[code]) if code in LANGUAGE_WORDS else code


def grouped(hexdigest: str) -> str:
    """A digest in groups of eight characters, easier to read aloud and compare."""
    return " ".join(hexdigest[i : i + 8] for i in range(0, len(hexdigest), 8))


@cache
def _environment() -> Environment:
    """The PDF templates' own Jinja environment, built once: autoescape on, strict variables,
    and `_()`/`{% trans %}` answering in the language being spoken (`render_html`)."""
    env = Environment(
        loader=FileSystemLoader(pdf_templates_dir()),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    # as the pages' templates and the catalogue's extraction read them (babel.cfg)
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.filters.update(
        long_date=wording.long_date,
        utc=wording.utc_moment,
        local=wording.local_moment,
        zone_name=wording.zone_name,
        relationship=relationship_words,
        language=language_words,
        words=_catalogued,
        grouped=grouped,
    )
    return env


def _gettext(message: str) -> str:
    # Jinja fills the placeholders (escaping the values), so only the lookup happens here
    return i18n.translations(i18n.current_language()).gettext(message)


def _catalogued(text: str) -> str:
    """Words roi wrote and marked (`N_`) and a record keeps in English, such as how a signer's
    identity was checked, in the language being spoken; any other text as it stands."""
    # the empty msgid is the catalogue's header, never words
    return i18n.translate(text, i18n.current_language()) if text else text


def _ngettext(singular: str, plural: str, count: int) -> str:
    return i18n.translations(i18n.current_language()).ngettext(singular, plural, count)


def render_html(template: str, context: Mapping[str, object], language: str = "en") -> str:
    """Render templates/pdf/<template> to an HTML string (autoescaped), written in `language`."""
    with i18n.speaking(language):
        return _environment().get_template(template).render(**context)


def html_to_pdf(html: str, images: Mapping[str, bytes] | None = None) -> bytes:
    """WeasyPrint `html` to a tagged PDF/UA-1 file's bytes with the locked fetcher.

    `images` are PNGs the template names as `roi-render:<name>`; they are served for this render
    only. Nothing else is fetched from disk or network.

    Raises:
        Invalid: an image is not a PNG of acceptable size.
    """
    extra = {
        f"{RENDER_SCHEME}{name}": Asset(_checked_png(name, data), "image/png")
        for name, data in (images or {}).items()
    }
    return _write_pdf(html, extra)


def _write_pdf(html: str, extra: Mapping[str, Asset]) -> bytes:
    """WeasyPrint `html` to PDF/UA-1 bytes, fetching only packaged assets and `extra`."""
    # WeasyPrint (and the fetcher built on it) loads here, on the first PDF, not on import: it
    # costs over half a second, and the CLI, the web workers and the previews never write a PDF.
    from weasyprint import HTML

    from roi.documents.fetcher import fetcher_for

    return HTML(string=html, url_fetcher=fetcher_for(extra)).write_pdf(pdf_variant=PDF_VARIANT)


def render(
    template: str,
    context: Mapping[str, object],
    *,
    language: str = "en",
    images: Mapping[str, bytes] | None = None,
) -> bytes:
    """Render templates/pdf/<template> to PDF bytes written in `language`; nothing is fetched
    from disk or network.

    Raises:
        Invalid: an image is not a PNG of acceptable size.
    """
    return html_to_pdf(render_html(template, context, language), images)


def consent_html(doc: ConsentDocument, *, signer: SignerBlock, evidence: Evidence) -> str:
    """The HTML `render_consent` gives WeasyPrint (for benchmarks and debugging)."""
    _check_evidence(doc, evidence)
    return render_html(CONSENT_TEMPLATE, _consent_context(doc, signer, evidence), doc.language)


def render_consent(doc: ConsentDocument, *, signer: SignerBlock, evidence: Evidence) -> bytes:
    """The signed consent as an unsealed PDF: the document, the signature, the evidence page.

    Raises:
        Invalid: the drawn signature is not a PNG of acceptable size.
    """
    html = consent_html(doc, signer=signer, evidence=evidence)
    return html_to_pdf(html, _images(signer))


def render_revocation_receipt(
    doc: ConsentDocument,
    *,
    signer: SignerBlock,
    evidence: Evidence,
    revocation: RevocationBlock,
) -> bytes:
    """The revocation receipt: the whole scope of the consent, when it was signed and revoked."""
    _check_evidence(doc, evidence)
    context = {"doc": doc, "signer": signer, "evidence": evidence, "revocation": revocation}
    return render(REVOCATION_TEMPLATE, context, language=doc.language)


def render_paper_release(doc: ConsentDocument, record: PaperRecord, scan: bytes) -> bytes:
    """The document of record of a release signed on paper, unsealed: a summary page of what
    staff entered, then the scan (an image embedded, a PDF's pages appended).

    Raises:
        Invalid: the scan cannot be carried (`roi.documents.scans.check_scan`).
    """
    scans.check_scan(scan, record.scan_type)
    is_pdf = record.scan_type == "application/pdf"
    image_url = None if is_pdf else f"{RENDER_SCHEME}{SCAN_IMAGE}"
    context = {"doc": doc, "record": record, "scan_image_url": image_url}
    html = render_html(PAPER_TEMPLATE, context, doc.language)
    if image_url is None:
        return scans.append_pages(html_to_pdf(html), scan)
    return _write_pdf(html, {image_url: Asset(scan, record.scan_type)})


def render_blank(doc: ConsentDocument) -> bytes:
    """A pre-filled release for signing on paper: the whole document, then empty lines for the
    signature, the date, the signer's relationship and authority."""
    context = {"doc": doc, "preview": False, "blank": True}
    return render(CONSENT_TEMPLATE, context, language=doc.language)


def render_preview_html(doc: ConsentDocument) -> str:
    """The document the client reads before signing, as an HTML fragment for the browser.

    It is the `<article>` the PDF prints plus an empty signature box; it links no stylesheet
    and fetches nothing (the page that shows it styles it). Every value is escaped, so the
    caller may mark it safe.
    """
    return render_html(CONSENT_TEMPLATE, {"doc": doc, "preview": True}, doc.language)


def shown_document_sha256(doc: ConsentDocument) -> str:
    """Hex SHA-256 of `render_preview_html(doc)` as UTF-8: the document fingerprint.

    Stable for the same document and templates; any change to any field changes it.
    """
    return hashlib.sha256(render_preview_html(doc).encode("utf-8")).hexdigest()


def _consent_context(
    doc: ConsentDocument, signer: SignerBlock, evidence: Evidence
) -> dict[str, object]:
    image_url = f"{RENDER_SCHEME}{SIGNATURE_IMAGE}" if signer.drawn_signature_png else None
    return {
        "doc": doc,
        "signer": signer,
        "evidence": evidence,
        "preview": False,
        "signature_image_url": image_url,
    }


def _images(signer: SignerBlock) -> dict[str, bytes]:
    if signer.drawn_signature_png:
        return {SIGNATURE_IMAGE: signer.drawn_signature_png}
    return {}


def _check_evidence(doc: ConsentDocument, evidence: Evidence) -> None:
    if evidence.consent_uuid != doc.consent_uuid:
        raise ValueError(f"evidence for another consent given to consent {doc.consent_id}")


def _checked_png(name: str, data: bytes) -> bytes:
    """`data` if it is a PNG of sane size; checked before any decoder sees it."""
    if len(data) > MAX_SIGNATURE_BYTES or not data.startswith(_PNG_MAGIC) or len(data) < 24:
        raise Invalid({name: N_("The drawn signature must be a PNG image under 512 KB.")})
    # The first chunk of a PNG is IHDR: width and height as big-endian 32-bit integers.
    if data[12:16] != b"IHDR":
        raise Invalid({name: N_("The drawn signature is not a valid PNG image.")})
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_SIGNATURE_SIDE and 0 < height <= MAX_SIGNATURE_SIDE):
        raise Invalid({name: N_("The drawn signature image is too large.")})
    return data
