"""Alembic environment for roi (Flask-Migrate): the app's engine and the models' metadata."""

import logging
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
# Keep loggers configured before this point (the app's and the tests') working.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def run_migrations_offline() -> None:
    """Emit SQL for the app's database URL without connecting."""
    url = target_db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the app's own engine (so its SQLite pragmas apply)."""

    def skip_empty(context_, revision, directives):
        # autogenerate: write no revision file when nothing changed
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with _sqlite_foreign_keys_off(connection), context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "sqlite":
                # checked before the commit: a broken reference rolls the migrations back
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migrations left {len(broken)} broken references")


@contextmanager
def _sqlite_foreign_keys_off(connection):
    """On SQLite, batch mode alters a table by copying it to a new one and dropping the old: with
    foreign keys enforced, that drop fails on every row another table references. So, as SQLite's
    own procedure for altering a table says, enforcement is off while migrations run (set on the
    driver's connection outside any transaction, the only place it takes effect), and the
    references are checked before the commit instead."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
