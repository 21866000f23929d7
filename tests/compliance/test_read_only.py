"""SECURITY G7: compliance staff are read-only. Every write route of the app, web and API, is tried
as a signed-in compliance officer with a valid CSRF token or bearer token; none may succeed except
the few that are theirs to use, and no consent, message, client, provider or user changes."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from roi.accounts.models import Client, Provider, User
from roi.audit import Action
from roi.consent.models import Consent
from roi.messaging.models import Message
from tests.compliance.conftest import entries
from tests.helpers import api_token, bearer, csrf_token, login_as

#: write routes a compliance officer may use, each with why
ALLOWED = {
    "auth.login": "signing in (a signed-in person is sent to their overview)",
    "auth.logout": "signing out",
    "auth.password": "changing one's own password",
    "auth.second_factor": "the second step of signing in",
    "auth.second_factor_passkey": "the same, with a passkey",
    "auth.passkeys_page": "adding one's own passkey",
    "auth.totp_setup": "setting up one's own authenticator app",
    "account.begin_totp": "the same, through the API",
    "account.confirm_totp": "the same, through the API",
    "auth.password_reset": "asking for a password reset link (mail only)",
    "auth.password_reset_link": "setting one's own password through an emailed link",
    "auth.session_end": "ending one of one's own sessions",
    "tokens.create_token": "getting an API token",
    "language.choose": "choosing one's own language",
    "auth.preferences": "choosing one's own time zone",
    "compliance.verify_chain": "verifying the audit chain (writes only its audit entry)",
    "audit.verify_audit_chain": "the same, through the API",
    # CONTRACT.md: compliance of the disclosing practice records a revocation received outside
    # roi (a letter, a fax...); it ends a consent, never grants one
    "consents.revoke_consent": "recording a revocation received outside roi, through the API",
    "clinician.consent_record_revocation": "the same, from the consent's page",
    # public: a signer asks for the links to their signed copies; it changes no record
    "signing.request_link": "asking for one's signed-copy links by email (public page)",
    "outside_disclosures.record_disclosure": (
        "recording a disclosure made outside roi (CONTRACT.md): it changes nothing but adds to "
        "the accounting compliance answers for"
    ),
    "compliance.outside_disclosure_new": "the same, from the accounting page",
    "accounting_settings.set_accounting_settings": (
        "the practice's fee for a repeat accounting (164.528(c)(2)), told to clients in advance"
    ),
    "accounting_suspensions.create_suspension": (
        "recording an agency's statement that suspends its accounting entries (164.528(a)(2))"
    ),
    "compliance.emergency_review": "reviewing an emergency disclosure with a note",
    "client_restrictions.request_restriction": "recording a client's restriction request on "
    "their behalf (164.522(a))",
    "restrictions.decide_restriction": "agreeing to or declining a client's restriction",
    "compliance.restriction_decision": "the same, in the browser",
    "compliance.restriction_termination": "ending an agreed restriction in the browser",
    "restrictions.terminate_restriction": "ending an agreed restriction, telling the client",
    "emergency_disclosures.review_emergency_disclosure": "reviewing an emergency disclosure "
    "(compliance's own review record; it changes no message or consent)",
}
#: accounting requests are compliance's own workflow records (a colleague's routes)
ACCOUNTING_REQUEST_ROUTES = (
    re.compile(r"^/compliance/accounting"),
    re.compile(r"accounting-requests"),
)
REFUSED = {400, 403, 404, 405}
WATCHED = {
    "consents": Consent,
    "messages": Message,
    "clients": Client,
    "providers": Provider,
    "users": User,
}


def allowed(rule) -> bool:
    return rule.endpoint in ALLOWED or any(p.search(rule.rule) for p in ACCOUNTING_REQUEST_ROUTES)


def counts(session) -> dict[str, int]:
    session.rollback()
    return {
        name: session.scalar(select(func.count()).select_from(model))
        for name, model in WATCHED.items()
    }


def concrete(rule, ids: dict[str, int]) -> str:
    """The rule's path with every variable filled: real ids of the officer's practice."""
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:\w+:)?{name}>", str(ids.get(name, 1)), url)
    return url


def test_no_write_route_works_for_compliance(app, client, session, seeded, officer):
    r = seeded.referral
    ids = {
        "consent_id": seeded.consent_id,
        "client_id": r.client_id,
        "message_id": seeded.permitted[0].id,
        "user_id": r.therapist.user.id,
        "provider_id": r.recipient_id,
        "recipient_provider_id": r.recipient_id,
        "seq": entries(session)[-1].seq,
    }
    assert login_as(client, officer.email, officer.password).status_code == 302
    token = api_token(client, officer.email, officer.password)
    csrf = csrf_token(client.get("/compliance/verify"))
    before = counts(session)
    tried = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        if not methods or allowed(rule):
            continue
        url = concrete(rule, ids)
        for method in sorted(methods):
            if url.startswith("/api/"):
                response = client.open(url, method=method, headers=bearer(token), json={})
            else:
                response = client.open(url, method=method, data={"csrf_token": csrf})
            tried.append(url)
            assert response.status_code in REFUSED, (method, url, response.status_code)
    # Then nothing changed, and the routes tried include the obvious targets
    assert counts(session) == before
    assert {"/api/v1/consents", "/api/v1/clients", "/api/v1/providers"} <= set(tried)
    assert f"/portal/consents/{seeded.consent_id}/revoke" in tried
    # And the officer is still signed in: every refusal was just a refusal
    assert client.get("/compliance/log").status_code == 200
    # And the refusals are on record as probes (SECURITY C2)
    assert entries(session, Action.AUTHZ_DENIED)


def test_the_allowed_writes_are_few_and_known(app):
    writes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.methods - {"GET", "HEAD", "OPTIONS"} and allowed(rule)
    }
    accounting = {e for e in writes if e not in ALLOWED}
    assert writes - accounting <= set(ALLOWED)
    assert all("accounting" in e for e in accounting), accounting
