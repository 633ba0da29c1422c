"""Smoke tests against a deployed API: its deep health check, then one real read.

    python scripts/smoke.py https://staging-api.reggie.co.uk [--read /api/v1/plates?limit=1] [--wait 120]

Run by the deploy workflows right after `pulumi up` (standard library only, so it needs no venv). The deep
health check is retried until ``--wait`` seconds have passed, because the first request after a deploy
can meet a cold Lambda and, on a personal stage, an Aurora cluster resuming from auto-pause. Exits 0
when every check passed, 1 with one line per failure otherwise.
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
DEFAULT_READ = "/api/v1/plates?limit=1"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke tests against a deployed API.")
    parser.add_argument("url", help="the API's base URL, e.g. the stack output apiUrl")
    parser.add_argument("--read", default=DEFAULT_READ, help=f"the real read to try (default {DEFAULT_READ})")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for deep health (default 120)")
    args = parser.parse_args(argv)
    if urlsplit(args.url).scheme not in ("https", "http") or not urlsplit(args.url).netloc:
        print(f"smoke: {args.url!r} is not an http(s) URL (is the stack output apiUrl set?)", file=sys.stderr)
        return 1
    base = args.url.rstrip("/")
    failures = [
        failure for failure in (check_health(base, args.wait), check_read(base, args.read)) if failure is not None
    ]
    for failure in failures:
        print(f"smoke: FAIL {failure}", file=sys.stderr)
    if not failures:
        print(f"smoke: OK {base} (deep health, {args.read})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
