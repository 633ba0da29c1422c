"""Smoke tests against a deployed stage: the API's deep health check, one real read and the release it
serves, then each site's front page with its security headers.

    python scripts/smoke.py https://staging-api.reggie.co.uk [--read /api/v1/plates?limit=1] [--wait 120]
        [--release "$(pulumi stack output release --json)"]
        [--site https://staging.reggie.co.uk ...] [--sites "$(pulumi stack output siteUrls --json)"]

Run by the deploy workflows right after `pulumi up` (standard library only, so it needs no venv). The deep
health check is retried until ``--wait`` seconds have passed, because the first request after a deploy
can meet a cold Lambda and, on a personal stage, an Aurora cluster resuming from auto-pause. With
``--release`` (the stack output ``release``: the version and each service's commit the deploy stamped),
``/api/v1/health/version`` must report exactly the API's, so a deploy that did not reach the serving
function (an alias left on the old version) fails here. A site must answer ``/`` and an unknown route (a
single-page app's deep link) with 200 and HTML, carrying HSTS (a year or more), ``X-Content-Type-Options:
nosniff``, ``X-Frame-Options: DENY``, a referrer policy and a Content-Security-Policy that forbids framing.
Exits 0 when every check passed, 1 with one line per failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

HEALTH_PATH = "/api/v1/health/deep"
VERSION_PATH = "/api/v1/health/version"
DEFAULT_READ = "/api/v1/plates?limit=1"
SERVICE = "api"
"""The service this script smoke-tests: its commit in the release is the one it must report."""
DEEP_LINK = "/smoke/deep-link"
"""A route no build has as a file: a single-page app serves its index.html for it."""
MIN_HSTS_S = 31_536_000


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    """The decoded JSON body, or ``None`` when the body was not JSON."""


def fetch(url: str, timeout: float = 15) -> Response:
    """GET ``url`` and decode its JSON body; HTTP errors are answers too, network errors raise ``OSError``."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "reggie-smoke"})  # noqa: S310 - https or http only, checked in main()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return Response(status, body)


def check_health(base: str, wait_s: float, sleep: Callable[[float], None] = time.sleep) -> str | None:
    """``None`` once the deep health check answers 200 with a JSON object, else the last failure."""
    deadline = time.monotonic() + wait_s
    delay, failure = 1.0, "never answered"
    while True:
        try:
            answer = fetch(base + HEALTH_PATH)
            if answer.status == 200 and isinstance(answer.body, dict):
                return None
            failure = f"{HEALTH_PATH} answered {answer.status} {json.dumps(answer.body)[:300]}"
        except OSError as error:
            failure = f"{HEALTH_PATH} unreachable: {error}"
        if time.monotonic() + delay > deadline:
            return failure
        sleep(delay)
        delay = min(delay * 2, 15)


def check_read(base: str, path: str) -> str | None:
    """``None`` when ``base + path`` answers 200 with a JSON body, else why not."""
    try:
        answer = fetch(base + path)
    except OSError as error:
        return f"{path} unreachable: {error}"
    if answer.status != 200 or answer.body is None:
        return f"{path} answered {answer.status} {json.dumps(answer.body)[:300]}"
    return None


def check_release(base: str, release: dict[str, Any]) -> str | None:
    """``None`` when the API reports the version and its commit of ``release``, else what it reports."""
    expected = {"version": release.get("version"), "commit": release.get("commits", {}).get(SERVICE)}
    try:
        answer = fetch(base + VERSION_PATH)
    except OSError as error:
        return f"{VERSION_PATH} unreachable: {error}"
    body = answer.body if isinstance(answer.body, dict) else {}
    reported = {"version": body.get("version"), "commit": body.get("commit")}
    if answer.status != 200 or reported != expected:
        return f"{VERSION_PATH} answered {answer.status} {json.dumps(reported)}, expected {json.dumps(expected)}"
    return None


