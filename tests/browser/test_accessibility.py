"""axe-core on every page each role visits, in English and in Spanish, on a phone (375 px) and a
desk (1280 px): zero violations. One browser page per role walks its navigation and the main
detail and form pages (and refused forms), over a practice seeded with a release in every state,
messages, an emergency disclosure, an accounting request, a restriction and a share request.
Each page gets every rule at the width it opens at, then, resized, the rules a width can change
(WIDTH_RULES) at the other — in English; in Spanish, whose pages differ only in their words, each
page gets every rule at the width it opens at; pages open at the two widths in turn.

axe-core's own bundle (axe.min.js of the `axe-playwright-python` package) goes into every page as a
Playwright init script (the DevTools protocol, which the page's CSP does not govern): no inline
script, no eval, no bypass_csp.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import axe_playwright_python
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance import disclosures, requests
from roi.compliance.models import Channel
from roi.consent import lifecycle, restrictions, share_requests
from roi.consent.models import Direction
from roi.messaging import emergencies, service
from tests.browser_plugin import ACTION_TIMEOUT_MS, sign_in
from tests.compliance.conftest import disclose, outgoing
from tests.consent.conftest import Referral, identity, library, referral, signature
from tests.factories import Person, make_user, stand_in_documents
from tests.helpers import delivered_mail

__all__ = ["library", "referral"]  # fixtures of tests/consent, used here

# axe judges the pages' markup, which SQLite and PostgreSQL render alike (the web tests and the
# crawls of tests/web/test_no_phi.py and tests/i18n render the pages on both): SQLite only
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.engine_independent]

AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
#: axe's violations, each with the CSS targets of its nodes
RUN_AXE = """async (rules) => {
  // all of axe's rules, or only `rules`, which need no stylesheets fetched first (preload)
  const options = {resultTypes: ['violations'], preload: !rules};
  if (rules) options.runOnly = {type: 'rule', values: rules};
  const results = await axe.run(document, options);
  return results.violations.map(v => ({id: v.id, help: v.help,
    targets: v.nodes.map(n => n.target.join(' '))}));
}"""
PHONE, DESK = 375, 1280
#: the rules whose answer can change with the width: roi's media queries change layout, not
#: which elements show, so at the second width only colours over what lies behind the text,
#: links told apart inside text, target sizes and scrolling boxes can differ
WIDTH_RULES = ["color-contrast", "link-in-text-block", "target-size", "scrollable-region-focusable"]
BIRTH_DATE = date(1991, 4, 12)


@dataclass
class Visit:
    """A page to check: an address to open, a step done on the page open then, or both."""

    name: str
    path: str | None = None
    act: Callable[[Page], None] | None = None


@dataclass
class Walk:
    """One browser page that checks the pages it visits and keeps every violation found."""

    page: Page
    base: str
    found: list[str] = field(default_factory=list)

    def languages(self) -> Iterator[str]:
        """English, then Spanish, switched by the button on the page open now, as people do."""
        yield "en"
        with self.page.expect_navigation():
            self.page.locator("form.language-switch button[value=es]").click()
        assert self.page.locator("html").get_attribute("lang") == "es"
        yield "es"

    def visit(self, visits: list[Visit], language: str) -> None:
        for visit in visits:
            if visit.path is not None:
                self.page.goto(self.base + visit.path)
            if visit.act is not None:
                visit.act(self.page)
            self.check(f"{visit.name} ({language})", both_widths=language == "en")

    def check(self, where: str, *, both_widths: bool) -> None:
        """Every rule at the width the page opened at, then the page resized (not reloaded) to
        the other width and, with `both_widths`, the rules a width can change there; the next
        page opens at that width. So the Spanish pass, which checks each page at one width,
        still checks every other page on a phone and the rest on a desk."""
        first = self.page.viewport_size["width"]
        second = PHONE if first == DESK else DESK
        for width, rules in ((first, None), (second, WIDTH_RULES)):
            if width == second:
                self.page.set_viewport_size({"width": width, "height": 900})
                if not both_widths:
                    return
            for violation in self.page.evaluate(RUN_AXE, rules):
                self.found.append(
                    f"{where} at {width} px, {self.page.url}: {violation['id']} "
                    f"({violation['help']}) on {violation['targets']}"
                )

    def assert_clean(self) -> None:
        assert not self.found, "axe found violations:\n" + "\n".join(self.found)


@dataclass
class Practice:
    """The seeded practice: its people and the records the walks open."""

    referral: Referral
    officer: Person
    admin: Person
    consents: dict[str, int]
    invitation_token: str
    message_id: int
    request_id: int
    share_request_id: int
    log_seq: int
    #: the psychiatrist's directory entry (another practice, on roi)
    provider_id: int
    #: the therapist's own directory entry, which the practice's administrator manages
    own_entry_id: int
    #: a second release waiting for its signature, for the Spanish pass
    second_token: str


@pytest.fixture
def practice(session, referral: Referral) -> Practice:
    """A client with a release in every state, messages both ways, and compliance's work."""
    therapist, client = referral.therapist, referral.client_person
    consents: dict[str, int] = {"draft": referral.draft(session).id}
    consents["voided"] = lifecycle.void(session, therapist.actor, referral.draft(session).id).id
    consents["active"] = referral.signed(session, direction=Direction.TWO_WAY).id
    consents["revoked"] = referral.signed(session, categories=("diagnosis",)).id
    lifecycle.revoke(session, client.actor, consents["revoked"], reason="I moved away.")
    consents["expired"] = referral.signed(session, categories=("medications",)).id
    lifecycle.record_expiry_event(session, therapist.actor, consents["expired"], now().date())
    consents["superseded"] = referral.signed(
        session, purposes=("treatment", "care_coordination")
    ).id
    newer = lifecycle.new_version(
        session, therapist.actor, consents["superseded"], referral.library
    )
    lifecycle.send_for_signature(
        session, therapist.actor, newer.id, referral.library, invitation_lifetime=timedelta(1)
    )
    with stand_in_documents():
        lifecycle.sign_as_client(
            session, client.actor, newer.id, signature(), identity(client), referral.library
        )
    sent = lifecycle.send_for_signature(
        session,
        therapist.actor,
        referral.draft(session, categories=("diagnosis", "assessments")).id,
        referral.library,
        invitation_lifetime=timedelta(days=7),
    )
    consents["pending"] = sent.consent.id
    second = lifecycle.send_for_signature(
        session,
        therapist.actor,
        referral.draft(session, categories=("attendance",)).id,
        referral.library,
        invitation_lifetime=timedelta(days=7),
    )
    assert sent.invitation_token is not None
    assert second.invitation_token is not None
    message = disclose(session, referral)
    therapist_entry = directory_entry(session, therapist)
    reply = outgoing(referral, recipient_provider_id=therapist_entry.id, reply_to_id=message.id)
    service.send(session, referral.psychiatrist.actor, referral.library, reply)
    emergency_doctor = make_user(session, Role.CLINICIAN, org="Lakeside Hospital", name="Ana Ruiz")
    disclose(
        session,
        referral,
        recipient_provider_id=directory_entry(session, emergency_doctor).id,
        categories=("medications",),
        subject="Current medications",
        emergency=emergencies.EmergencyStatement(
            basis="medical_emergency",
            nature="Overdose; unresponsive on arrival at the emergency department.",
            recipient_personnel="Dr. Ana Ruiz, emergency medicine",
        ),
    )
    officer = make_user(session, Role.COMPLIANCE, name="Priya Raman")
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    accounting = requests.record(
        session,
        officer.actor,
        requests.NewRequest(referral.client_id, now().date(), Channel.WRITTEN, note="By letter."),
    )
    disclosures.record(
        session,
        officer.actor,
        disclosures.NewOutsideDisclosure(
            client_id=referral.client_id,
            disclosed_on=now().date() - timedelta(days=3),
            description="Treatment dates and the intake assessment",
            purpose="Subpoena in a family court case",
            basis="judicial",
            recipient_name="Clerk of the Family Court",
            recipient_address="100 Main St\nSpringfield",
        ),
    )
    restrictions.request(
        session,
        client.actor,
        referral.library,
        referral.client_id,
        restrictions.NewRestriction(None, ("assessments",), "Please keep my test results here."),
    )
    share = share_requests.request_sharing(
        session,
        client.actor,
        share_requests.NewShareRequest(
            provider_name="Dr. Lee", provider_address="2 Hill Rd", note="For my new doctor."
        ),
    )
    seq = session.scalar(
        select(AuditEntry.seq).where(AuditEntry.action == Action.DISCLOSURE_PERMITTED)
    )
    return Practice(
        referral,
        officer,
        admin,
        consents,
        sent.invitation_token,
        message.id,
        accounting.id,
        share.id,
        seq,
        referral.recipient_id,
        therapist_entry.id,
        second.invitation_token,
    )


