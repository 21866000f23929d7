"""H1: client-typed text cannot make WeasyPrint read a file, reach a host or embed a file."""

from __future__ import annotations

import inspect
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pikepdf
import pytest
import weasyprint

from roi.documents import fetcher, pdf
from roi.documents.model import ConsentDocument, Evidence, Party, SignerBlock
from tests.documents.conftest import (
    make_doc,
    make_evidence,
    make_revocation,
    make_signer,
    pdf_text,
    squeeze,
)


@dataclass
class Canary:
    """An HTTP server on 127.0.0.1 that records every request it receives."""

    port: int
    requests: list[str]


@pytest.fixture
def canary() -> Iterator[Canary]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { background: red }")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    # Bounded: the server stops itself after 60 s even if teardown never runs.
    stopper = threading.Timer(60, server.shutdown)
    stopper.daemon = True
    stopper.start()
    try:
        yield Canary(server.server_address[1], seen)
    finally:
        stopper.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def hostile_strings(port: int) -> list[str]:
    return [
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/hostname">',
        f'<p style="background:url(http://127.0.0.1:{port}/x)">styled</p>',
        "<style>@import url(http://169.254.169.254/);</style>",
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/evil.css">',
        "<script>document.write('x')</script>",
        f'<a rel="attachment" href="http://127.0.0.1:{port}/a">a</a>',
    ]


def poisoned(value: str, payload: str) -> str:
    return f"{value} {payload}"


def hostile_everything(port: int) -> tuple[ConsentDocument, SignerBlock, Evidence]:
    """A consent, signer and evidence whose every text field carries every payload."""
    payload = " ".join(hostile_strings(port))

    def party(p: Party) -> Party:
        return Party(
            name=poisoned(p.name, payload),
            credentials=poisoned(p.credentials, payload),
            organization=poisoned(p.organization, payload),
            address=poisoned(p.address, payload),
            email=poisoned(p.email or "", payload),
        )

    base = make_doc()
    #: codes roi sets, never typed by anyone: the language and time zone are checked when chosen
    codes = {"consent_uuid", "kind", "direction", "language", "time_zone"}
    doc = replace(
        base,
        title=poisoned(base.title, payload),
        introduction=poisoned(base.introduction, payload),
        client_name=poisoned(base.client_name, payload),
        discloser=party(base.discloser),
        recipient=party(base.recipient),
        categories=tuple((poisoned(a, payload), poisoned(b, payload)) for a, b in base.categories),
        information_description=poisoned(base.information_description, payload),
        purposes=tuple(poisoned(p, payload) for p in base.purposes),
        expiry_event=payload,
        statements=tuple((poisoned(h, payload), poisoned(t, payload)) for h, t in base.statements),
        how_to_revoke=poisoned(base.how_to_revoke, payload),
        originals=(poisoned("The notice in English.", payload),) + (None,) * 2,
    )
    signer = make_signer(
        name=poisoned("Maya Chen", payload),
        relationship=payload,
        authority=payload,
    )
    evidence = make_evidence(
        doc,
        ip=payload,
        user_agent=payload,
        identity_method=payload,
        assurance=payload,
        template_id=payload,
        organization=payload,
    )
    # every str field of every object is poisoned (so a new field cannot be forgotten here)
    for obj in (doc, doc.discloser, doc.recipient, signer, evidence):
        for f in fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, str) and f.name not in codes:
                assert payload in value or f.name == "shown_document_sha256", f.name
    return doc, signer, evidence


def embedded_files(document: bytes) -> list[str]:
    """Names of embedded files and file-attachment annotations (pikepdf)."""
    found: list[str] = []
    with pikepdf.open(io.BytesIO(document)) as parsed:
        found.extend(parsed.attachments.keys())
        names = parsed.Root.get("/Names")
        if names is not None and "/EmbeddedFiles" in names:
            found.append("/EmbeddedFiles")
        for page in parsed.pages:
            for annot in page.get("/Annots", []):
                if annot.get("/Subtype") == "/FileAttachment":
                    found.append("FileAttachment annotation")
        for obj in parsed.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/EmbeddedFile":
                found.append("EmbeddedFile stream")
    return found


def test_weasyprint_is_at_least_70():
    assert tuple(int(p) for p in weasyprint.__version__.split(".")[:2]) >= (70, 0)


def test_hostile_fields_are_printed_not_fetched(canary, expect_refusals):
    # Given a consent whose every client-supplied field carries file:, http: and @import payloads
    doc, signer, evidence = hostile_everything(canary.port)
    revocation = make_revocation(reason=" ".join(hostile_strings(canary.port)))
    # When the consent and the revocation receipt are rendered, watched by the fetcher spy
    with fetcher.watch_fetches() as attempts:
        consent_pdf = pdf.render_consent(doc, signer=signer, evidence=evidence)
        receipt_pdf = pdf.render_revocation_receipt(
            doc, signer=signer, evidence=evidence, revocation=revocation
        )
        preview = pdf.render_preview_html(doc)
    # Then the only URL asked for is the packaged stylesheet
    assert {a.url for a in attempts} == {"roi-asset:pdf.css"}
    assert all(a.allowed for a in attempts)
    # And the canary host heard nothing
    assert canary.requests == []
    # And neither PDF embeds a file
    assert embedded_files(consent_pdf) == []
    assert embedded_files(receipt_pdf) == []
    # And the payloads are printed as the characters the client typed
    for document in (consent_pdf, receipt_pdf):
        text = squeeze(pdf_text(document))
        for payload in hostile_strings(canary.port):
            assert squeeze(payload) in text, payload
    # And in the browser preview they are escaped text, not elements
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in preview
    assert "<img" not in preview
    assert "<script" not in preview
    assert "<link" not in preview


def test_raw_hostile_html_is_still_refused_by_the_fetcher(canary, expect_refusals):
    # Given HTML that *does* contain the payloads as elements (as if escaping had failed)
    html = "<html><head>{}</head><body>{}</body></html>".format(
        f'<link rel="stylesheet" href="http://127.0.0.1:{canary.port}/evil.css">'
        '<link rel="attachment" href="file:///etc/hostname">'
        "<style>@import url(http://169.254.169.254/); "
        f"body {{ background: url(http://127.0.0.1:{canary.port}/bg) }}</style>",
        " ".join(hostile_strings(canary.port))
        + '<img src="data:image/png;base64,iVBORw0KGgo=">'
        + '<img src="ftp://127.0.0.1/x.png"><img src="/etc/passwd">',
    )
    # When the locked pipeline renders it
    with fetcher.watch_fetches() as attempts:
        document = pdf.html_to_pdf(html)
    # Then every URL was refused, nothing reached the canary, and nothing was attached
    urls = {a.url for a in attempts}
    assert f"http://127.0.0.1:{canary.port}/evil.css" in urls
    assert "file:///etc/passwd" in urls
    assert "file:///etc/hostname" in urls
    assert "http://169.254.169.254/" in urls
    assert not any(a.allowed for a in attempts)
    assert canary.requests == []
    assert embedded_files(document) == []
    assert b"root:" not in document


def test_render_takes_no_stylesheets_attachments_or_metadata():
    # No caller can hand WeasyPrint a stylesheet, an attachment or XMP metadata.
    for function in (pdf.render, pdf.html_to_pdf, pdf.render_consent):
        parameters = set(inspect.signature(function).parameters)
        assert not parameters & {"stylesheets", "attachments", "xmp_metadata", "base_url"}
