"""A test-only table following the sealed-column convention, on its own MetaData so it never
joins the application's schema (no application table has a sealed column yet)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Column, Engine, Integer, LargeBinary, MetaData, String, Table, insert, select

from roi import vault
from roi.vault import Place
from roi.vault.rotate import SealedColumn, sealed_columns

metadata = MetaData()

sealed_notes = Table(
    "sealed_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("body", LargeBinary, nullable=True, info={"sealed": True}),
    Column("title", LargeBinary, nullable=True, info={"sealed": True}),
)


def columns() -> list[SealedColumn]:
    return sealed_columns(metadata)


def place(row_uuid: str, column: str = "body") -> Place:
    return Place("sealed_notes", column, row_uuid)


def insert_notes(engine: Engine, bodies: Iterable[bytes], *, titles: bool = False) -> list[str]:
    """Seal and insert one row per body under the active primary key; returns the row uuids."""
    rows = []
    for body in bodies:
        row_uuid = str(uuid.uuid4())
        rows.append(
            {
                "uuid": row_uuid,
                "body": vault.seal(body, place(row_uuid)),
                "title": vault.seal(b"title " + body[:8], place(row_uuid, "title"))
                if titles
                else None,
            }
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(insert(sealed_notes), rows[start : start + 1000])
    return [row["uuid"] for row in rows]


def read_all(engine: Engine) -> dict[str, bytes]:
    """Every row's body, opened; raises on any ciphertext that does not open."""
    with engine.connect() as conn:
        rows = conn.execute(select(sealed_notes.c.uuid, sealed_notes.c.body)).all()
    return {row_uuid: vault.open_sealed(body, place(row_uuid)) for row_uuid, body in rows}


def kids(engine: Engine) -> dict[str, int]:
    """Key ids of the body column, read from each blob's header in Python (not via status())."""
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for row_uuid, body in conn.execute(select(sealed_notes.c.uuid, sealed_notes.c.body)):
            kid = vault.key_id_of(body, place(row_uuid))
            counts[kid] = counts.get(kid, 0) + 1
    return counts