def directory_entry(session, person: Person) -> Provider:
    """The directory entry roi made for a clinician's account."""
    return session.scalar(select(Provider).where(Provider.user_id == person.user.id))


def assert_no_violations(
    browser: Browser,
    base: str,
    person: Person | None,
    pages: list[Visit],
    then: dict[str, list[Visit]] | None = None,
) -> None:
    """`person` visits `pages` in English, then in Spanish (and `then[language]` after them):
    axe finds nothing on any of them, on a phone or a desk."""
    with walk_as(browser, base, person) as walk:
        for language in walk.languages():
            walk.visit(pages + (then or {}).get(language, []), language)
    walk.assert_clean()


@contextmanager
def walk_as(browser: Browser, base: str, person: Person | None) -> Iterator[Walk]:
    """A desk-sized browser page, signed in as `person` (None: nobody); closed afterwards."""
    context = browser.new_context(viewport={"width": DESK, "height": 900}, locale="en-US")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    # axe goes in before each page's own scripts, through the DevTools protocol: sent once, and
    # neither an inline script nor eval, so the page's CSP stays as served (no bypass_csp)
    context.add_init_script(script=AXE_SOURCE)
    page = context.new_page()
    try:
        if person is not None:
            sign_in(page, base, person.email, person.password)
        yield Walk(page, base)
    finally:
        context.close()


