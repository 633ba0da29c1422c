"""The shared stand-in server: real sockets, recording, injected failures and delays, clean stop."""

from __future__ import annotations

import httpx
import pytest

from services.local.standins.server import Reply, Request, Standin, json_reply, serve
from services.local.standins.stripe_form import FormError, decode_form


class Echo(Standin):
    """Answers 201 with what it received."""

    name = "echo"

    def handle(self, request: Request) -> Reply:
        return json_reply(
            201,
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "body": request.body.decode(),
            },
        )

    def error_reply(self, status: int) -> Reply:
        return json_reply(status, {"failed": status})


def test_serves_on_a_free_loopback_port_and_records_each_request() -> None:
    with serve(Echo()) as running:
        assert running.base_url.startswith("http://127.0.0.1:")
        response = httpx.post(f"{running.base_url}/a/b?x=1", content=b"hello", headers={"X-Thing": "yes"})
        assert response.status_code == 201
        assert response.json() == {"method": "POST", "path": "/a/b", "query": {"x": "1"}, "body": "hello"}
        (recorded,) = running.standin.requests
        assert (recorded.method, recorded.path, recorded.body, recorded.status) == ("POST", "/a/b", b"hello", 201)
        assert recorded.headers["x-thing"] == "yes"  # header names in lower case


def test_fail_next_answers_in_the_service_error_shape_then_recovers() -> None:
    with serve(Echo()) as running:
        running.standin.fail_next(503, times=2)
        statuses = [httpx.get(running.base_url).status_code for _ in range(3)]
        assert statuses == [503, 503, 201]
        assert httpx.get(running.base_url).status_code == 201
        running.standin.fail_next(500)
        assert httpx.get(running.base_url).json() == {"failed": 500}
        assert [r.status for r in running.standin.requests] == [503, 503, 201, 201, 500]


def test_delay_next_outlasts_a_client_timeout_and_the_server_keeps_serving() -> None:
    with serve(Echo()) as running:
        running.standin.delay_next(0.5)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(running.base_url, timeout=0.1)
        assert httpx.get(running.base_url, timeout=5).status_code == 201


def test_an_oversized_body_is_refused_before_it_is_read() -> None:
    with serve(Echo()) as running:
        response = httpx.post(running.base_url, content=b"x" * 1_000_001)
        assert response.status_code == 413
        assert running.standin.requests == []


def test_stop_frees_the_port() -> None:
    running = serve(Echo())
    url = running.base_url
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_stripe_form_decoding_rebuilds_nested_values() -> None:
    body = (
        b"mode=payment&line_items[0][quantity]=1&line_items[0][price_data][currency]=gbp"
        b"&line_items[1][quantity]=2&metadata[offer_id]=42&expand[]=a&expand[]=b&empty="
    )
    assert decode_form(body) == {
        "mode": "payment",
        "line_items": [{"quantity": "1", "price_data": {"currency": "gbp"}}, {"quantity": "2"}],
        "metadata": {"offer_id": "42"},
        "expand": ["a", "b"],
        "empty": "",
    }
    assert decode_form(b"") == {}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"line_items[1][quantity]=1", "line_items"),  # a gap: no index 0
        (b"metadata=x&metadata[a]=1", "metadata[a]"),  # a value and a hash at once
        (b"metadata[a]=1&metadata=x", "metadata"),
        (b"a]b=1", "a]b"),
        (b"\xff\xfe=1", ""),
    ],
)
def test_stripe_form_decoding_refuses_what_stripe_cannot_parse(body: bytes, param: str) -> None:
    with pytest.raises(FormError) as caught:
        decode_form(body)
    assert caught.value.param == param
