"""How gunicorn serves roi (`roi serve`): the app each worker builds, and the access log without
secrets (signing-link tokens are masked in logged paths)."""

from __future__ import annotations

import gc
import re
from typing import Any

from flask import Flask
from gunicorn.glogging import Logger

from roi import create_app

#: /sign/<token> carries a bearer secret (roi.consent.invitations); log its shape only
SIGNING_LINK = re.compile(r"(/sign/)(?!identity|code|verify|review|done)[A-Za-z0-9_-]{16,}")


def mask(text: str) -> str:
    return SIGNING_LINK.sub(r"\1[token]", text)


class MaskingLogger(Logger):
    """gunicorn's logger with the request path and line masked before formatting."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "{raw_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask(atoms[key])
        return atoms


def served_app() -> Flask:
    """The app as each gunicorn worker builds it (`roi serve` serves `roi.serving:served_app()`).

    What the worker keeps for its whole life (modules, the app, its mappers and compiled
    statements, the form library) then leaves the cycle collector's scans: each full collection
    walked all of it, about 0.1 s every thousand requests, some 4 % of a send's time. Garbage
    left from building is collected first; cycles that requests make are collected as before.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
