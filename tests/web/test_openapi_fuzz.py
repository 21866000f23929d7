"""The API against its own OpenAPI document, once per role (SECURITY J1, J2): schemathesis
generates valid and invalid calls for every operation; none may be a 5xx, every answer must be
what the document says (status, content type, body), and no role gets a 2xx from an operation
its permissions do not allow. In process on the WSGI app; a fixed seed, a bounded count."""

from __future__ import annotations

import contextlib
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from roi.accounts import sessions
from roi.accounts.policy import allows
from roi.actor import Role
from roi.clock import now
from roi.compliance import disclosures, requests
from roi.compliance.models import Channel
from roi.consent import restrictions
from roi.messaging import service
from roi.messaging.service import NewAttachment, Outgoing
from tests.consent import conftest as consent_fixtures
from tests.factories import make_user
from tests.helpers import bearer

#: examples per operation and generation mode, for an operation the role may call; the four
#: roles together took 28 s on SQLite and 38 s on PostgreSQL on 2 busy cores
EXAMPLES = 4
#: for one it may not: it is refused (403) before anything is read, whatever the input
REFUSED_EXAMPLES = 2
ROLES = (Role.CLINICIAN, Role.CLIENT, Role.COMPLIANCE, Role.ADMIN)
#: the consent tests' fixtures: a therapist, a psychiatrist elsewhere, their shared client
library, referral = consent_fixtures.library, consent_fixtures.referral
_PATH_PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.fixture
def records(session, referral, library):
    """One person per role and a record of each kind the API serves, so that calls with these
    ids reach the answers (and their bodies), not only the 404s of random ids."""
    compliance = make_user(session, Role.COMPLIANCE, name="Priya Raman")
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    consent = referral.signed(session)
    message = service.send(
        session,
        referral.therapist.actor,
        library,
        Outgoing(
            client_id=referral.client_id,
            recipient_provider_id=referral.recipient_id,
            categories=("diagnosis",),
            purpose="treatment",
            subject="Referral",
            body="Please review the dose.",
            attachments=(NewAttachment("note.txt", "text/plain", b"a note"),),
        ),
    )
    request = requests.record(
        session,
        compliance.actor,
        requests.NewRequest(referral.client_id, now().date(), Channel.WRITTEN),
    )
    outside = disclosures.record(
        session,
        compliance.actor,
        disclosures.NewOutsideDisclosure(
            client_id=referral.client_id,
            disclosed_on=now().date(),
            description="Attendance dates",
            purpose="Subpoena response",
            basis="judicial",
            recipient_name="County Court Clerk",
            recipient_address="1 Court Plaza",
            request_document=NewAttachment("subpoena.txt", "text/plain", b"a subpoena"),
        ),
    )
    restriction = restrictions.request(
        session,
        referral.client_person.actor,
        library,
        referral.client_id,
        restrictions.NewRestriction(
            recipient_provider_id=referral.recipient_id,
            categories=("diagnosis",),
            description="Not my diagnosis to the psychiatrist, please.",
        ),
    )
    people = {
        Role.CLINICIAN: referral.therapist,
        Role.CLIENT: referral.client_person,
        Role.COMPLIANCE: compliance,
        Role.ADMIN: admin,
    }
    ids = {
        "client_id": referral.client_id,
        "consent_id": consent.id,
        "message_id": message.id,
        "attachment_id": message.attachments[0].id,
        "request_id": request.id,
        "disclosure_id": outside.id,
        "restriction_id": restriction.id,
        "seq": 1,
    }
    return people, ids


def token_for(app, person) -> str:
    """A bearer token minted by the sessions service (not POST /tokens, whose steps may grow)."""
    from roi.extensions import db

    with app.app_context():
        user = db.session.merge(person.user)
        token, _ = sessions.issue_token(db.session(), user, app.config["ROI_SETTINGS"])
        db.session.remove()
    return token


def permitted(app, role: Role, method: str, path: str) -> bool:
    """Whether `role` holds the permission of the view that serves `method path`."""
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(_PATH_PARAMETER.sub("1", path), method=method)
    permission = getattr(app.view_functions[endpoint], "roi_permission", None)
    return permission is None or allows(role, permission)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES, ids=[role.value for role in ROLES])
def test_every_answer_is_documented_and_none_is_a_server_error(app, records, role):
    people, ids = records
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = bearer(token_for(app, people[role]))
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        allowed = permitted(app, role, operation.method.upper(), operation.path)
        # random ids, invalid input, and the ids of the records above
        known = {name: ids[name] for name in re.findall(r"\{([^}]+)\}", operation.path)}
        runs = [(GenerationMode.POSITIVE, None)]
        if allowed:
            runs += [(GenerationMode.NEGATIVE, None), (GenerationMode.POSITIVE, known or None)]
        for mode, path_parameters in runs:
            try:
                _exercise(operation, mode, path_parameters, headers, allowed)
            except Exception as error:  # every operation is tried, and all failures reported
                first = "\n".join(str(error).splitlines()[:14])
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {first}"
                )
    assert not failures, "\n\n".join(failures)


def _exercise(operation, mode, path_parameters, headers: dict[str, str], allowed: bool) -> None:
    # the token is fixed, not generated: a call without it is the 401 other tests check
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=path_parameters, headers=headers
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES if allowed else REFUSED_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case) -> None:
        response = case.call()
        # A call the document allows may still break a rule no schema states (a birth date in
        # the future, an unknown template): a 422 for it is right, so that check is left out.
        case.validate_response(response, excluded_checks=[positive_data_acceptance])
        if not allowed:
            assert response.status_code // 100 != 2, f"a 2xx for a forbidden call: {case.path}"

    # an operation with no input but the token has no invalid call to make
    with contextlib.suppress(Unsatisfiable):
        call()
