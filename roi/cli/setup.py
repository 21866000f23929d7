"""`roi init`, `roi demo`, `roi serve`."""

from __future__ import annotations

import os
import secrets
import sys
from datetime import date, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from roi import vault
from roi.accounts import service
from roi.accounts.models import Organization, Provider, User
from roi.actor import Actor, Role
from roi.clock import now
from roi.config import Settings
from roi.consent import lifecycle
from roi.consent.library import FormLibrary
from roi.consent.models import Direction, SignerRelationship
from roi.documents.seal import ensure_identities
from roi.extensions import db
from roi.vault.keyring import FileKeyProvider, KeyRing

DEMO_FILE = "demo_accounts.txt"
THERAPY_PRACTICE = "Riverside Counseling"
PSYCHIATRY_PRACTICE = "Northgate Psychiatry"


def _settings() -> Settings:
    value: Settings = current_app.config["ROI_SETTINGS"]
    return value


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the schema and create the key ring; safe to run again."""
    settings = _settings()
    provider = vault.provider_for(settings.instance_path, settings.keys)
    if isinstance(provider, FileKeyProvider) and not provider.exists():
        provider.store(KeyRing.generate())
        click.echo(f"created the key ring {provider.path} (mode 0600): back it up securely")
    vault.use(provider.load())
    _check_database()
    upgrade()
    organizations = [(o.id, o.name) for o in db.session.scalars(select(Organization))]
    created = ensure_identities(db.session(), organizations)
    if created:
        click.echo(f"created {created} document signing certificate(s)")
    (settings.instance_path / "outbox").mkdir(mode=0o700, exist_ok=True)
    click.echo(f"roi is initialized; instance folder {settings.instance_path}")


def _check_database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except OperationalError:
        raise click.ClickException(
            "cannot connect to the database named by DATABASE_URL; is it running?"
        ) from None


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the instance has accounts.")
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Add a therapy practice, a psychiatry practice, users of every role and a few clients."""
    session = db.session
    if if_empty and session.scalar(select(User.id).limit(1)) is not None:
        click.echo("the instance already has accounts; no demo data added")
        return
    if session.scalar(select(Organization.id).where(Organization.name == THERAPY_PRACTICE)):
        raise click.ClickException("the demo practices already exist")
    logins = _seed_demo(db.session(), _settings())
    path = _settings().instance_path / DEMO_FILE
    _write_private(path, "\n".join(f"{r:<12} {e:<36} {p}" for r, e, p in logins) + "\n")
    click.echo(f"Demo accounts (also saved in {path}):")
    for role, email, password in logins:
        click.echo(f"  {role:<12} {email:<36} {password}")
    click.echo(
        "Staff accounts set up an authenticator app at their first sign-in: both practices "
        "require a second factor of staff (an admin can change that under Practice settings)."
    )


def _seed_demo(session: Session, settings: Settings) -> list[tuple[str, str, str]]:
    system = Actor.system()
    logins: list[tuple[str, str, str]] = []

    def add(
        role: Role, name: str, email: str, org: str | None, client_id: int | None = None
    ) -> User:
        password = "demo-" + secrets.token_urlsafe(9)
        user = service.create_user(
            session,
            system,
            email=email,
            password=password,
            role=role,
            name=name,
            organization=org,
            client_id=client_id,
            argon2=settings.argon2,
        )
        logins.append((role.value, email, password))
        return user

    therapist = add(Role.CLINICIAN, "Dana Whitfield", "dana@riverside.example", THERAPY_PRACTICE)
    add(Role.CLINICIAN, "Samuel Okafor", "okafor@northgate.example", PSYCHIATRY_PRACTICE)
    add(Role.COMPLIANCE, "Priya Raman", "compliance@riverside.example", THERAPY_PRACTICE)
    add(Role.ADMIN, "Alex Morgan", "admin@riverside.example", THERAPY_PRACTICE)
    clinician = Actor(therapist.id, Role.CLINICIAN, therapist.organization_id)
    jordan = service.create_client(
        session,
        clinician,
        service.NewClient("Jordan", "Avery", date(1991, 4, 12), "jordan@client.example"),
    )
    maya = service.create_client(
        session, clinician, service.NewClient("Maya", "Chen", date(1985, 9, 3), None)
    )
    luis = service.create_client(
        session,
        clinician,
        service.NewClient("Luis", "Ortega", date(2009, 1, 27), "ortega.family@client.example"),
    )
    jordan_user = add(
        Role.CLIENT, "Jordan Avery", "jordan@client.example", None, client_id=jordan.id
    )
    helen = service.add_provider(
        session,
        Actor(therapist.id, Role.CLINICIAN, therapist.organization_id),
        service.NewProvider(
            name="Helen Brooks",
            credentials="MD",
            organization="Lakeside Family Medicine",
            address="120 Lake Street, Springfield",
            email="hbrooks@lakeside.example",
        ),
    )
    _seed_releases(session, clinician, jordan.id, jordan_user, luis.id, maya.id, helen.id)
    return logins


