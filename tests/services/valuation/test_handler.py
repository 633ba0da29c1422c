"""The Lambda handler on good and bad events: it decodes each event as the wire's request and never raises."""

from __future__ import annotations

import msgspec
import pytest

from services.core.valuation_wire import MAX_BATCH, ValuationAnswer, ValuationResult
from services.valuation import service
from services.valuation.handler import handler


def test_single_and_batch_answers_decode_as_the_wire_types() -> None:
    one = msgspec.convert(handler({"registration": "AB12 CDE"}, None), ValuationResult)
    assert one.registration == "AB12 CDE"
    assert one.price is not None
    assert one.price > 0
    batch = msgspec.convert(handler({"registrations": ["1 A", "nope"]}, None), ValuationAnswer)
    assert batch.results is not None
    assert [r.registration for r in batch.results] == ["1 A", "nope"]
    assert batch.results[1].error is not None
    assert batch.results[1].error.code == "invalid_registration"


def test_a_full_batch_is_valued() -> None:
    answer = handler({"registrations": [f"A {n}" for n in range(1, MAX_BATCH + 1)]}, None)
    assert len(answer["results"]) == MAX_BATCH
    assert all("price" in r for r in answer["results"])


@pytest.mark.parametrize(
    ("event", "where"),
    [
        (None, "JSON object"),
        ([], "JSON object"),
        ("AB12 CDE", "JSON object"),
        ({}, "exactly one"),
        ({"registration": 5}, "$.registration"),
        ({"registrations": "AB12 CDE"}, "$.registrations"),
        ({"registrations": [1, 2]}, "$.registrations[0]"),
        ({"registrations": []}, "length >= 1"),
        ({"registration": "A", "registrations": ["B"]}, "exactly one"),
        ({"registrations": ["1 A"] * (MAX_BATCH + 1)}, f"length <= {MAX_BATCH}"),
        ({"registrations": ["1 A"], "kind": "venue"}, "unknown field `kind`"),
    ],
)
def test_a_malformed_event_answers_a_clear_error(event: object, where: str) -> None:
    answer = handler(event, None)
    assert set(answer) == {"error"}
    assert answer["error"]["code"] == "invalid_event"
    assert where in answer["error"]["message"]


def test_invalid_mark_in_single_event() -> None:
    answer = handler({"registration": "ZZZZZZZZ"}, None)
    assert answer["error"]["code"] == "invalid_registration"
    assert answer["registration"] == "ZZZZZZZZ"


def test_a_failure_inside_the_service_answers_without_internals(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(registrations: list[str], **_: object) -> list[ValuationResult]:
        raise KeyError("artifact table 'letters' at /var/task/...")

    monkeypatch.setattr(service, "results", broken)
    answer = handler({"registrations": ["A1"]}, None)
    assert answer == {"error": {"code": "internal_error", "message": "valuation failed: KeyError"}}