def submit(form: str) -> Callable[[Page], None]:
    """Press the submit button of the form `form` (a selector) and wait for the next page."""

    def act(page: Page) -> None:
        with page.expect_navigation():
            page.locator(f"{form} [type=submit]").last.click()

    return act


def fill(values: dict[str, str], form: str) -> Callable[[Page], None]:
    """Type `values` into the fields named by their keys (selectors), then submit `form`."""

    def act(page: Page) -> None:
        for selector, value in values.items():
            page.locator(selector).fill(value)
        submit(form)(page)

    return act


#: the same pages for every role but for the header, which every other page checks too: clients
#: and clinicians visit all three, compliance officers and administrators the first
ACCOUNT_PAGES = [
    Visit("sign-in security", "/account/security"),
    Visit("sessions", "/account/sessions"),
    Visit("password", "/account/password"),
]


def test_client_pages_pass_axe(browser, live_url, practice):
    c = practice.consents
    pages = [
        Visit("my releases", "/portal/"),
        Visit("pending release", f"/portal/consents/{c['pending']}"),
        Visit("refused signature", act=submit("form.sign-form")),
        *(
            Visit(f"{state} release", f"/portal/consents/{c[state]}")
            for state in ("active", "revoked", "expired", "superseded")
        ),
        Visit("revoke", f"/portal/consents/{c['active']}/revoke"),
        Visit("refused revocation", act=submit("main form")),
        Visit("who received my information", "/portal/accounting"),
        Visit("what not to share", "/portal/restrictions"),
        Visit("share my records", "/portal/share"),
        *ACCOUNT_PAGES,
    ]
    assert_no_violations(browser, live_url, practice.referral.client_person, pages)


def test_clinician_pages_pass_axe(browser, live_url, practice):
    c, client_id = practice.consents, practice.referral.client_id
    compose = f"/clinician/messages/new?client_id={client_id}"
    pages = [
        Visit("overview", "/clinician/"),
        Visit("clients", "/clinician/clients"),
        Visit("new client", "/clinician/clients/new"),
        Visit("refused new client", act=submit("main form")),
        Visit("client", f"/clinician/clients/{client_id}"),
        Visit("choose a form", f"/clinician/clients/{client_id}/consents/new"),
        Visit(
            "new release",
            f"/clinician/clients/{client_id}/consents/new?template_id=general-authorization",
        ),
        *(Visit(f"{state} release", f"/clinician/consents/{c[state]}") for state in c),
        Visit("edit draft", f"/clinician/consents/{c['draft']}/edit"),
        Visit("preview", f"/clinician/consents/{c['pending']}/preview"),
        Visit("inbox", "/clinician/messages"),
        Visit("sent", "/clinician/messages?box=sent"),
        Visit("message", f"/clinician/messages/{practice.message_id}"),
        Visit("compose", compose),
        Visit("compose, covered", f"{compose}&recipient_provider_id={practice.provider_id}"),
        Visit("directory", "/clinician/directory"),
        Visit("new directory entry", "/clinician/directory/new"),
        Visit("share request", f"/clinician/share-requests/{practice.share_request_id}"),
        Visit("record a disclosure", f"/clinician/clients/{client_id}/disclosures/new"),
        *ACCOUNT_PAGES,
    ]
    assert_no_violations(browser, live_url, practice.referral.therapist, pages)


