"""scripts/smoke.py against a real HTTP server on loopback that plays the deployed API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.ci.scripts import load_script, serving

smoke = load_script("smoke")


class FakeApi:
    """Answers by path; ``health`` is a list of (status, body) served in turn, the last one repeated."""

    def __init__(self) -> None:
        self.health: list[tuple[int, object]] = [(200, {"status": "ok", "database": {"ok": True}})]
        self.read: tuple[int, object | str] = (200, {"items": [{"registration": "AB12 CDE"}]})
        self.version: dict[str, str] = {"version": "0.2.0", "commit": "a" * 40, "stage": "staging"}
        self.seen: list[str] = []


@pytest.fixture
def api() -> Iterator[tuple[str, FakeApi]]:
    state = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(self.path)
            if self.path == "/api/v1/health/deep":
                status, body = state.health.pop(0) if len(state.health) > 1 else state.health[0]
            elif self.path.startswith("/api/v1/plates"):
                status, body = state.read
            elif self.path == "/api/v1/health/version":
                status, body = 200, state.version
            else:
                status, body = 404, {"error": "not found"}
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as url:
        yield url + "/", state


def test_a_healthy_api_passes(api: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    url, state = api
    assert smoke.main([url, "--wait", "5"]) == 0
    assert state.seen == ["/api/v1/health/deep", "/api/v1/plates?limit=1"]
    assert "smoke: OK" in capsys.readouterr().out


def test_deep_health_is_retried_while_the_stage_wakes_up(api: tuple[str, FakeApi]) -> None:
    url, state = api
    state.health = [(503, {"database": "resuming"}), (503, {"database": "resuming"}), (200, {"status": "ok"})]
    assert smoke.check_health(url.rstrip("/"), wait_s=30, sleep=lambda _s: None) is None
    assert state.seen.count("/api/v1/health/deep") == 3


def test_unhealthy_api_fails_with_its_answer(api: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    url, state = api
    state.health = [(503, {"database": {"ok": False, "error": "timeout"}})]
    assert smoke.main([url, "--wait", "0"]) == 1
    err = capsys.readouterr().err
    assert "FAIL /api/v1/health/deep answered 503" in err
    assert "timeout" in err


def test_a_failing_read_fails(api: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    url, state = api
    state.read = (500, "<html>oops</html>")
    assert smoke.main([url, "--wait", "1", "--read", "/api/v1/plates/AB12CDE"]) == 1
    assert "FAIL /api/v1/plates/AB12CDE answered 500" in capsys.readouterr().err
    assert state.seen[-1] == "/api/v1/plates/AB12CDE"


def test_unreachable_and_bad_urls(capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["", "--wait", "0"]) == 1
    assert "is not an http(s) URL" in capsys.readouterr().err
    assert smoke.main(["http://127.0.0.1:9/", "--wait", "0"]) == 1  # the discard port: nothing listens
    assert "unreachable" in capsys.readouterr().err


RELEASE = json.dumps({"version": "0.2.0", "commits": {"api": "a" * 40, "valuation": "b" * 40}})


def test_the_api_serves_the_release_the_deploy_stamped(
    api: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]
) -> None:
    url, state = api
    assert smoke.main([url, "--wait", "1", "--release", RELEASE]) == 0
    assert state.seen[-1] == "/api/v1/health/version"
    assert "smoke: OK" in capsys.readouterr().out
    state.version = {"version": "0.2.0", "commit": "c" * 40, "stage": "staging"}  # an alias left behind
    assert smoke.main([url, "--wait", "1", "--release", RELEASE]) == 1
    err = capsys.readouterr().err
    assert "FAIL /api/v1/health/version answered 200" in err
    assert "a" * 40 in err


def test_a_release_that_is_not_the_stack_output_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        smoke.main(["http://127.0.0.1:9/", "--release", "abc123"])
    assert "not JSON" in capsys.readouterr().err


GOOD_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


class FakeSite:
    """Answers every path with the index page and ``headers`` (a single-page app behind CloudFront)."""

    def __init__(self) -> None:
        self.headers = dict(GOOD_HEADERS)
        self.status = 200
        self.seen: list[str] = []


@pytest.fixture
def web() -> Iterator[tuple[str, FakeSite]]:
    state = FakeSite()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(self.path)
            body = b"<!doctype html><div id=app></div>"
            self.send_response(state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as url:
        yield url, state


def test_a_site_with_its_security_headers_passes(
    api: tuple[str, FakeApi], web: tuple[str, FakeSite], capsys: pytest.CaptureFixture[str]
) -> None:
    api_url, _ = api
    site_url, site = web
    sites = json.dumps({"web": site_url, "admin": site_url + "/"})
    assert smoke.main([api_url, "--wait", "5", "--sites", sites]) == 0
    assert site.seen == ["/", smoke.DEEP_LINK] * 2
    out = capsys.readouterr().out
    assert f"{site_url} (page, deep link, security headers)" in out


@pytest.mark.parametrize(
    ("change", "failure"),
    [
        ({"Strict-Transport-Security": "max-age=300"}, "Strict-Transport-Security 'max-age=300'"),
        ({"X-Frame-Options": None}, "X-Frame-Options None"),
        ({"X-Content-Type-Options": None}, "X-Content-Type-Options None"),
        ({"Referrer-Policy": None}, "no Referrer-Policy"),
        ({"Content-Security-Policy": "default-src *"}, "Content-Security-Policy 'default-src *'"),
        ({"Content-Type": "application/xml"}, "answered 200 'application/xml', not an HTML page"),
    ],
)
def test_a_site_missing_a_header_fails_naming_it(
    web: tuple[str, FakeSite], change: dict[str, str | None], failure: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site_url, site = web
    for name, value in change.items():
        if value is None:
            del site.headers[name]
        else:
            site.headers[name] = value
    assert smoke.main(["--site", site_url]) == 1
    err = capsys.readouterr().err
    assert f"smoke: FAIL {site_url}/: {failure}" in err or f"smoke: FAIL {site_url}/ {failure}" in err


def test_a_site_that_is_down_or_misnamed_fails(web: tuple[str, FakeSite], capsys: pytest.CaptureFixture[str]) -> None:
    site_url, site = web
    site.status = 403  # S3's answer when CloudFront may not read the bucket
    assert smoke.main(["--site", site_url]) == 1
    assert "answered 403" in capsys.readouterr().err
    assert smoke.main(["--sites", "not json"]) == 1
    assert "not a JSON object of site URLs" in capsys.readouterr().err
    assert smoke.main(["--site", "staging.reggie.co.uk"]) == 1
    assert "'staging.reggie.co.uk' is not an http(s) URL" in capsys.readouterr().err
    assert smoke.main([]) == 1
    assert "nothing to check" in capsys.readouterr().err
