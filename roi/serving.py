"""How gunicorn serves roi (`roi serve`): the app each worker builds, and the access log without
secrets (the tokens of signing links and of password-reset and invitation links are masked in
logged paths)."""

from __future__ import annotations

import gc
import re
from typing import Any

from flask import Flask
from gunicorn.glogging import Logger

from roi import create_app

#: paths that carry a bearer secret: /sign/<token> (roi.consent.invitations) and
#: /password-reset/<token> (a reset, or an admin's invitation: roi.accounts.recovery); log their
#: shape only
SECRET_IN_PATH = re.compile(
    r"(/sign/(?!identity|code|verify|review|done)|/password-reset/)[A-Za-z0-9_-]{16,}"
)


def mask(text: str) -> str:
    return SECRET_IN_PATH.sub(r"\1[token]", text)


class MaskingLogger(Logger):
    """gunicorn's logger with the request path and line masked before formatting, in the access
    log and in the error log (at debug, gunicorn logs each request's path; a failed request's
    URI is logged with its error)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "{raw_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask(atoms[key])
        return atoms

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().critical(*_masked(msg, args), **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().error(*_masked(msg, args), **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().warning(*_masked(msg, args), **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().info(*_masked(msg, args), **kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().debug(*_masked(msg, args), **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().exception(*_masked(msg, args), **kwargs)


def _masked(msg: Any, args: tuple[Any, ...]) -> list[Any]:
    return [mask(part) if isinstance(part, str) else part for part in (msg, *args)]


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
