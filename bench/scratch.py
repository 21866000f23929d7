"""Scratch databases for the benchmarks: a temporary SQLite file, and a throwaway schema in the
PostgreSQL database given by `--database-url` (the benchmarks never touch its other schemas)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from roi.db import configure_engine


@contextmanager
def sqlite_engine(keep: str | None = None) -> Iterator[Engine]:
    """A SQLite database in a temporary folder, or in the file `keep` (kept for another run)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(keep) if keep else Path(folder) / "bench.db"
        engine = create_engine(f"sqlite:///{path}")
        configure_engine(engine)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(url: str, keep: str | None = None) -> Iterator[Engine]:
    """A fresh schema in the database at `url`, dropped afterwards unless named by `keep`."""
    schema = keep or f"roi_bench_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-c search_path={schema}"})
    configure_engine(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def on_each_database(database_url: str | None, run: Callable[[Engine], None]) -> None:
    """`run` on a scratch SQLite database, then on a scratch PostgreSQL schema if a URL is given."""
    with sqlite_engine() as engine:
        run(engine)
    if database_url:
        with postgres_engine(database_url) as engine:
            run(engine)
