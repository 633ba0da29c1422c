"""The wire types between the API and the valuation function: what each side accepts and refuses."""

from __future__ import annotations

import msgspec
import pytest

from services.core.valuation_wire import (
    MAX_BATCH,
    Problem,
    ValuationAnswer,
    ValuationResult,
    Weights,
    WireError,
    answer_from_json,
    request_from_event,
    request_to_json,
)


def test_the_request_round_trips_and_omits_what_is_unset() -> None:
    payload = request_to_json(["A1", "AB12 CDE"])
    assert msgspec.json.decode(payload) == {"registrations": ["A1", "AB12 CDE"]}
    assert request_from_event(msgspec.json.decode(payload)).registrations == ["A1", "AB12 CDE"]
    assert request_from_event({"registration": "A1"}).registration == "A1"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("A1", "must be a JSON object"),
        ({}, "exactly one"),
        ({"registrations": ["A1"] * (MAX_BATCH + 1)}, f"length <= {MAX_BATCH}"),
        ({"registrations": [None]}, "$.registrations[0]"),
        ({"registrations": ["A1"], "limit": 5}, "unknown field `limit`"),
    ],
)
def test_a_bad_request_says_what_is_wrong(event: object, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        request_from_event(event)
    assert reason in str(caught.value)


def test_an_answer_round_trips() -> None:
    result = ValuationResult(
        registration="A 1",
        price=900,
        low=700,
        high=1200,
        currency="GBP",
        weights=Weights(model=0.7, rules=0.3),
        explanation="x",
        model_version="m",
    )
    refused = ValuationResult(registration="nope", error=Problem("invalid_registration", "no digit"))
    payload = msgspec.json.encode(ValuationAnswer(results=[result, refused]))
    assert msgspec.json.decode(payload)["results"][1] == {
        "registration": "nope",
        "error": {"code": "invalid_registration", "message": "no digit"},
    }
    assert answer_from_json(payload) == ValuationAnswer(results=[result, refused])


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not a valuation answer"),
        (b"[]", "Expected `object`, got `array`"),
        (b"{}", "either 'results' or 'error'"),
        (b'{"results": [], "error": {"code": "x", "message": "y"}}', "either 'results' or 'error'"),
        (b'{"results": [{"price": 5}]}', "missing required field `registration`"),
    ],
)
def test_a_bad_answer_says_what_is_wrong(payload: bytes, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        answer_from_json(payload)
    assert reason in str(caught.value)


def test_an_error_answer_decodes() -> None:
    answer = answer_from_json(b'{"error": {"code": "invalid_event", "message": "bad"}}')
    assert answer.error == Problem("invalid_event", "bad")
    assert answer.results is None
