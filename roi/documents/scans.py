"""Scans of signed paper (a release, a letter): checked before any decoder sees them, and
carried in roi's PDF of record.

An image scan is embedded by WeasyPrint (`roi.documents.pdf`); its width and height are read
from the file's header first, so a "pixel bomb" is refused before it is decoded. A PDF scan is
opened with pyHanko's reader (never rendered), and each of its pages is appended to the record
as a form XObject drawn on a page of its own size, so nothing of the scan runs: no JavaScript,
no forms, no links, only what the page draws.
"""

from __future__ import annotations

import struct
from io import BytesIO
from typing import TYPE_CHECKING

from roi.errors import Invalid

if TYPE_CHECKING:
    from pyhanko.pdf_utils.reader import PdfFileReader

# pyHanko is imported in the functions that read a PDF, not here: it costs almost half a second,
# which every CLI command and web worker would pay at start-up (`roi.documents.pdf` imports this).

#: an A4 page scanned at 600 dpi is about 5000 × 7000 pixels
MAX_SIDE = 12_000
#: below Pillow's decompression-bomb warning (89 million pixels)
MAX_PIXELS = 60_000_000
MAX_PAGES = 40
#: JPEG start-of-frame markers (they carry the size); C4, C8 and CC are other segments
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def check_scan(content: bytes, content_type: str, field: str = "scan") -> None:
    """Refuse a scan roi cannot carry safely: an image too large or unreadable, a PDF that
    does not open, is password-protected or has too many pages.

    Raises:
        Invalid: naming `field`, with the reason.
    """
    if content_type == "application/pdf":
        _pdf_pages(content, field)
        return
    width, height = image_size(content, content_type, field)
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise Invalid({field: "The scanned image is too large: scan at 300 dpi or less."})


def image_size(content: bytes, content_type: str, field: str = "scan") -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk or a JPEG's start-of-frame segment.

    Raises:
        Invalid: the header cannot be read.
    """
    size = _png_size(content) if content_type == "image/png" else _jpeg_size(content)
    if size is None:
        raise Invalid({field: "The scanned image cannot be read: scan it again as PDF or PNG."})
    return size


def append_pages(record: bytes, scan: bytes) -> bytes:
    """`record` (a PDF roi rendered) followed by every page of the PDF `scan`, each drawn as
    an XObject on a page of the scanned page's size.

    Raises:
        Invalid: the scan cannot be read.
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import PageObject, copy_into_new_writer

    reader, count = _pdf_pages(scan, "scan")
    writer = copy_into_new_writer(PdfFileReader(BytesIO(record)))
    try:
        for index in range(count):
            xobject = writer.import_page_as_xobject(reader, page_ix=index)
            box = [float(v) for v in xobject.get_object()["/BBox"]]
            width, height = box[2] - box[0], box[3] - box[1]
            draw = generic.StreamObject(
                stream_data=f"q 1 0 0 1 {-box[0]:.3f} {-box[1]:.3f} cm /Scan Do Q".encode()
            )
            resources = generic.DictionaryObject(
                {pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/Scan"): xobject})}
            )
            writer.insert_page(
                PageObject(
                    contents=writer.add_object(draw),
                    media_box=[0, 0, width, height],
                    resources=resources,
                )
            )
    except (PdfError, KeyError, ValueError, TypeError, IndexError) as error:
        raise Invalid({"scan": "The scanned PDF cannot be read: scan it again."}) from error
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_pages(content: bytes, field: str) -> tuple[PdfFileReader, int]:
    """The reader of a PDF scan and its number of pages.

    Raises:
        Invalid: not readable, encrypted, empty, or too many pages.
    """
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(content), strict=False)
        if reader.encrypted:
            raise Invalid({field: "The PDF is password-protected: scan it again without one."})
        count = int(reader.root["/Pages"]["/Count"])
    except Invalid:
        raise
    except (PdfError, KeyError, ValueError, TypeError, IndexError, AttributeError) as error:
        raise Invalid({field: "The scanned PDF cannot be read: scan it again."}) from error
    if not 0 < count <= MAX_PAGES:
        raise Invalid({field: f"A scan may have from 1 to {MAX_PAGES} pages."})
    return reader, count


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG's segments up to the first start-of-frame."""
    at = 2  # after the SOI marker
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
            continue
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if length < 2:
            return None
        at += 2 + length
    return None
