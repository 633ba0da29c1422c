"""Valuations over real HTTP: in process (the local backend), and through the Lambda Invoke API
against a fake valuation function that can succeed, fail once, or be down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from sqlalchemy import Engine, text

from services.api.health.service import REPORT_TTL_S
from services.api.valuations.client import FALLBACK_MODEL_VERSION, fallback_estimate
from tests.services.api.support import LOCAL_APP, FakeLambda, running_api
from tests.services.api.test_health_plates import assert_error

LAMBDA_MODEL = "lambda-fake-7"


SAM_1_SOLD = {
    "registration": "SAM 1",
    "hammer_price_pence": 4_100_000,
    "auction": "DVLA Timed Auction",
    "auction_id": "dvla-2024-03-14",
    "lot": 12,
    "sold_on": "2024-03-14",
    "similarity": 1.0,
}


def _lambda_answer(registrations: list[str]) -> list[dict[str, Any]]:
    """What the function answers: SAM 1 with its past sale, others with none alike, A1 without comparables
    (the function could not read the sales); every answer with a driver."""
    answers = [
        {
            **fallback_estimate(r),
            "model_version": LAMBDA_MODEL,
            "drivers": [{"driver": "fake driver", "multiplier": 1.5}],
        }
        for r in registrations
    ]
    for answer in answers:
        if answer.get("registration") == "SAM1":
            answer["comparables"] = [SAM_1_SOLD]
        elif answer.get("registration") != "A1":
            answer["comparables"] = []
    return answers


def _check_valuation(body: dict[str, Any]) -> None:
    assert body["low_pence"] <= body["estimate_pence"] <= body["high_pence"]
    assert body["estimate_pence"] > 0
    assert body["currency"] == "GBP"
    assert body["explanation"]
    assert body["model_version"]


def test_value_one_caches_and_shows_on_the_plate(client: httpx.Client, engine: Engine) -> None:
    response = client.post("/valuations", json={"registration": "v 4"})
    assert response.status_code == 200, response.text
    body = response.json()
    _check_valuation(body)
    assert body["registration"] == "V 4"
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT estimate_pence, model_version FROM valuations WHERE registration = 'V4'")
        ).all()
    assert (body["estimate_pence"], body["model_version"]) in [tuple(r) for r in stored]
    plate = client.get("/plates/V4").json()
    assert plate["valuation"]["estimate_pence"] == body["estimate_pence"]


def test_value_one_errors(client: httpx.Client) -> None:
    assert_error(client.post("/valuations", json={"registration": "ZZZZZZZZ"}), 422, "invalid_registration")
    assert_error(client.post("/valuations", json={}), 400)
    assert_error(client.post("/valuations", json={"registration": ""}), 400)
    assert_error(client.post("/valuations", json=["A1"]), 400)


def test_batch_keeps_order_and_reports_invalid_items(client: httpx.Client) -> None:
    response = client.post("/valuations/batch", json={"registrations": ["A1", "nope!", "AB12 CDE"]})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["input"] for r in results] == ["A1", "nope!", "AB12 CDE"]
    _check_valuation(results[0]["valuation"])
    assert results[1]["valuation"] is None
    assert results[1]["error"]["code"] == "invalid_registration"
    assert results[2]["valuation"]["registration"] == "AB12 CDE"
    assert_error(client.post("/valuations/batch", json={"registrations": []}), 400)
    assert_error(client.post("/valuations/batch", json={"registrations": ["A1"] * 101}), 400)


@pytest.fixture(scope="module")
def fake_lambda() -> Iterator[FakeLambda]:
    fake = FakeLambda(_lambda_answer)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def lambda_api(
    base_env: dict[str, str], fake_lambda: FakeLambda, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = {
        **base_env,
        "VALUATION_FUNCTION_NAME": "reggie-ci-valuation",
        "AWS_ENDPOINT_URL_LAMBDA": fake_lambda.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }
    with running_api(env, Path(tmp_path_factory.mktemp("lambda-api")) / "uvicorn.log") as url:
        yield url + "/api/v1"


@pytest.mark.slow
def test_lambda_backend_success_retry_and_outage(lambda_api: str, fake_lambda: FakeLambda) -> None:
    with httpx.Client(base_url=lambda_api, timeout=60) as c:
        fake_lambda.mode, fake_lambda.calls = "ok", 0
        ok = c.post("/valuations", json={"registration": "SAM 1"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["model_version"] == LAMBDA_MODEL
        assert ok.json()["comparables"] == [SAM_1_SOLD]  # the function's comparables, through the wire
        assert fake_lambda.calls == 1
        batch = c.post("/valuations/batch", json={"registrations": ["A1", "B2"]}).json()["results"]
        assert batch[0]["valuation"]["comparables"] is None  # the function could not read them
        assert batch[1]["valuation"]["comparables"] == []  # none alike

        fake_lambda.mode, fake_lambda.calls = "flaky", 0
        retried = c.post("/valuations/batch", json={"registrations": ["A1", "B2"]})
        assert retried.status_code == 200, retried.text
        assert fake_lambda.calls == 2  # the first invoke failed, the one retry succeeded

        for mode in ("error", "function_error"):
            fake_lambda.mode, fake_lambda.calls = mode, 0
            down = c.post("/valuations", json={"registration": "A1"})
            body = assert_error(down, 503, "valuation_unavailable")
            assert "try again" in body["message"]
            assert fake_lambda.calls == 2  # one retry, then give up
            time.sleep(REPORT_TTL_S)  # the deep check answers from a report at most this old
            assert c.get("/health/deep").status_code == 503
            assert c.get("/health/deep").json()["checks"]["valuation"] == {"status": "fail", "latency_ms": ANY}
        fake_lambda.mode = "ok"
        time.sleep(REPORT_TTL_S)
        recovered = c.get("/health/deep")
        assert recovered.status_code == 200, recovered.text


@pytest.mark.slow
def test_the_local_stack_values_with_comparables_from_its_database(
    base_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    """`make dev`'s app: the model in process, reading comparable sales from the local database as the
    deployed function reads them from Aurora."""
    auction = "comparables-local-stack"
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sales WHERE auction_id = :a"), {"a": auction})
        conn.execute(
            text(
                "INSERT INTO sales (auction_id, auction_name, lot_number, registration, registration_display,"
                " format, hammer_price_pence, sold, sold_on, source)"
                " VALUES (:a, 'Local auction', 1, 'JAM35', 'JAM 35', 'dateless', 520000, true, '2024-05-02', 'test')"
            ),
            {"a": auction},
        )
    env = {k: v for k, v in base_env.items() if k != "VALUATION_BACKEND"} | {"STAGE": "local"}
    try:
        with running_api(env, tmp_path / "uvicorn.log", app=LOCAL_APP) as url, httpx.Client(base_url=url) as c:
            response = c.post("/api/v1/valuations", json={"registration": "jam 35"}, timeout=60)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["model_version"] != FALLBACK_MODEL_VERSION
            first = body["comparables"][0]
            assert (first["registration"], first["hammer_price_pence"], first["sold_on"]) == (
                "JAM 35",
                520000,
                "2024-05-02",
            )
        with engine.connect() as conn:  # cached with the valuation
            details = conn.execute(
                text("SELECT details FROM valuations WHERE registration = 'JAM35' AND model_version = :m"),
                {"m": body["model_version"]},
            ).scalar_one()
        assert details["comparables"][0]["auction_id"] == auction
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sales WHERE auction_id = :a"), {"a": auction})


def test_fallback_estimate_is_documented_and_ordered() -> None:
    short, long = fallback_estimate("A1"), fallback_estimate("AB12 CDE")
    assert short["model_version"] == long["model_version"] == FALLBACK_MODEL_VERSION
    assert short["price"] > long["price"]
    for result in (short, long):
        assert result["low"] <= result["price"] <= result["high"]
    assert "error" in fallback_estimate("not a plate")


@pytest.mark.slow
def test_lookup_values_through_the_function_and_survives_its_outage(
    lambda_api: str, fake_lambda: FakeLambda, engine: Engine
) -> None:
    with httpx.Client(base_url=lambda_api, timeout=60) as c:
        fake_lambda.mode = "error"
        nothing = c.get("/plates/LK51 OUT")
        assert nothing.status_code == 200, nothing.text  # the plate's facts, without a valuation
        assert nothing.json()["valuation"] is None
        fake_lambda.mode = "ok"
        valued = c.get("/plates/LK51OUT").json()["valuation"]
        assert valued["model_version"] == LAMBDA_MODEL
        assert [d["driver"] for d in valued["drivers"]] == ["fake driver"]  # drivers cross the wire
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE valuations SET created_at = now() - interval '1 year' WHERE registration = 'LK51OUT'")
            )
        fake_lambda.mode = "error"
        stale = c.get("/plates/LK51OUT").json()["valuation"]
        assert stale["stale"] is True  # the old valuation, marked as such, rather than an error
        assert stale["estimate_pence"] == valued["estimate_pence"]
        fake_lambda.mode = "ok"
