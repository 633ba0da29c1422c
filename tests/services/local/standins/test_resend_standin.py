"""The Resend stand-in, driven by the official resend library over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import resend
from resend.exceptions import MissingRequiredFieldsError, ResendError, ValidationError

from services.local.standins.resend import ResendStandin
from services.local.standins.server import Running, serve
from tests.services.local.standins.fixtures import run_together

EMAIL: dict[str, Any] = {
    "from": "Reggie <noreply@reggie.test>",
    "to": ["seller@example.com"],
    "subject": "You have an offer on AB12 CDE",
    "html": "<p>Someone offered £1,500.</p>",
    "text": "Someone offered £1,500.",
}


@pytest.fixture
def library(resend_api: Running[ResendStandin]) -> Iterator[Running[ResendStandin]]:
    """The resend library pointed at the stand-in (its configuration is module-global, so it is restored)."""
    saved = resend.api_key, resend.api_url
    resend.api_key, resend.api_url = resend_api.standin.api_key, resend_api.base_url
    yield resend_api
    resend.api_key, resend.api_url = saved


def send(params: dict[str, Any] | None = None, key: str | None = None) -> dict[str, Any]:
    options: Any = {"idempotency_key": key} if key else None
    return dict(resend.Emails.send(params or EMAIL, options))  # pyright: ignore[reportArgumentType]


def test_an_email_is_accepted_and_kept(library: Running[ResendStandin]) -> None:
    sent = send()
    (kept,) = library.standin.emails
    assert kept["id"] == sent["id"]
    assert (kept["from"], kept["to"], kept["subject"]) == (EMAIL["from"], ["seller@example.com"], EMAIL["subject"])
    assert (kept["html"], kept["text"]) == (EMAIL["html"], EMAIL["text"])
    assert library.standin.emails_to("SELLER@example.com") == [kept]
    assert library.standin.emails_to("someone@else.test") == []
    recorded = library.standin.requests[0]
    assert recorded.headers["authorization"] == f"Bearer {library.standin.api_key}"


def test_emails_are_listed_and_read_back_in_resends_shapes(library: Running[ResendStandin]) -> None:
    first, second = send()["id"], send({**EMAIL, "subject": "Second"})["id"]
    headers = {"Authorization": f"Bearer {library.standin.api_key}"}
    listed = httpx.get(f"{library.base_url}/emails", headers=headers).json()
    assert listed["object"] == "list"
    assert [e["id"] for e in listed["data"]] == [second, first]
    one = httpx.get(f"{library.base_url}/emails/{first}", headers=headers).json()
    assert (one["object"], one["id"], one["subject"]) == ("email", first, EMAIL["subject"])
    missing = httpx.get(f"{library.base_url}/emails/nope", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["name"] == "not_found"


def test_a_missing_or_wrong_key_is_refused(library: Running[ResendStandin]) -> None:
    missing = httpx.post(f"{library.base_url}/emails", json=EMAIL)
    assert missing.status_code == 401
    assert missing.json() == {
        "statusCode": 401,
        "message": "Missing API key in the authorization header",
        "name": "missing_api_key",
    }
    resend.api_key = "re_not_the_key"
    with pytest.raises(ResendError) as caught:
        send()
    assert (caught.value.code, caught.value.error_type, caught.value.message) == (
        401,
        "validation_error",
        "API key is invalid",
    )
    assert library.standin.emails == []


@pytest.mark.parametrize(
    ("change", "error", "name", "message"),
    [
        ({"from": None}, MissingRequiredFieldsError, "missing_required_field", "Missing `from` field."),
        ({"to": None}, MissingRequiredFieldsError, "missing_required_field", "Missing `to` field."),
        ({"to": []}, MissingRequiredFieldsError, "missing_required_field", "Missing `to` field."),
        ({"subject": None}, MissingRequiredFieldsError, "missing_required_field", "Missing `subject` field."),
        ({"from": "Reggie noreply-at-reggie.test"}, ValidationError, "validation_error", "Invalid `from` field."),
        ({"to": ["seller@example.com", "not an address"]}, ValidationError, "validation_error", "Invalid `to` field."),
        ({"reply_to": "nobody"}, ValidationError, "validation_error", "Invalid `reply_to` field."),
        ({"html": None, "text": None}, ValidationError, "validation_error", "Missing `html` or `text` field."),
        ({"to": [f"r{i}@example.com" for i in range(51)]}, ValidationError, "validation_error", "Too many recipients"),
        ({"tags": [{"name": "kind", "value": "offer received"}]}, ValidationError, "validation_error", "Tags"),
    ],
)
def test_resend_refuses_a_malformed_email_with_its_error(
    library: Running[ResendStandin], change: dict[str, Any], error: type[ResendError], name: str, message: str
) -> None:
    params = {k: v for k, v in {**EMAIL, **change}.items() if v is not None}
    with pytest.raises(error) as caught:
        send(params)
    assert (caught.value.code, caught.value.error_type) == (422, name)
    assert caught.value.message.startswith(message)
    assert library.standin.emails == []


def test_a_sender_on_an_unverified_domain_is_a_403() -> None:
    with serve(ResendStandin(verified_domains=("reggie.test",))) as running:
        headers = {"Authorization": f"Bearer {running.standin.api_key}"}
        ok = httpx.post(f"{running.base_url}/emails", json=EMAIL, headers=headers)
        assert ok.status_code == 200
        other = httpx.post(f"{running.base_url}/emails", json={**EMAIL, "from": "a@elsewhere.test"}, headers=headers)
        assert other.status_code == 403
        assert other.json()["message"].startswith("The elsewhere.test domain is not verified.")


def test_a_body_that_is_not_a_json_object_is_refused(library: Running[ResendStandin]) -> None:
    headers = {"Authorization": f"Bearer {library.standin.api_key}", "Content-Type": "application/json"}
    for body in (b"not json", b"[1, 2]"):
        response = httpx.post(f"{library.base_url}/emails", content=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["name"] == "validation_error"


def test_the_same_key_and_body_return_the_same_email_once(library: Running[ResendStandin]) -> None:
    first = send(key="outbox-17")
    again = send(dict(reversed(list(EMAIL.items()))), key="outbox-17")  # the same body, keys in another order
    assert again["id"] == first["id"]
    assert len(library.standin.emails) == 1
    assert library.standin.emails[0]["idempotency_key"] == "outbox-17"


def test_the_key_with_a_different_body_is_a_409(library: Running[ResendStandin]) -> None:
    send(key="outbox-17")
    with pytest.raises(ResendError) as caught:
        send({**EMAIL, "subject": "Something else"}, key="outbox-17")
    assert (caught.value.code, caught.value.error_type) == (409, "invalid_idempotent_request")
    assert caught.value.message == "Same idempotency key used with a different request payload."
    assert len(library.standin.emails) == 1


def test_an_invalid_key_and_a_refused_email_save_nothing(library: Running[ResendStandin]) -> None:
    with pytest.raises(ResendError) as caught:
        send(key="k" * 257)
    assert (caught.value.code, caught.value.error_type) == (400, "invalid_idempotency_key")
    with pytest.raises(MissingRequiredFieldsError):
        send({**EMAIL, "subject": ""}, key="outbox-18")
    assert send(key="outbox-18")["id"]  # the fixed email goes out under the same key


def test_a_concurrent_request_with_the_same_key_is_a_409() -> None:
    with serve(ResendStandin(processing_delay_s=0.3)) as running:
        headers = {"Authorization": f"Bearer {running.standin.api_key}", "Idempotency-Key": "outbox-19"}
        answers = run_together(
            lambda: httpx.post(f"{running.base_url}/emails", json=EMAIL, headers=headers), 2, stagger_s=0.05
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        conflict = next(a for a in answers if a.status_code == 409)
        assert conflict.json()["name"] == "concurrent_idempotent_requests"
        assert len(running.standin.emails) == 1


def test_injected_failures_reach_the_library_as_resend_errors(library: Running[ResendStandin]) -> None:
    library.standin.fail_next(500)
    with pytest.raises(ResendError) as caught:
        send()
    assert (caught.value.code, caught.value.error_type) == (500, "application_error")
    library.standin.fail_next(429)
    with pytest.raises(ResendError) as limited:
        send()
    assert limited.value.error_type == "rate_limit_exceeded"
    assert library.standin.emails == []
