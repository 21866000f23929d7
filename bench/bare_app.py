"""The baseline for bench/messages_bench.py: a bare Flask endpoint doing one indexed read.

    gunicorn --pythonpath bench 'bare_app:create_app()'   (DATABASE_URL names roi's database)

`POST /bare/messages` takes the same JSON body as `POST /api/v1/messages`, finds the client's
active consent through `ix_consents_client_id_status` and answers 201 with its id. No sign-in, no
gate, no audit, no sealing: what a request costs when it only reads one indexed row. It connects
the way roi does (the same SQLite pragmas), so the two differ only in what the request does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from roi.db import configure_engine

ACTIVE_CONSENT = text(
    "SELECT id FROM consents WHERE client_id = :client AND status = 'active' LIMIT 1"
)


def create_app() -> Flask:
    url = os.environ["DATABASE_URL"]
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(url, **options)
    configure_engine(engine)
    app = Flask("bare")

    @app.get("/health")
    def health() -> tuple[str, int]:
        return "ok", 200

    @app.post("/bare/messages")
    def send() -> tuple[dict[str, Any], int]:
        body = request.get_json()
        with engine.connect() as conn:
            consent_id = conn.execute(ACTIVE_CONSENT, {"client": int(body["client_id"])}).scalar()
        if consent_id is None:
            return {"error": "consent_required"}, 403
        return {"consent_id": consent_id, "client_id": body["client_id"]}, 201

    return app
