"""Smoke tests against a deployed API: its deep health check, one real read, and the release it serves.

    python scripts/smoke.py https://staging-api.reggie.co.uk [--read /api/v1/plates?limit=1] [--wait 120]
        [--release "$(pulumi stack output release --json)"]

Run by the deploy workflows right after `pulumi up` (standard library only, so it needs no venv). The deep
health check is retried until ``--wait`` seconds have passed, because the first request after a deploy
can meet a cold Lambda and, on a personal stage, an Aurora cluster resuming from auto-pause. With
``--release`` (the stack output ``release``: the version and each service's commit the deploy stamped),
``/api/v1/health/version`` must report exactly the API's, so a deploy that did not reach the serving
function (an alias left on the old version) fails here. Exits 0 when every check passed, 1 with one line
per failure otherwise.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke tests against a deployed API.")
    parser.add_argument("url", help="the API's base URL, e.g. the stack output apiUrl")
    parser.add_argument("--read", default=DEFAULT_READ, help=f"the real read to try (default {DEFAULT_READ})")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for deep health (default 120)")
    parser.add_argument("--release", type=_release, help="the stack output release (JSON): the API must serve it")
    args = parser.parse_args(argv)
    if urlsplit(args.url).scheme not in ("https", "http") or not urlsplit(args.url).netloc:
        print(f"smoke: {args.url!r} is not an http(s) URL (is the stack output apiUrl set?)", file=sys.stderr)
        return 1
    base = args.url.rstrip("/")
    checks = [check_health(base, args.wait), check_read(base, args.read)]
    if args.release is not None:
        checks.append(check_release(base, args.release))
    failures = [failure for failure in checks if failure is not None]
    for failure in failures:
        print(f"smoke: FAIL {failure}", file=sys.stderr)
    if not failures:
        print(f"smoke: OK {base} (deep health, {args.read}{', release' if args.release else ''})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
