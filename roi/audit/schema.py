"""The database side of "append-only": triggers that refuse UPDATE and DELETE on `audit_entries`.

`Base.metadata.create_all` installs them through `after_create` events; an Alembic migration runs
the same SQL with `for sql in install_statements(op.get_bind().dialect.name): op.execute(sql)`
after creating `audit_entries` and `audit_head`.

On SQLite, Alembic's batch mode rebuilds a table by copying it, which drops its triggers: a batch
migration that touches `audit_entries` must run `trigger_statements()` again afterwards.

There is deliberately no TRUNCATE trigger: on PostgreSQL the application role simply must not own
the table nor hold TRUNCATE on it (`privilege_statements`), and the test fixtures truncate.
"""

from __future__ import annotations

import re

from sqlalchemy import DDL, FromClause, event

HEAD_ID = 1
GENESIS_HASH = "0" * 64
APPEND_ONLY_MESSAGE = "audit_entries is append-only"

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
]

_POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION roi_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege'; "
    "END $$"
)
# FOR EACH STATEMENT: refuse even an UPDATE or DELETE that matches no row, so probing fails too.
_POSTGRES_TRIGGERS = [
    _POSTGRES_FUNCTION,
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION roi_audit_append_only()",
]

# Built from this module's constants only; no outside value ever reaches these strings.
_HEAD_VALUES = f"({HEAD_ID}, 0, '{GENESIS_HASH}')"
_HEAD_ROW = {
    "sqlite": "INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES " + _HEAD_VALUES,  # noqa: S608
    "postgresql": (
        "INSERT INTO audit_head (id, seq, hash) VALUES "  # noqa: S608
        + _HEAD_VALUES
        + " ON CONFLICT (id) DO NOTHING"
    ),
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _dialect(dialect_name: str) -> str:
    if dialect_name not in _HEAD_ROW:
        raise ValueError(f"the audit log supports sqlite and postgresql, not {dialect_name!r}")
    return dialect_name


def trigger_statements(dialect_name: str) -> list[str]:
    """The SQL that makes `audit_entries` refuse UPDATE and DELETE (idempotent).

    Raises:
        ValueError: the dialect is neither sqlite nor postgresql.
    """
    if _dialect(dialect_name) == "sqlite":
        return list(_SQLITE_TRIGGERS)
    return list(_POSTGRES_TRIGGERS)


def head_row_statement(dialect_name: str) -> str:
    """The SQL that inserts the empty chain's head row unless it exists (idempotent).

    Raises:
        ValueError: the dialect is neither sqlite nor postgresql.
    """
    return _HEAD_ROW[_dialect(dialect_name)]


def install_statements(dialect_name: str) -> list[str]:
    """Everything a migration runs after creating `audit_entries` and `audit_head`.

    Raises:
        ValueError: the dialect is neither sqlite nor postgresql.
    """
    return [*trigger_statements(dialect_name), head_row_statement(dialect_name)]


def uninstall_statements(dialect_name: str) -> list[str]:
    """The SQL a downgrade runs before dropping `audit_entries`.

    Raises:
        ValueError: the dialect is neither sqlite nor postgresql.
    """
    if _dialect(dialect_name) == "sqlite":
        return [
            "DROP TRIGGER IF EXISTS audit_entries_no_update",
            "DROP TRIGGER IF EXISTS audit_entries_no_delete",
        ]
    return [
        "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
        "DROP FUNCTION IF EXISTS roi_audit_append_only()",
    ]


def privilege_statements(app_role: str) -> list[str]:
    """PostgreSQL grants for the role the application connects as (SECURITY G4: privileges too).

    The migration runs these as the owner; the app role can then append and read, never rewrite.

    Raises:
        ValueError: `app_role` is not a plain SQL identifier.
    """
    if not _IDENTIFIER.fullmatch(app_role):
        raise ValueError("the application role must be a plain SQL identifier")
    role = f'"{app_role}"'
    return [
        f"REVOKE ALL ON audit_entries FROM {role}",
        f"GRANT SELECT, INSERT ON audit_entries TO {role}",
        f"REVOKE ALL ON audit_head FROM {role}",
        f"GRANT SELECT, INSERT, UPDATE ON audit_head TO {role}",
    ]


def install_triggers_on_create(table: FromClause) -> None:
    """Have `metadata.create_all` install the triggers right after it creates `table`."""
    for dialect_name in ("sqlite", "postgresql"):
        for sql in trigger_statements(dialect_name):
            event.listen(table, "after_create", DDL(sql).execute_if(dialect=dialect_name))
    for sql in uninstall_statements("postgresql")[1:]:
        # The trigger goes with the table; the function would outlive it.
        event.listen(table, "after_drop", DDL(sql).execute_if(dialect="postgresql"))
