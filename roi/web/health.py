"""`GET /healthz` and `GET /readyz` for load balancers (CONTRACT.md).

Both are public and cheap: no session, no audit entry, no rate limit. `/readyz` names each part
with a word, never an exception's text, so nothing about the database or the keys leaks.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from roi import audit, vault
from roi.db import schema_state
from roi.extensions import db

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

OK = "ok"
#: a part that could not be judged because the database does not answer
UNKNOWN = "unknown"


@bp.get("/healthz")
def healthz() -> Response:
    """200 for as long as the process serves requests."""
    return jsonify(status=OK)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the database answers, the key ring opens and belongs to it, and the schema is
    at the newest migration; 503 naming the failing part otherwise."""
    session = db.session()
    try:
        database = _database(session)
        reachable = database == OK
        parts = {
            "database": database,
            "keys": _keys(session, reachable),
            "migrations": _migrations(session) if reachable else UNKNOWN,
        }
    finally:
        session.rollback()
    ready = all(value == OK for value in parts.values())
    if not ready:
        logger.warning("not ready: %s", parts)
    return jsonify(parts), 200 if ready else 503


def _database(session: Session) -> str:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        session.rollback()
        return "unavailable"
    return OK


def _keys(session: Session, reachable: bool) -> str:
    try:
        vault.self_test()
    except vault.VaultError:
        return "missing"
    if not reachable:
        return UNKNOWN
    try:
        authentic = audit.newest_entry_authentic(session)
    except SQLAlchemyError:
        # No audit table yet: the migrations part says why.
        session.rollback()
        return UNKNOWN
    # A ring whose audit key did not chain this database's log is another instance's ring.
    return OK if authentic else "mismatch"


def _migrations(session: Session) -> str:
    directory = Path(current_app.extensions["migrate"].directory)
    try:
        return str(schema_state(session, directory))
    except SQLAlchemyError:
        session.rollback()
        return UNKNOWN
