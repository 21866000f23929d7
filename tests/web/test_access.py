"""Authorization: deny by default, every route accounted for, other practices' records are 404."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from roi.accounts.models import Client, User
from roi.actor import Role
from roi.web.security import PUBLIC_ENDPOINTS
from tests.factories import PASSWORD
from tests.helpers import api_token, bearer, login_as

ROLE_HOMES = {
    "clinician": "/clinician/",
    "client_person": "/portal/",
    "compliance": "/compliance/",
    "admin": "/admin/",
}


def concrete_get_urls(app, ids: dict[str, int]) -> list[str]:
    """Every GET route of the web UI, with ids filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.rule.startswith("/api/"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(ids.get(name, 1)))
        urls.append(url)
    return urls


def test_every_route_is_public_or_names_its_permission(app):
    # C5: a new route without @requires fails here
    unaccounted = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC_ENDPOINTS
        and getattr(app.view_functions[rule.endpoint], "roi_permission", None) is None
    ]
    assert unaccounted == []


def test_public_endpoints_are_few_and_known(app):
    assert {"auth.login", "auth.index", "static"} <= PUBLIC_ENDPOINTS
    assert {e for e in PUBLIC_ENDPOINTS if e.startswith("health.")} == {
        "health.healthz",
        "health.readyz",
    }
    # the emailed password link stands in for a sign-in, as the signing link does
    resets = {e for e in PUBLIC_ENDPOINTS if e.startswith("auth.password_reset")}
    assert resets == {"auth.password_reset", "auth.password_reset_link"}
    # the language switch changes only the browser's (or the signed-in person's own) language
    assert "language.choose" in PUBLIC_ENDPOINTS
    others = {e for e in PUBLIC_ENDPOINTS - resets - {"language.choose"}}
    others = {e for e in others if not e.startswith(("signing.", "health."))}
    assert len(others) <= 5


def test_a_role_without_permissions_reaches_nothing(app, client, session, clinician, own_client):
    # C6: a user whose role has an empty permission set
    nobody = User(
        email="nobody@example.org",
        email_key="nobody@example.org",
        name="No Role",
        role=Role.SYSTEM,
        organization_id=clinician.user.organization_id,
        password_hash=clinician.user.password_hash,
    )
    session.add(nobody)
    session.commit()
    assert login_as(client, "nobody@example.org", PASSWORD).status_code == 302
    for url in concrete_get_urls(app, {"client_id": own_client.id}):
        response = client.get(url)
        # public pages that show no data: sign-in, health, asking for one's signed-copy links
        if url in {"/", "/login", "/healthz", "/readyz", "/sign/request"} or url.startswith(
            "/password-reset"
        ):
            continue
        assert response.status_code in (302, 403, 404), url
    token = api_token(client, "nobody@example.org", PASSWORD)
    for url in ("/api/v1/clients", f"/api/v1/clients/{own_client.id}", "/api/v1/providers"):
        assert client.get(url, headers=bearer(token)).status_code == 403, url


@pytest.mark.parametrize(
    ("person", "forbidden"),
    [
        ("client_person", ["/clinician/", "/clinician/clients", "/admin/users", "/compliance/"]),
        ("clinician", ["/admin/", "/admin/users", "/compliance/", "/portal/"]),
        ("compliance", ["/clinician/clients", "/admin/users/new", "/portal/"]),
        ("admin", ["/clinician/clients", "/compliance/", "/portal/"]),
    ],
)
def test_each_role_is_kept_to_its_own_workspace(request, client, person, forbidden):
    # C3: vertical escalation through the web UI
    who = request.getfixturevalue(person)
    login_as(client, who.email, who.password)
    assert client.get(ROLE_HOMES[person]).status_code == 200
    for url in forbidden:
        assert client.get(url).status_code == 403, url


def test_refusals_are_audited(client, session, client_person):
    from roi.audit import AuditEntry

    login_as(client, client_person.email, client_person.password)
    client.get("/admin/users")
    session.rollback()
    denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "authz.denied")).all()
    assert len(denied) == 1
    assert denied[0].actor_id == client_person.user.id


def test_another_practices_client_is_not_found(client, clinician, foreign_client, own_client):
    # C1: P1's clinician uses P2's ids, in the web UI and the API
    login_as(client, clinician.email, clinician.password)
    assert client.get(f"/clinician/clients/{own_client.id}").status_code == 200
    assert client.get(f"/clinician/clients/{foreign_client.id}").status_code == 404
    assert client.get("/clinician/clients/999999").status_code == 404
    token = api_token(client, clinician.email, clinician.password)
    assert (
        client.get(f"/api/v1/clients/{foreign_client.id}", headers=bearer(token)).status_code == 404
    )
    for method in ("put", "delete", "patch"):
        response = getattr(client, method)(
            f"/api/v1/clients/{foreign_client.id}", headers=bearer(token), json={}
        )
        assert response.status_code in (404, 405)
    listed = client.get("/api/v1/clients", headers=bearer(token)).get_json()
    assert [c["id"] for c in listed] == [own_client.id]


def test_not_found_and_not_yours_look_the_same(client, clinician, foreign_client):
    login_as(client, clinician.email, clinician.password)
    missing = client.get("/clinician/clients/999999")
    foreign = client.get(f"/clinician/clients/{foreign_client.id}")
    strip = lambda r: re.sub(r'value="[^"]+"', "", r.get_data(as_text=True))  # noqa: E731
    assert missing.status_code == foreign.status_code == 404
    assert strip(missing) == strip(foreign)


def test_compliance_cannot_write_and_nothing_changes(client, session, compliance, clinician):
    # C3: compliance → a write endpoint
    token = api_token(client, compliance.email, compliance.password)
    before = session.scalar(select(func.count(Client.id)))
    response = client.post(
        "/api/v1/clients",
        headers=bearer(token),
        json={"given_name": "A", "family_name": "B", "birth_date": "1990-01-01"},
    )
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    session.rollback()
    assert session.scalar(select(func.count(Client.id))) == before


def test_client_user_sees_only_their_own_record(client, session, client_person, own_client):
    token = api_token(client, client_person.email, client_person.password)
    mine = client.get("/api/v1/clients", headers=bearer(token)).get_json()
    assert [c["id"] for c in mine] == [client_person.actor.client_id]
    assert client.get(f"/api/v1/clients/{own_client.id}", headers=bearer(token)).status_code == 404
    own = client.get(f"/api/v1/clients/{client_person.actor.client_id}", headers=bearer(token))
    assert own.status_code == 200
    assert own.get_json()["given_name"] == "Jordan"
