"""The `roi` command: a console script, and the same group as `flask --app wsgi roi`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup, ScriptInfo

from roi.errors import RoiError

roi_group = AppGroup("roi", help="roi: consent and release-of-information manager.")


def main() -> None:
    """Entry point of the `roi` console script; errors are one line on stderr."""
    from roi import create_app

    try:
        roi_group.main(prog_name="roi", obj=ScriptInfo(create_app=lambda: create_app()))
    except RoiError as error:
        click.echo(f"roi: {error.message}", err=True)
        sys.exit(2)


def _register() -> None:
    from roi.cli import audit, keys, setup, users, worker

    for command in (
        setup.init_command,
        setup.demo_command,
        setup.serve_command,
        users.user_group,
        keys.keys_group,
        audit.audit_group,
        worker.worker_command,
    ):
        roi_group.add_command(command)


_register()
