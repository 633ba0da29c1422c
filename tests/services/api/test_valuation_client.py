"""The valuation client's in-process backend: lazy discovery, failures as ValuationUnavailable."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.valuations.client import (
    MAX_BATCH,
    InProcessBackend,
    ValuationClient,
    ValuationUnavailable,
    fallback_estimate,
)


def test_service_is_loaded_on_first_use_only_once() -> None:
    loads: list[int] = []

    def value_many(registrations: list[str]) -> list[dict[str, Any]]:
        return [{**fallback_estimate(r), "model_version": "loaded"} for r in registrations]

    def loader() -> Any:
        loads.append(1)
        return value_many

    client = ValuationClient(InProcessBackend(None, loader=loader))
    assert loads == []
    assert client.value_many(["A1"])[0]["model_version"] == "loaded"
    assert client.value_many(["B2", "C3"])[1]["model_version"] == "loaded"
    assert loads == [1]


def test_unimportable_service_falls_back() -> None:
    client = ValuationClient(InProcessBackend(None, loader=lambda: None))
    assert client.value_many(["A1"])[0]["model_version"] == "fallback-heuristic-1"
    client.ping()


def test_service_failure_is_unavailable() -> None:
    def broken(registrations: list[str]) -> list[dict[str, Any]]:
        raise KeyError("model artifact")

    client = ValuationClient(InProcessBackend(broken))
    with pytest.raises(ValuationUnavailable):
        client.value_many(["A1"])
    with pytest.raises(ValuationUnavailable):
        client.ping()


def test_batch_bound_and_empty() -> None:
    client = ValuationClient(InProcessBackend(None))
    assert client.value_many([]) == []
    with pytest.raises(ValueError, match="at most"):
        client.value_many(["A1"] * (MAX_BATCH + 1))
