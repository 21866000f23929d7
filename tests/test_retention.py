"""Retention (DESIGN.md; HIPAA 164.316(b)(2), 164.530(j)): nothing in the product deletes a
consent, a revocation, a signature or an audit entry.

Two proofs. Statically, every deletion written anywhere in `roi/` is found (AST: `delete(...)`,
`x.delete(...)`, SQL text with DELETE FROM / TRUNCATE / DROP TABLE) and must be one of the few
known ones, none of which touches a retained table; no ORM cascade or foreign key can delete them
behind the code's back either. Dynamically, every route refuses DELETE, and every `roi` command
leaves the retained row counts where they were or higher.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import click
import pytest
from flask_migrate import stamp
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from roi.accounts.models import Provider, User
from roi.actor import Actor, Role
from roi.audit import AuditEntry, AuditHead
from roi.cli import roi_group
from roi.consent import lifecycle
from roi.consent.library import FormLibrary
from roi.consent.models import Consent, Revocation, Signature
from roi.db import Base
from roi.errors import ConsentRequired
from roi.extensions import db
from roi.messaging import service
from tests.consent.conftest import FORMS, Referral
from tests.factories import PASSWORD, make_client_user, make_user
from tests.helpers import api_token, bearer, login_as

ROI = Path(__file__).resolve().parents[1] / "roi"
RETAINED = (Consent, Revocation, Signature, AuditEntry)
RETAINED_TABLES = frozenset({model.__tablename__ for model in RETAINED} | {AuditHead.__tablename__})
RETAINED_NAMES = frozenset(model.__name__ for model in (*RETAINED, AuditHead)) | RETAINED_TABLES

#: every deletion the product makes, with why it is allowed: (file under roi/, what it deletes)
ALLOWED_DELETIONS = {
    # failed sign-in counters: a successful sign-in clears them, and day-old ones count for
    # nothing (SECURITY A2); they are throttling state, not records
    ("accounts/sessions.py", "LoginFailure"),
    # second factors replaced at enrolment or removed by a reset: credentials, not records (the
    # audit log keeps auth.mfa_enrolled and auth.mfa_reset)
    ("accounts/mfa.py", "TotpCredential"),
    ("accounts/mfa.py", "RecoveryCode"),
    ("accounts/mfa.py", "PasskeyCredential"),
    # a passkey its owner removed (lost, or gone with a device): a credential, not a record (the
    # audit log keeps auth.mfa_removed)
    ("accounts/passkeys.py", "PasskeyCredential"),
    # a message kept while its release is created: never disclosed, seen by its author only, and
    # replaced or done once that client gets a message (the message and its audit entry remain)
    ("messaging/drafts.py", "MessageDraft"),
    # a signer's request for their links, deleted once the worker answered it: work to do, not
    # a record (the audit log keeps consent.copy_sent for each link it sent); keeping the sealed
    # address longer would only keep what nobody needs
    ("consent/invitations.py", "LinkRequest"),
}


# --- (a) static: what the source deletes -------------------------------------------------------


@dataclass(frozen=True)
class Deletion:
    path: str
    line: int
    #: what is deleted, as written: a model, a table, a receiver expression
    target: str
    how: str


SQL_DELETE = re.compile(r"\bDELETE\s+FROM\s+[\"`]?(\w+)", re.IGNORECASE)
SQL_DROP = re.compile(
    r"\b(TRUNCATE(?:\s+TABLE)?|DROP\s+TABLE(?:\s+IF\s+EXISTS)?)\s+[\"`]?(\w+)", re.I
)


def _name(node: ast.AST) -> str:
    """`Consent`, `Consent.__table__` → Consent; anything else as written."""
    if isinstance(node, ast.Attribute) and node.attr == "__table__":
        return _name(node.value)
    if isinstance(node, ast.Name):
        return node.id
    return ast.unparse(node)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def deletions_in(source: str, path: str) -> list[Deletion]:
    """Every deletion written in `source`."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found: list[Deletion] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func_node = node.func
            if isinstance(func_node, ast.Name) and func_node.id == "delete" and node.args:
                # sqlalchemy.delete(Model) / delete(table)
                found.append(Deletion(path, node.lineno, _name(node.args[0]), "delete()"))
            elif isinstance(func_node, ast.Attribute) and func_node.attr == "delete":
                if node.args:
                    # session.delete(obj): the object's type is not in the source, so the
                    # receiver and the argument are both named for review
                    target = f"{ast.unparse(func_node.value)}.delete({ast.unparse(node.args[0])})"
                    found.append(Deletion(path, node.lineno, target, "session.delete()"))
                else:
                    # Model.__table__.delete(), query.delete()
                    found.append(Deletion(path, node.lineno, _name(func_node.value), ".delete()"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            for match in SQL_DELETE.finditer(node.value):
                found.append(Deletion(path, node.lineno, match.group(1), "DELETE FROM"))
            for match in SQL_DROP.finditer(node.value):
                found.append(Deletion(path, node.lineno, match.group(2), match.group(1).upper()))
    return sorted(found, key=lambda d: d.line)


def product_deletions() -> list[Deletion]:
    found: list[Deletion] = []
    for file in sorted(ROI.rglob("*.py")):
        relative = file.relative_to(ROI).as_posix()
        found.extend(deletions_in(file.read_text(encoding="utf-8"), relative))
    return found


def test_the_scanner_finds_every_kind_of_deletion():
    # Given code that deletes in each way this test looks for
    source = '''
"""A docstring may say DELETE FROM consents without doing it."""
from sqlalchemy import delete, text

def purge(session, consent, entry):
    session.delete(consent)
    session.execute(delete(Consent).where(Consent.id == 1))
    session.execute(Revocation.__table__.delete())
    session.query(Signature).filter_by(id=1).delete()
    session.execute(text("delete from audit_entries where seq > 5"))
    session.execute(text('TRUNCATE TABLE "consent_signatures"'))
'''
    found = deletions_in(source, "example.py")
    # Then each one is found, with what it deletes; the docstring is not code
    assert [(d.how, d.target) for d in found] == [
        ("session.delete()", "session.delete(consent)"),
        ("delete()", "Consent"),
        (".delete()", "Revocation"),
        (".delete()", "session.query(Signature).filter_by(id=1)"),
        ("DELETE FROM", "audit_entries"),
        ("TRUNCATE TABLE", "consent_signatures"),
    ]


def test_nothing_in_the_product_deletes_retained_records():
    found = product_deletions()
    # every deletion is a known, reviewed one ...
    unknown = [d for d in found if (d.path, d.target) not in ALLOWED_DELETIONS]
    assert unknown == [], "a new deletion needs review: add it to ALLOWED_DELETIONS with why"
    # ... and none of the known ones is of a retained model or table
    assert not {target for _, target in ALLOWED_DELETIONS} & RETAINED_NAMES
    # (the scan did look: the login-failure clean-up is in the source)
    assert {(d.path, d.target) for d in found} == ALLOWED_DELETIONS


def test_no_cascade_or_foreign_key_deletes_retained_rows():
    # An ORM cascade ("all, delete-orphan") or ON DELETE CASCADE would delete them without a
    # delete() in the code: there is none into a retained model or on a retained table.
    for mapper in Base.registry.mappers:
        for relationship in mapper.relationships:
            if relationship.mapper.class_ in RETAINED:
                assert not relationship.cascade.delete, relationship
                assert not relationship.cascade.delete_orphan, relationship
    for table in Base.metadata.sorted_tables:
        if table.name in RETAINED_TABLES:
            for key in table.foreign_keys:
                assert key.ondelete is None, f"{table.name}.{key.parent.name}"


# --- (b) dynamic: the running product ----------------------------------------------------------


def retained_counts(session: Session) -> dict[str, int]:
    session.rollback()
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in RETAINED
    }


@pytest.fixture
def records(session):
    """A practice with a signed, a revoked and a pending release, a disclosure and a refusal."""
    library = FormLibrary.load(FORMS)
    therapist = make_user(session, Role.CLINICIAN, name="Dana Whitfield")
    psychiatrist = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry", name="Sam O")
    compliance = make_user(session, Role.COMPLIANCE, name="Priya Raman")
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    client, person = make_client_user(session, therapist, given_name="Jordan", family_name="A")
    recipient = session.scalar(select(Provider.id).where(Provider.user_id == psychiatrist.user.id))
    referral = Referral(therapist, psychiatrist, person, client.id, recipient, library)
    active = referral.signed(session)
    revoked = referral.signed(session)
    lifecycle.revoke(session, person.actor, revoked.id, reason="moving away")
    pending = referral.sent(session)
    outgoing = service.Outgoing(
        client_id=client.id,
        recipient_provider_id=recipient,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Referral",
        body="Summary.",
    )
    message = service.send(session, therapist.actor, library, outgoing)
    with pytest.raises(ConsentRequired):
        service.send(session, therapist.actor, library, replace_purpose(outgoing, "legal_matter"))
    return {
        "people": [therapist, psychiatrist, compliance, admin, person],
        "ids": {
            "consent_id": active.id,
            "client_id": client.id,
            "message_id": message.id,
            "request_id": 1,
            "seq": 1,
            "user_id": therapist.user.id,
            "provider_id": recipient,
            "attachment_id": 1,
        },
        "revoked_id": revoked.id,
        "pending_id": pending.id,
    }


def replace_purpose(outgoing: service.Outgoing, purpose: str) -> service.Outgoing:
    return replace(outgoing, purpose=purpose)


def concrete_urls(app, ids: dict[str, int]) -> list[str]:
    """Every route of the app, ids filled in from real records (1 where there is none)."""
    urls = []
    for rule in app.url_map.iter_rules():
        url = rule.rule
        for name in rule.arguments:
            value = ids.get(name, 1)
            url = re.sub(rf"<(?:\w+(?:\([^)]*\))?:)?{name}>", str(value), url)
        urls.append(url)
    return urls


# Routing refuses every DELETE before a view runs, so both databases give the same answers; the
# records and sign-ins it needs are made once, on SQLite (they took 11 s of the PostgreSQL run)
@pytest.mark.engine_independent
def test_no_route_accepts_delete(app, session, records):
    before = retained_counts(session)
    assert all(before.values()), before
    urls = concrete_urls(app, records["ids"])
    # the consent routes again, for the revoked and the pending release
    active = f"/{records['ids']['consent_id']}"
    urls += [
        u.replace(active, f"/{records[other]}")
        for u in urls
        if active in u
        for other in ("revoked_id", "pending_id")
    ]
    assert not [r.rule for r in app.url_map.iter_rules() if "DELETE" in r.methods]

    def refused(client, url: str, **kwargs) -> None:
        response = client.delete(url, **kwargs)
        assert response.status_code in (404, 405), (url, response.status_code)

    # anonymous, then each role signed in (a cookie session) and with a bearer token
    anonymous = app.test_client()
    for url in urls:
        refused(anonymous, url)
    for person in records["people"]:
        browser = app.test_client()
        login_as(browser, person.email, PASSWORD)
        token = api_token(app.test_client(), person.email, PASSWORD)
        for url in urls:
            refused(browser, url)
            refused(anonymous, url, headers=bearer(token))
    after = retained_counts(session)
    # nothing went; the audit log grew by the sign-ins only
    assert {t: n for t, n in after.items() if t != "audit_entries"} == {
        t: n for t, n in before.items() if t != "audit_entries"
    }
    assert after["audit_entries"] > before["audit_entries"]


# --- the roi command ---------------------------------------------------------------------------


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths |= command_paths(command, (*prefix, name))
        else:
            paths.add((*prefix, name))
    return paths


@pytest.fixture
def stamped(app):
    """The test schema (built from the models) marked as at the newest migration, so `roi init`
    upgrades it as it would a real instance; the marker is dropped afterwards."""
    with app.app_context():
        stamp()
    yield app
    with app.app_context():
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()


def test_no_roi_command_lowers_the_retained_counts(
    stamped, session, keyring, instance_path, monkeypatch, tmp_path
):
    app = stamped
    runner = app.test_cli_runner()
    exercised: set[tuple[str, ...]] = set()
    groups = {path[0] for path in command_paths(roi_group) if len(path) > 1}
    counts = retained_counts(session)

    def run(*args: str, expect_ok: bool = True) -> None:
        nonlocal counts
        result = runner.invoke(roi_group, list(args), catch_exceptions=False)
        if expect_ok:
            assert result.exit_code == 0, (args, result.output)
        exercised.add(tuple(args[:2]) if args[0] in groups else (args[0],))
        now_counts = retained_counts(session)
        for table, n in counts.items():
            assert now_counts[table] >= n, (args, table, counts, now_counts)
        counts = now_counts

    assert runner.invoke(roi_group, ["--help"]).exit_code == 0
    # Given an instance with the demo practices, made by the command itself ...
    run("demo")
    # ... where a disclosure went out, a release was revoked, and a disclosure was refused
    _live_a_little(session)
    counts = retained_counts(session)
    assert all(counts.values()), counts
    # When every command runs
    run("demo", expect_ok=False)
    run("demo", "--if-empty")
    run("init")
    run(
        "user", "add", "--email", "new@example.org", "--password", "violet kettle harbor thunder",
        "--role", "clinician", "--name", "Ana", "--org", "Riverside Counseling",
    )  # fmt: skip
    run("user", "mfa-reset", "--email", "dana@riverside.example")
    run("keys", "status")
    run("keys", "rotate")
    run("keys", "remove", keyring.primary)
    run("audit", "verify")
    run("audit", "checkpoint", "--output", str(tmp_path / "checkpoint.json"))
    run("worker", "--once")
    monkeypatch.setattr(os, "execv", lambda path, args: None)
    run("serve", "--port", "8123")
    # Then every command was run, none lowered a count, and the chain still verifies
    assert exercised == command_paths(roi_group)
    run("audit", "verify")


def _live_a_little(session: Session) -> None:
    """Use the demo the way people would: disclose, revoke, be refused."""
    library = FormLibrary.load(FORMS)
    session.rollback()
    dana = session.scalar(select(User).where(User.email == "dana@riverside.example"))
    jordan = session.scalar(select(User).where(User.email == "jordan@client.example"))
    okafor = session.scalar(select(Provider).where(Provider.email == "okafor@northgate.example"))
    consent = session.scalar(select(Consent).where(Consent.signed_at.is_not(None)))
    therapist = Actor(dana.id, Role.CLINICIAN, dana.organization_id)
    client = Actor(jordan.id, Role.CLIENT, None, client_id=consent.client_id)
    outgoing = service.Outgoing(
        client_id=consent.client_id,
        recipient_provider_id=okafor.id,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Referral",
        body="Summary.",
    )
    service.send(session, therapist, library, outgoing)
    lifecycle.revoke(session, client, consent.id, reason=None)
    with pytest.raises(ConsentRequired):
        service.send(session, therapist, library, outgoing)
