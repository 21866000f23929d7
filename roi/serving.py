"""How gunicorn serves roi: its access log without secrets (signing-link tokens are masked in
logged paths), and, loaded as gunicorn's config module (`--config python:roi.serving`, as `roi
serve` runs it), the hook that sets up each worker."""

from __future__ import annotations

import gc
import re
from typing import Any

from gunicorn.glogging import Logger

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


def post_worker_init(worker: Any) -> None:
    """gunicorn's hook once a worker has loaded the app: what the worker holds for its whole
    life (modules, the app, its mappers and compiled statements, the form library) leaves the
    cycle collector's scans. Each full collection walked all of it, about 0.1 s every thousand
    requests, some 4 % of a send's time; cycles made by requests are collected as before."""
    gc.freeze()
