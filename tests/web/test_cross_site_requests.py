"""A request to change something that the browser says another site's page made (Fetch
Metadata, `Sec-Fetch-Site: cross-site`) is refused before anything else, without a cookie that
would sign the person out (SECURITY D2; tests/browser/test_cross_site.py does it in Chromium)."""

from __future__ import annotations

import pytest

from roi.consent.models import Consent, ConsentStatus
from tests.consent.conftest import library, referral  # noqa: F401 - the referral's people
from tests.helpers import api_token, bearer, csrf_token, login_as

CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}


def test_a_form_posted_from_another_site_is_refused_and_the_session_kept(
    client,
    session,
    referral,  # noqa: F811
):
    # Given a client signed in to the portal, looking at their signed release
    consent = referral.signed(session)
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get(f"/portal/consents/{consent.id}/revoke")
    # When a page of another site posts the revocation, even with a valid token in it
    answer = client.post(
        f"/portal/consents/{consent.id}/revoke",
        data={"confirm": "y", "csrf_token": csrf_token(page)},
        headers=CROSS_SITE,
    )
    # Then it is refused, in words, with no cookie set
    assert answer.status_code == 403
    assert "came from another website" in answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.ACTIVE
    # And the client is still signed in; a link from another site still opens the page
    assert client.get(f"/portal/consents/{consent.id}", headers=CROSS_SITE).status_code == 200
    # And their own revocation, from roi's page, goes through
    done = client.post(
        f"/portal/consents/{consent.id}/revoke",
        data={"confirm": "y", "csrf_token": csrf_token(page)},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert done.status_code == 302
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.REVOKED


def test_the_api_refuses_a_call_from_another_sites_page(client, session, referral):  # noqa: F811
    referral.signed(session)
    token = api_token(client, referral.therapist.email, referral.therapist.password)
    body = {
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
        "categories": ["diagnosis"],
        "purpose": "treatment",
        "subject": "From a page elsewhere",
        "body": "Should not leave.",
    }
    answer = client.post("/api/v1/messages", json=body, headers={**bearer(token), **CROSS_SITE})
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "forbidden"
    # an integration (no browser, so no Fetch Metadata) sends as before
    sent = client.post("/api/v1/messages", json=body, headers=bearer(token))
    assert sent.status_code == 201, sent.get_json()


@pytest.mark.parametrize("fetched_from", ["same-origin", "same-site", "none", None])
def test_only_another_sites_page_is_refused(client, session, referral, fetched_from):  # noqa: F811
    # Given a therapist signed in, on roi's page
    login_as(client, referral.therapist.email, referral.therapist.password)
    token = csrf_token(client.get("/", follow_redirects=True))
    assert client.get("/clinician/").status_code == 200
    # When they sign out from roi itself, from a sister site of the practice's domain, by
    # something they did in the browser (a bookmark: "none"), or from a browser without Fetch
    # Metadata
    headers = {"Sec-Fetch-Site": fetched_from} if fetched_from else {}
    answer = client.post("/logout", data={"csrf_token": token}, headers=headers)
    # Then it is carried out: only "cross-site" is refused before the CSRF check
    assert answer.status_code == 302
    assert client.get("/clinician/").status_code == 302  # signed out: sent to sign in
