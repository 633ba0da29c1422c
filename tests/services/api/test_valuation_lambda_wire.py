"""The Lambda backend over the real Invoke API (botocore against a stand-in function): it sends the
wire's request and refuses any answer that does not decode as one valid result per mark."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from services.api.aws import VALUATION_INVOKE_CONFIG
from services.api.valuations.client import LambdaBackend, ValuationUnavailable, fallback_estimate
from tests.services.api.support import FakeLambda


class Scripted:
    """What the stand-in function answers next, and the payloads it received."""

    def __init__(self) -> None:
        self.answer: Any = None
        """A list of result dicts, or a function of the registrations returning one."""
        self.received: list[list[str]] = []

    def __call__(self, registrations: list[str]) -> Any:
        self.received.append(registrations)
        return self.answer(registrations) if callable(self.answer) else self.answer


@pytest.fixture(scope="module")
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture(scope="module")
def backend(scripted: Scripted) -> Iterator[LambdaBackend]:
    fake = FakeLambda(scripted)
    client = botocore.session.get_session().create_client(
        "lambda",
        endpoint_url=fake.url,
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**VALUATION_INVOKE_CONFIG),
    )
    yield LambdaBackend(client, "reggie-ci-valuation")
    fake.close()


def _good(registrations: list[str]) -> list[dict[str, Any]]:
    return [{**fallback_estimate(r), "model_version": "wire-test"} for r in registrations]


def test_a_well_formed_answer_comes_back_in_order(backend: LambdaBackend, scripted: Scripted) -> None:
    scripted.answer, scripted.received = _good, []
    results = backend.value_many(["A1", "AB12 CDE"])
    assert [r["registration"] for r in results] == ["A1", "AB12CDE"]
    assert all(r["model_version"] == "wire-test" for r in results)
    assert scripted.received == [["A1", "AB12 CDE"]]


def test_a_refused_mark_is_a_result_not_a_failure(backend: LambdaBackend, scripted: Scripted) -> None:
    scripted.answer = [{"registration": "nope", "error": {"code": "invalid_registration", "message": "no digit"}}]
    assert backend.value_many(["nope"]) == [
        {"registration": "nope", "error": {"code": "invalid_registration", "message": "no digit"}}
    ]


_PRICED = {"registration": "A1", "price": 900, "low": 700, "high": 1200, "model_version": "m"}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ([], "answered 0 results for 1"),
        ([_PRICED, _PRICED], "answered 2 results for 1"),
        ([{"registration": "A1"}], "needs either 'error' or all of"),
        ([{**_PRICED, "price": "900"}], "Expected `int | null`, got `str` - at `$.results[0].price`"),
        ([{**_PRICED, "price": 0}], ">= 1"),
        ([{**_PRICED, "low": 1000}], "range must hold its price"),
        ([{**_PRICED, "model_version": ""}], "model_version"),
        (["A1"], "Expected `object`, got `str` - at `$.results[0]`"),
        ([{**_PRICED, "weights": {"model": "most"}}], "$.results[0].weights"),
    ],
)
def test_a_malformed_answer_is_unavailable_after_one_retry(
    backend: LambdaBackend, scripted: Scripted, answer: Any, reason: str
) -> None:
    scripted.answer, scripted.received = answer, []
    with pytest.raises(ValuationUnavailable) as caught:
        backend.value_many(["A1"])
    assert reason in str(caught.value)
    assert len(scripted.received) == 2  # one retry, then give up
