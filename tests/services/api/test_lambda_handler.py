"""The Lambda handler driven with real API Gateway v2 event payloads, in a fresh process configured
as on Lambda (one-connection pool), against the test database, JWKS and R2 stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from sqlalchemy import Engine

from tests.services.api.apigw_events import http_api_event
from tests.services.api.support import REPO, Signer, seed_plate


def drive(env: dict[str, str], *phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Serve ``phases`` (lists of events) in one fresh Lambda-like process; see ``lambda_driver``.
    The first entry reports the process right after the handler's import."""
    return drive_with_output(env, *phases)[0]


def drive_with_output(env: dict[str, str], *phases: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`drive`, plus every line the process wrote to standard output before its report (what Lambda
    would have sent to the function's log group: the metric lines, say)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.services.api.lambda_driver"],
        input=json.dumps(phases), capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
        env={**env, "AWS_LAMBDA_FUNCTION_NAME": "reggie-ci-api", "AWS_REGION": "eu-west-2"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    *logged, report = done.stdout.splitlines()
    return json.loads(report), logged


def test_handler_serves_http_api_events(base_env: dict[str, str], engine: Engine, signer: Signer) -> None:
    seed_plate(engine, "LA51 MBD", 77_700)
    token = signer.mint(sub="user_lambda")
    events = [
        http_api_event("GET", "/api/v1/health"),
        http_api_event("GET", "/api/v1/plates/la51%20mbd", route_key="GET /api/v1/plates/{registration}"),
        http_api_event("GET", "/api/v1/plates", query="pattern=LA51*&limit=5"),
        http_api_event("POST", "/api/v1/valuations", body={"registration": "A1"}, base64_body=True),
        http_api_event("GET", "/api/v1/offers", headers={"authorization": f"Bearer {token}"}),
        http_api_event("GET", "/api/v1/offers", headers={"authorization": "Bearer nope"}),
        http_api_event("GET", "/api/v1/plates/QQQQQQQQ"),
        http_api_event("POST", "/api/v1/valuations", body="{broken", headers={"content-type": "application/json"}),
        http_api_event("GET", "/api/v1/no-such-route"),
    ]
    responses = drive(base_env, events)[1]["responses"]
    statuses = [r["statusCode"] for r in responses]
    assert statuses == [200, 200, 200, 200, 200, 401, 422, 400, 404], [r["body"][:300] for r in responses]
    bodies = [json.loads(r["body"]) for r in responses]
    assert bodies[0] == {"status": "ok"}
    assert bodies[1]["registration"] == "LA51 MBD"
    assert bodies[1]["listing"]["asking_price_pence"] == 77_700
    assert "LA51MBD" in [i["normalized"] for i in bodies[2]["items"]]
    assert bodies[3]["estimate_pence"] > 0
    assert bodies[4] == {"items": [], "next_cursor": None}
    for body, status in zip(bodies[5:], statuses[5:], strict=True):
        assert set(body) == {"status", "code", "message", "details", "request_id"}
        assert body["status"] == status
    for event, response, body in zip(events[5:], responses[5:], bodies[5:], strict=True):
        # API Gateway's own request id (the one its access log records) names the error, body and header.
        assert body["request_id"] == event["requestContext"]["requestId"]
        assert response["headers"]["x-request-id"] == event["requestContext"]["requestId"]
    assert responses[0]["headers"]["x-request-id"] == events[0]["requestContext"]["requestId"]
    assert responses[0]["headers"]["content-type"].startswith("application/json")
    assert responses[0]["isBase64Encoded"] is False