def test_compliance_pages_pass_axe(browser, live_url, practice):
    client_id, accounting = practice.referral.client_id, "/compliance/accounting"
    pages = [
        Visit("overview", "/compliance/"),
        Visit("disclosure log", "/compliance/log"),
        Visit("log entry", f"/compliance/log/{practice.log_seq}"),
        Visit("emergency disclosures", "/compliance/emergency-disclosures"),
        Visit("restrictions", "/compliance/restrictions"),
        Visit("accounting", accounting),
        Visit("client's accounting", f"{accounting}/clients/{client_id}"),
        Visit("record a disclosure", f"{accounting}/clients/{client_id}/disclosures/new"),
        Visit("accounting requests", f"{accounting}/requests"),
        Visit("new accounting request", f"{accounting}/requests/new"),
        Visit("request recorded", act=submit("main form")),
        Visit("accounting request", f"{accounting}/requests/{practice.request_id}"),
        Visit("suspensions", f"{accounting}/suspensions"),
        Visit("chain verification", "/compliance/verify"),
        *ACCOUNT_PAGES[:1],
    ]
    assert_no_violations(browser, live_url, practice.officer, pages)


def test_admin_pages_pass_axe(browser, live_url, practice):
    user_id = practice.referral.therapist.user.id
    entry = f"/admin/directory/{practice.own_entry_id}"
    pages = [
        Visit("overview", "/admin/"),
        Visit("users", "/admin/users"),
        Visit("new user", "/admin/users/new"),
        Visit("refused new user", act=submit("main form")),
        Visit("user", f"/admin/users/{user_id}"),
        Visit("edit user", f"/admin/users/{user_id}/edit"),
        Visit("disable user", f"/admin/users/{user_id}/disable"),
        Visit("reset second factor", f"/admin/users/{user_id}/reset-second-factor"),
        Visit("settings", "/admin/settings"),
        Visit("mail", "/admin/mail"),
        Visit("directory", "/admin/directory"),
        Visit("edit directory entry", f"{entry}/edit"),
        Visit("disable directory entry", f"{entry}/disable"),
        *ACCOUNT_PAGES[:1],
    ]
    assert_no_violations(browser, live_url, practice.admin, pages)


def test_pages_without_signing_in_pass_axe(browser, app, live_url, practice):
    tokens = {"en": practice.invitation_token, "es": practice.second_token}
    pages = [
        Visit("sign in", "/login"),
        Visit(
            "refused sign-in",
            act=fill(
                {"input[name=email]": "nobody@example.org", "input[name=password]": "wrong"},
                "main form",
            ),
        ),
        Visit("password reset", "/password-reset"),
        Visit(
            "password reset sent",
            act=fill({"input[name=email]": "nobody@example.org"}, "main form"),
        ),
        Visit("dead reset link", "/password-reset/not-a-token"),
        Visit("ask for signing links", "/sign/request"),
        Visit("dead signing link", "/sign/not-a-token"),
        Visit("no such page", "/no-such-page"),
    ]
    signing = {language: signing_pages(app, token) for language, token in tokens.items()}
    assert_no_violations(browser, live_url, None, pages, signing)


def signing_pages(app: Flask, token: str) -> list[Visit]:
    """The emailed signing link, from the identity check to the thanks, with a refused step."""

    def type_code(page: Page) -> None:
        fill(
            {
                "input[name=birth_date]": BIRTH_DATE.isoformat(),
                "input[name=code]": newest_code(app),
            },
            "form[action$='/sign/verify']",
        )(page)

    def refuse(page: Page) -> None:
        """Sign with nothing filled in: the error summary takes focus (as on the portal's form,
        tests/browser/test_error_summary.py), so a phone shows it first."""
        submit("form.sign-form")(page)
        assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")

    def sign(page: Page) -> None:
        page.locator("input[name=signer_name]").fill("Jordan Avery")
        page.locator("input[name=agree]").check()
        with stand_in_documents():
            submit("form.sign-form")(page)

    return [
        Visit("identity check", f"/sign/{token}"),
        Visit("code sent", act=submit("form[action$='/sign/code']")),
        Visit("refused identity", act=submit("form[action$='/sign/verify']")),
        Visit("release to sign", act=type_code),
        Visit("refused signature", act=refuse),
        Visit("signed", act=sign),
    ]


def newest_code(app: Flask) -> str:
    """The 6-digit code of the newest mail that carries one (in whichever language it speaks)."""
    for message in reversed(delivered_mail(app)):
        body = message.get_body(preferencelist=("plain",))
        found = re.search(r"\b(\d{6})\b", str(body.get_content())) if body else None
        if found:
            return found.group(1)
    raise AssertionError("no mail carries a code")