def _seed_releases(
    session: Session,
    clinician: Actor,
    jordan_id: int,
    jordan_user: User,
    luis_id: int,
    maya_id: int,
    helen_id: int,
) -> None:
    """An active two-way release to the psychiatrist, one waiting for a signature, one draft."""
    library: FormLibrary = current_app.extensions["roi.forms"]
    okafor = session.scalar(select(Provider.id).where(Provider.email == "okafor@northgate.example"))
    assert okafor is not None  # noqa: S101 - created just above
    in_a_year = now().date() + timedelta(days=365)
    active = lifecycle.create(
        session,
        clinician,
        lifecycle.ConsentFields(
            client_id=jordan_id,
            template_id="general-authorization",
            recipient_provider_id=okafor,
            categories=("diagnosis", "medications", "treatment_plan"),
            purposes=("treatment", "medication_management"),
            information_description="Diagnosis, current medications and treatment plan, for "
            "the psychiatric evaluation and medication management.",
            expires_on=in_a_year,
            expiry_event="the end of treatment at Riverside Counseling",
            direction=Direction.TWO_WAY,
        ),
        library,
    )
    lifecycle.send_for_signature(
        session, clinician, active.id, library, invitation_lifetime=timedelta(days=7)
    )
    jordan = Actor(jordan_user.id, Role.CLIENT, jordan_user.organization_id, client_id=jordan_id)
    lifecycle.sign_as_client(
        session,
        jordan,
        active.id,
        lifecycle.SignatureInput("Jordan Avery", SignerRelationship.SELF, agree=True),
        lifecycle.Identity("password", "Signed in to roi with a password", None, "roi demo"),
        library,
    )
    pending = lifecycle.create(
        session,
        clinician,
        lifecycle.ConsentFields(
            client_id=luis_id,
            template_id="general-authorization",
            recipient_provider_id=helen_id,
            categories=("attendance", "treatment_plan"),
            purposes=("care_coordination",),
            information_description="Attendance and treatment plan, to coordinate care with "
            "the family physician.",
            expires_on=now().date() + timedelta(days=180),
            signer_relationship=SignerRelationship.PARENT,
        ),
        library,
    )
    lifecycle.send_for_signature(
        session, clinician, pending.id, library, invitation_lifetime=timedelta(days=7)
    )
    lifecycle.create(
        session,
        clinician,
        lifecycle.ConsentFields(
            client_id=maya_id,
            template_id="general-authorization",
            recipient_provider_id=okafor,
            categories=("diagnosis",),
        ),
        library,
    )


def _write_private(path: Path, content: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve roi with gunicorn."""
    _check_database()
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        "--logger-class",
        "roi.serving.MaskingLogger",
        "roi.serving:served_app()",
    ]
    click.echo(f"serving roi on http://{host}:{port}")
    os.execv(sys.executable, args)  # noqa: S606 - replaces this process with gunicorn
