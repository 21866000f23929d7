"""`roi user add`, `roi user mfa-reset`."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from roi.accounts import mfa, service
from roi.accounts.models import User
from roi.actor import Actor, Role
from roi.errors import Invalid
from roi.extensions import db

user_group = AppGroup("user", help="Manage user accounts.")


@user_group.command("add")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["clinician", "client", "compliance", "admin"])
)
@click.option("--name", required=True)
@click.option("--org", "organization", default=None, help="Created when it does not exist.")
@click.option("--client-id", type=int, default=None, help="For a client user: the client record.")
@click.option("--json", "as_json", is_flag=True, help='Print {"id": ...}.')
def add_user(
    email: str,
    password: str,
    role: str,
    name: str,
    organization: str | None,
    client_id: int | None,
    as_json: bool,
) -> None:
    """Add a user and print their id."""
    try:
        user = service.create_user(
            db.session(),
            Actor.system(),
            email=email,
            password=password,
            role=Role(role),
            name=name,
            organization=organization,
            client_id=client_id,
            argon2=current_app.config["ROI_SETTINGS"].argon2,
        )
    except Invalid as error:
        raise click.ClickException(
            "; ".join(f"{field}: {why}" for field, why in error.fields.items())
        ) from None
    click.echo(json.dumps({"id": user.id}) if as_json else str(user.id))


@user_group.command("mfa-reset")
@click.option("--email", required=True)
def mfa_reset(email: str) -> None:
    """Remove a user's second factors (the way back in for a user who lost them); audited."""
    user_id = db.session.scalar(select(User.id).where(User.email_key == service.email_key(email)))
    if user_id is None:
        raise click.ClickException(f"no user has the email address {email}")
    mfa.reset(db.session(), Actor.system(), user_id)
    click.echo(f"second factors of {email} removed; they set up a new one at their next sign-in")
