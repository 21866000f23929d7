"""Fill Spanish translations into the catalogue from a JSON object {"English": "Español"}.

    .venv/bin/python scripts/translate.py translations.json
    .venv/bin/python scripts/translate.py          # only tidy (`make catalogue` does this)

Entries already translated are kept unless the JSON names them; the catalogue stays sorted and
without locations (see the catalogue's header). Hand-written because pybabel has no command that
takes reviewed translations from a file other than a whole .po.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

#: header fields that change on every run: kept, every change would touch the same lines
VOLATILE = re.compile(
    r'^"(POT-Creation-Date|PO-Revision-Date|Generated-By|Report-Msgid-Bugs-To|Last-Translator|'
    r"Language-Team): "
)
CATALOGUE = Path(__file__).resolve().parents[1] / "roi/translations/es/LC_MESSAGES/messages.po"


def main(source: str | None) -> None:
    wanted: dict[str, str | list[str]] = (
        json.loads(Path(source).read_text(encoding="utf-8")) if source else {}
    )
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="es")
    lines = CATALOGUE.read_text(encoding="utf-8").splitlines()
    # the catalogue's own opening comment; write_po would replace it with a template's
    header = lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))]
    unknown = []
    for english, spanish in wanted.items():
        message = catalogue.get(english)
        if message is None:
            unknown.append(english)
            continue
        message.string = tuple(spanish) if isinstance(spanish, list) else spanish
        message.flags.discard("fuzzy")
    with CATALOGUE.open("wb") as po:
        write_po(po, catalogue, width=0, no_location=True, sort_output=True, omit_header=False)
    written = CATALOGUE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(written) if not line.startswith("#"))
    body = [line for line in written[start:] if not VOLATILE.match(line)]
    CATALOGUE.write_text("\n".join(header + body) + "\n", encoding="utf-8")
    if unknown:
        sys.exit(f"not in the catalogue (run `make catalogue` first): {unknown}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
