"""API Gateway v2 (HTTP API, payload format 2.0) events, shaped exactly as AWS delivers them to a
Lambda proxy integration, for the handler test and the cold-start benchmark."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

DOMAIN = "api.reggie.example"


def http_api_event(
    method: str,
    raw_path: str,
    *,
    query: str = "",
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    route_key: str | None = None,
) -> dict[str, Any]:
    all_headers = {
        "accept": "application/json",
        "host": DOMAIN,
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    raw_body: bytes | None
    if isinstance(body, dict):
        raw_body = json.dumps(body).encode()
        all_headers.setdefault("content-type", "application/json")
    else:
        raw_body = body.encode() if isinstance(body, str) else body
    if raw_body is not None:
        all_headers["content-length"] = str(len(raw_body))
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {raw_path}",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": DOMAIN,
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes).decode()[:16],
            "routeKey": route_key or f"{method} {raw_path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": base64_body,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if raw_body is not None:
        event["body"] = base64.b64encode(raw_body).decode() if base64_body else raw_body.decode()
    return event


class LambdaContext:
    """The attributes handlers commonly read from Lambda's context object."""

    function_name = "reggie-ci-api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:reggie-ci-api"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/reggie-ci-api"
    log_stream_name = "2026/11/22/[$LATEST]0000"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000
