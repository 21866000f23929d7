"""A refused form starts its page with the error summary (GOV.UK pattern): "There is a problem",
each error a link to its field, and "Error:" at the start of the title. An empty release draft is
refused with the one thing it needs, not "No such provider in the directory"."""

from __future__ import annotations

import re

from flask import render_template_string
from sqlalchemy import select

from roi.consent.models import Consent
from roi.web.clinician.forms import ClientForm
from tests.factories import make_client
from tests.helpers import csrf_token, login_as

SUMMARY = re.compile(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', re.S)


def summary_of(page: str) -> tuple[list[str], str]:
    """The fields the page's error summary links to, and its text; asserts what every summary
    shares: first in the main content, titled "Error: …", each link's target on the page."""
    found = SUMMARY.search(page)
    assert found, "no error summary"
    assert re.search(r'<main id="main"[^>]*>\s*<div class="error-summary"', page)
    assert re.search(r"<title>Error: ", page)
    assert "There is a problem" in found.group(1)
    targets = re.findall(r'href="#([^"]+)"', found.group(1))
    for target in targets:
        assert f'id="{target}"' in page, f"#{target} is not on the page"
    return targets, found.group(1)


def test_a_refused_new_client_links_each_missing_field(client, clinician):
    login_as(client, clinician.email, clinician.password)
    page = client.get("/clinician/clients/new")
    assert "error-summary" not in page.get_data(as_text=True)
    assert "<title>Error:" not in page.get_data(as_text=True)
    response = client.post(
        "/clinician/clients/new",
        data={"csrf_token": csrf_token(page), "given_name": "Ana", "email": "not an address"},
    )
    assert response.status_code == 422
    targets, text = summary_of(response.get_data(as_text=True))
    assert targets == ["family_name", "birth_date", "email"]
    # WTForms' own "This field is required." gets the field's name; roi's messages stand alone
    assert "Family name: This field is required." in text
    assert "Email (for signing releases online): Invalid email address." in text


def post_release(client, session, clinician, **fields):
    """A new release of the general form, with only `fields` chosen."""
    login_as(client, clinician.email, clinician.password)
    record = make_client(session, clinician)
    url = f"/clinician/clients/{record.id}/consents"
    page = client.get(f"{url}/new?template_id=general-authorization")
    data = {"csrf_token": csrf_token(page), "template_id": "general-authorization"}
    return client.post(url, data={**data, "direction": "one_way", **fields})


def test_an_empty_release_draft_asks_for_the_recipient(client, session, clinician):
    response = post_release(client, session, clinician, recipient_provider_id="0")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "No such provider" not in text
    targets, summary = summary_of(text)
    assert targets == ["recipient_provider_id"]
    assert "Choose who may receive the information." in summary
    session.rollback()
    assert session.scalars(select(Consent)).all() == []


def test_checkbox_errors_link_to_the_first_box(client, session, clinician):
    response = post_release(client, session, clinician, categories=["not_a_category"])
    assert response.status_code == 422
    targets, _ = summary_of(response.get_data(as_text=True))
    assert targets == ["categories-0"]


def test_a_forms_own_errors_link_to_the_box_beside_it(app):
    with app.test_request_context():
        form = ClientForm(meta={"csrf": False})
        form.form_errors.append("This client is already on record.")
        page = render_template_string(
            '{% extends "base.html" %}{% from "_macros/forms.html" import form_errors %}'
            "{% block content %}{{ form_errors(form) }}{% endblock %}",
            form=form,
        )
    targets, text = summary_of(page)
    assert targets == ["clientform-errors"]
    assert "This client is already on record." in text
