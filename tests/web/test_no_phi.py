"""No PHI in URLs or logs (SECURITY D4): every page each role can reach is crawled on a real
socket, and every URL requested and every log line written must be free of client names, dates
of birth and email addresses."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from urllib.parse import unquote_plus, urldefrag, urlencode, urljoin, urlsplit

import pytest
import requests

from tests.browser_plugin import LIVE_APPS
from tests.factories import Person, make_client, make_client_user
from tests.helpers import SECOND_STEP, fresh_totp_code, totp_code
from tests.live import gunicorn, serve_in_thread

MAX_PAGES = 150
TIMEOUT = 15


@dataclass(frozen=True)
class Phi:
    given_name: str
    family_name: str
    birth_date: date
    email: str | None = None

    def needles(self) -> list[str]:
        """Each identifier as it could show up in a URL or a log line."""
        d = self.birth_date
        emails = [self.email.lower(), self.email.split("@")[0].lower()] if self.email else []
        return [
            self.given_name.lower(),
            self.family_name.lower(),
            *emails,
            d.isoformat(),
            d.strftime("%Y%m%d"),
            d.strftime("%m/%d/%Y"),
            d.strftime("%d.%m.%Y"),
        ]


# Names unlike any word in a route, template or SQL statement, so a match is a real leak.
WEB_CLIENT = Phi("Oriane", "Falkenrath", date(1983, 7, 14), "oriane.falkenrath@example.net")
PORTAL_CLIENT = Phi("Thaddeus", "Wrenfield", date(1971, 2, 26), "thaddeus.wrenfield@example.net")
FORM_CLIENT = Phi("Isolde", "Marchbanks", date(1996, 11, 3), "isolde.marchbanks@example.net")
API_CLIENT = Phi("Cosimo", "Beauchene", date(1988, 9, 21), "cosimo.beauchene@example.net")


def leaks(text: str, phis: list[Phi]) -> list[str]:
    lowered = unquote_plus(text).lower()
    return [needle for phi in phis for needle in phi.needles() if needle in lowered]


class Links(HTMLParser):
    """What a person can follow without changing anything: links and GET forms."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.get_forms: list[tuple[str, dict[str, str]]] = []
        self._form: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in {"a", "link"} and a.get("href"):
            self.hrefs.append(a["href"])
        elif tag == "form":
            self._form = (
                (a.get("action", ""), {}) if a.get("method", "get").lower() == "get" else None
            )
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form[1][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.get_forms.append(self._form)
            self._form = None


@dataclass
class Crawler:
    """A browser stand-in that remembers every URL it asked for or was redirected to."""

    base: str
    http: requests.Session = field(default_factory=requests.Session)
    urls: list[str] = field(default_factory=list)

    def get(self, url: str) -> requests.Response:
        response = self.http.get(urljoin(self.base, url), timeout=TIMEOUT)
        self._note(response)
        return response

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        response = self.http.post(urljoin(self.base, url), data=data, timeout=TIMEOUT)
        self._note(response)
        return response

    def _note(self, response: requests.Response) -> None:
        for step in [*response.history, response]:
            self.urls.append(step.request.url or "")
            if "Location" in step.headers:
                self.urls.append(step.headers["Location"])

    def csrf(self, url: str) -> str:
        from tests.helpers import CSRF_PATTERN

        match = CSRF_PATTERN.search(self.get(url).text)
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def sign_in(self, email: str, password: str) -> None:
        token = self.csrf("/login")
        response = self.post("/login", {"email": email, "password": password, "csrf_token": token})
        if urlsplit(response.url).path == SECOND_STEP:
            code = totp_code(LIVE_APPS[self.base], email)  # type: ignore[arg-type]
            response = self.post(
                SECOND_STEP, {"code": code or "", "csrf_token": self.csrf(SECOND_STEP)}
            )
        assert urlsplit(response.url).path not in {"/login", SECOND_STEP}, (
            f"{email} could not sign in"
        )

    def crawl(self, start: str = "/") -> set[str]:
        """Breadth-first over same-origin links and GET forms; returns the paths visited."""
        origin = urlsplit(self.base).netloc
        queue, seen = [start], set()
        while queue:
            url = urldefrag(urljoin(self.base, queue.pop(0)))[0]
            if url in seen or urlsplit(url).netloc != origin:
                continue
            assert len(seen) < MAX_PAGES, "the crawl did not end"
            seen.add(url)
            response = self.get(url)
            assert response.status_code == 200, f"{url} answered {response.status_code}"
            if "text/html" not in response.headers.get("Content-Type", ""):
                continue
            links = Links()
            links.feed(response.text)
            queue += [urljoin(response.url, href) for href in links.hrefs]
            for action, fields in links.get_forms:
                target = urljoin(response.url, action or response.url)
                queue.append(f"{target}?{urlencode(fields)}" if fields else target)
        return {urlsplit(u).path for u in seen}


@pytest.fixture
def app_overrides(app_overrides):
    # requests will not send a Secure cookie over plain http; the cookie flags are tested elsewhere.
    return {**app_overrides, "cookie_secure": False}


@pytest.fixture
def live_url(app):
    with serve_in_thread(app) as url:
        LIVE_APPS[url] = app
        yield url
        del LIVE_APPS[url]


@pytest.fixture
def people(session, clinician, compliance, admin):
    make_client(
        session,
        clinician,
        given_name=WEB_CLIENT.given_name,
        family_name=WEB_CLIENT.family_name,
        birth_date=WEB_CLIENT.birth_date,
        email=WEB_CLIENT.email,
    )
    _, portal = make_client_user(
        session,
        clinician,
        given_name=PORTAL_CLIENT.given_name,
        family_name=PORTAL_CLIENT.family_name,
        birth_date=PORTAL_CLIENT.birth_date,
        email=PORTAL_CLIENT.email,
    )
    return {"clinician": clinician, "compliance": compliance, "admin": admin, "client": portal}


def capture(caplog: pytest.LogCaptureFixture, monkeypatch, prefix: str, level: int) -> None:
    """Capture `prefix` and every logger under it at `level`, whatever levels or `disabled` flags
    earlier tests left behind (alembic's fileConfig sets sqlalchemy.engine to WARN)."""
    names = [prefix] + [
        name for name in logging.root.manager.loggerDict if name.startswith(f"{prefix}.")
    ]
    for name in names:
        caplog.set_level(level, logger=name)
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            lines.append(record.exc_text)
    return lines


def visit_everything(live_url: str, people: dict[str, Person]) -> tuple[list[str], dict]:
    """Each role signs in and follows every link and GET form it can reach; the clinician also
    searches clients by name and adds one through the form. Returns the URLs and paths seen."""
    urls: list[str] = []
    visited: dict[str, set[str]] = {}
    for role, person in people.items():
        crawler = Crawler(live_url)
        crawler.sign_in(person.email, person.password)
        visited[role] = crawler.crawl()
        if role == "clinician":
            token = crawler.csrf("/clinician/clients")
            found = crawler.post(
                "/clinician/clients", {"q": WEB_CLIENT.family_name, "csrf_token": token}
            )
            assert WEB_CLIENT.family_name in found.text
            token = crawler.csrf("/clinician/clients/new")
            added = crawler.post(
                "/clinician/clients/new",
                {
                    "given_name": FORM_CLIENT.given_name,
                    "family_name": FORM_CLIENT.family_name,
                    "birth_date": FORM_CLIENT.birth_date.isoformat(),
                    "email": FORM_CLIENT.email or "",
                    "csrf_token": token,
                },
            )
            assert FORM_CLIENT.family_name in added.text
            visited[role] |= crawler.crawl(urlsplit(added.url).path)
        urls += crawler.urls
    return urls, visited


WEB_PHI = [WEB_CLIENT, PORTAL_CLIENT, FORM_CLIENT]


def test_crawling_every_page_as_every_role_puts_no_phi_in_urls_or_logs(
    live_url, people, caplog, monkeypatch
):
    # Given the app's, the server's and gunicorn's loggers at DEBUG, and SQL statements logged
    for name in ("roi", "werkzeug", "gunicorn"):
        capture(caplog, monkeypatch, name, logging.DEBUG)
    capture(caplog, monkeypatch, "sqlalchemy", logging.INFO)
    # When each role signs in and visits everything it can (and the clinician searches and adds)
    urls, visited = visit_everything(live_url, people)
    # Then the crawl did reach the pages that show PHI (so the check below means something)
    assert {"/clinician/clients", "/clinician/directory"} <= visited["clinician"]
    assert any(path.startswith("/clinician/clients/") for path in visited["clinician"])
    assert "/admin/users" in visited["admin"]
    assert "/portal/" in visited["client"]
    assert "/compliance/" in visited["compliance"]
    # And the access log and the SQL statements were captured
    names = {record.name for record in caplog.records}
    access = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("POST /clinician/clients/new HTTP" in line for line in access)
    assert any(name.startswith("sqlalchemy.engine") for name in names)
    # And no URL and no log line carries a name, a date of birth or an email of a client
    assert not [(url, leaks(url, WEB_PHI)) for url in urls if leaks(url, WEB_PHI)]
    lines = log_lines(caplog)
    assert not [(line, leaks(line, WEB_PHI)) for line in lines if leaks(line, WEB_PHI)]


def test_sqlalchemy_debug_logging_puts_no_phi_in_logs(live_url, people, caplog, monkeypatch):
    # Given the database loggers at DEBUG, as an operator chasing a problem might set them
    capture(caplog, monkeypatch, "sqlalchemy", logging.DEBUG)
    # When every role visits everything it can
    visit_everything(live_url, people)
    # Then no log line carries a name, a date of birth or an email of a client
    lines = log_lines(caplog)
    assert not [(line, leaks(line, WEB_PHI)) for line in lines if leaks(line, WEB_PHI)]


@pytest.mark.subprocess
@pytest.mark.slow
def test_gunicorn_access_and_error_logs_hold_no_phi_after_api_calls(
    instance_path, database_url, tmp_path, session, clinician, foreign_client
):
    # Given gunicorn writing its access log (through roi's logger, as `roi serve` runs it) and a
    # DEBUG error log
    with gunicorn(
        instance_path,
        database_url,
        tmp_path,
        extra_args=(
            "--access-logfile",
            "-",
            "--logger-class",
            "roi.serving.MaskingLogger",
            "--log-level",
            "debug",
        ),
    ) as server:
        api = f"{server.url}/api/v1"
        http = requests.Session()
        # When a clinician creates a client through the API, lists, reads and searches
        otp = fresh_totp_code(session, clinician.email)
        token = http.post(
            f"{api}/tokens",
            json={"email": clinician.email, "password": clinician.password, "otp": otp},
            timeout=30,
        ).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        body = {
            "given_name": API_CLIENT.given_name,
            "family_name": API_CLIENT.family_name,
            "birth_date": API_CLIENT.birth_date.isoformat(),
            "email": API_CLIENT.email,
        }
        created = http.post(f"{api}/clients", json=body, timeout=TIMEOUT)
        assert created.status_code == 201, created.text
        client_id = created.json()["id"]
        listed = http.get(f"{api}/clients", timeout=TIMEOUT)
        assert API_CLIENT.family_name in listed.text
        assert http.get(f"{api}/clients/{client_id}", timeout=TIMEOUT).status_code == 200
        # And requests that fail: an invalid body carrying PHI, someone else's client
        bad = http.post(
            f"{api}/clients", json={**body, "birth_date": "not a date"}, timeout=TIMEOUT
        )
        assert bad.status_code == 422
        assert http.get(f"{api}/clients/{foreign_client.id}", timeout=TIMEOUT).status_code == 404
        assert http.get(f"{api}/providers", params={"q": "Brooks"}, timeout=TIMEOUT).ok
        # and someone opens a password-reset link (its token sets a password: a live secret)
        reset_token = "Zx9_-Yw8AbCdEf0123456789abcdefGHIJKLmnopQRS"
        requests.get(f"{server.url}/password-reset/{reset_token}", timeout=TIMEOUT)
    output = server.output()
    # Then the link's token is not in the access log, only its shape
    assert reset_token not in output
    assert "/password-reset/[token]" in output
    # Then the access log recorded these requests
    assert f"/api/v1/clients/{client_id}" in output
    assert '"POST /api/v1/clients' in output
    # And neither log holds the client's name, birth date or email, nor the other client's
    foreign = Phi(foreign_client.given_name, foreign_client.family_name, foreign_client.birth_date)
    assert not leaks(output, [API_CLIENT, foreign])