def _release(raw: str) -> dict[str, Any]:
    try:
        release = json.loads(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("not JSON (pass `pulumi stack output release --json`)") from None
    if not isinstance(release, dict) or not isinstance(release.get("commits"), dict):
        raise argparse.ArgumentTypeError('expected {"version": ..., "commits": {"api": ...}}')
    return release


def fetch_page(url: str, timeout: float = 15) -> tuple[int, dict[str, str]]:
    """GET ``url`` as a browser would; the status and the response headers (names lower-cased)."""
    request = urllib.request.Request(url, headers={"Accept": "text/html", "User-Agent": "reggie-smoke"})  # noqa: S310 - https or http only, checked in main()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def header_problems(headers: dict[str, str]) -> list[str]:
    """What a site's page lacks of the security headers every Reggie site sends."""
    problems: list[str] = []
    hsts = headers.get("strict-transport-security", "")
    max_age = next((p.split("=", 1)[1] for p in hsts.replace(" ", "").split(";") if p.startswith("max-age=")), "")
    if not max_age.isdigit() or int(max_age) < MIN_HSTS_S:
        problems.append(f"Strict-Transport-Security {hsts!r} (max-age of a year or more expected)")
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        problems.append(f"X-Content-Type-Options {headers.get('x-content-type-options')!r}")
    if headers.get("x-frame-options", "").upper() != "DENY":
        problems.append(f"X-Frame-Options {headers.get('x-frame-options')!r}")
    if not headers.get("referrer-policy"):
        problems.append("no Referrer-Policy")
    csp = headers.get("content-security-policy", "")
    if "frame-ancestors 'none'" not in csp or "default-src" not in csp:
        problems.append(f"Content-Security-Policy {csp[:120]!r} (default-src and frame-ancestors 'none' expected)")
    return problems


def check_site(base: str) -> list[str]:
    """Failures of one site: its front page and a deep link must be HTML with the security headers."""
    failures: list[str] = []
    for path in ("/", DEEP_LINK):
        try:
            status, headers = fetch_page(base + path)
        except OSError as error:
            failures.append(f"{base}{path} unreachable: {error}")
            continue
        if status != 200 or not headers.get("content-type", "").startswith("text/html"):
            failures.append(f"{base}{path} answered {status} {headers.get('content-type')!r}, not an HTML page")
        failures += [f"{base}{path}: {problem}" for problem in header_problems(headers)]
    return failures


def _is_url(url: str) -> bool:
    return urlsplit(url).scheme in ("https", "http") and bool(urlsplit(url).netloc)


def _site_urls(sites: list[str], sites_json: str | None) -> list[str]:
    """``--site`` URLs plus the values of ``--sites`` (the stack output ``siteUrls`` as JSON)."""
    urls = list(sites)
    if sites_json:
        try:
            parsed: Any = json.loads(sites_json)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ValueError(f"--sites {sites_json[:80]!r} is not a JSON object of site URLs (siteUrls --json)")
        urls += [str(url) for url in parsed.values()]  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
    return [url.rstrip("/") for url in urls]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke tests against a deployed stage.")
    parser.add_argument("url", nargs="?", help="the API's base URL, e.g. the stack output apiUrl")
    parser.add_argument("--read", default=DEFAULT_READ, help=f"the real read to try (default {DEFAULT_READ})")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for deep health (default 120)")
    parser.add_argument("--release", type=_release, help="the stack output release (JSON): the API must serve it")
    parser.add_argument("--site", action="append", default=[], metavar="URL", help="a site to check (repeatable)")
    parser.add_argument("--sites", metavar="JSON", help="the sites to check, as `pulumi stack output siteUrls --json`")
    args = parser.parse_args(argv)
    try:
        sites = _site_urls(args.site, args.sites)
    except ValueError as error:
        print(f"smoke: {error}", file=sys.stderr)
        return 1
    if args.url is None and not sites:
        print("smoke: nothing to check: give the API's URL, --site URL or --sites JSON", file=sys.stderr)
        return 1
    bad = [url for url in [*([args.url] if args.url is not None else []), *sites] if not _is_url(url)]
    if bad:
        print(f"smoke: {bad[0]!r} is not an http(s) URL (is the stack output apiUrl or siteUrls set?)", file=sys.stderr)
        return 1
    failures: list[str] = []
    if args.url is not None:
        base = args.url.rstrip("/")
        checks = [check_health(base, args.wait), check_read(base, args.read)]
        if args.release is not None:
            checks.append(check_release(base, args.release))
        failures += [f for f in checks if f is not None]
    for site in sites:
        failures += check_site(site)
    for failure in failures:
        print(f"smoke: FAIL {failure}", file=sys.stderr)
    if not failures:
        release = ", release" if args.release is not None else ""
        checked = [f"{args.url.rstrip('/')} (deep health, {args.read}{release})"] if args.url is not None else []
        print(f"smoke: OK {', '.join(checked + [f'{site} (page, deep link, security headers)' for site in sites])}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
