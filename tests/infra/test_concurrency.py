"""Reserved concurrency per stage from the stage matrix, sized against Aurora's max_connections at the
stage's maximum capacity: production and staging reserve for the API, the valuation function and the
scraper; the migrator reserves nothing (its advisory lock queues a second run); personal stages reserve
nothing. Every environment's connections together stay within what the database accepts."""

from __future__ import annotations

import re

import pytest

from infra import concurrency
from infra.config import StageConfigError
from infra.plan import run_plan
from infra.registry import REPO_ROOT, discover
from infra.service_spec import Concurrency, ServiceSpec

SPECS = discover()
MATRIX = {"production": (0.5, 4, True), "staging": (0.5, 2, True), "dev-alice": (0, 2, False)}


@pytest.mark.parametrize(
    ("min_acu", "max_acu", "expected"),
    [
        (0.5, 1, 189),  # the Aurora User Guide's table
        (0.5, 4, 823),
        (0.5, 8, 1669),
        (1, 16, 3360),
        (0.5, 16, 2000),  # a minimum below 1 ACU caps it at 2,000
        (0, 64, 2000),
        (1, 64, 5000),
        (0.5, 2, 400),  # between rows: 189 + (823 - 189) / 3, rounded down
    ],
)
def test_max_connections_follow_the_documented_table(min_acu: float, max_acu: float, expected: int) -> None:
    assert concurrency.max_connections(min_acu, max_acu) == expected


def _connections(spec: ServiceSpec, reserved: int | None) -> int:
    return (reserved if reserved is not None else spec.concurrency.fixed or 1) * spec.concurrency.connections


@pytest.mark.parametrize("stack", sorted(MATRIX))
def test_every_environment_fits_in_the_database(stack: str) -> None:
    min_acu, max_acu, reserve = MATRIX[stack]
    plan = concurrency.plan(SPECS, min_acu=min_acu, max_acu=max_acu, reserve=reserve)
    if not reserve:
        assert set(plan.reserved.values()) == {None}
        return
    used = sum(_connections(spec, plan.reserved[spec.name]) for spec in SPECS)
    assert used <= plan.max_connections - concurrency.RESERVED_SLOTS - concurrency.OPERATOR_HEADROOM
    assert used >= 0.9 * (plan.max_connections - concurrency.RESERVED_SLOTS - concurrency.OPERATOR_HEADROOM)
    assert plan.reserved["migrator"] is None  # the advisory lock, not a reservation
    assert plan.reserved["scraper"] == 1
    assert plan.reserved["api"] is not None
    assert plan.reserved["valuation"] is not None
    assert plan.reserved["api"] > plan.reserved["valuation"] > 1


def test_the_figures_for_production_and_staging() -> None:
    production = concurrency.plan(SPECS, min_acu=0.5, max_acu=4, reserve=True)
    # 823 connections - 5 for administrators - 10 for people - 2 the migrator - 1 the scraper - 2 the worker
    # = 803; the API 75% of them at 2 per environment, the valuation function 20% at 1.
    assert production.budget == 803
    assert dict(production.reserved) == {"api": 301, "valuation": 160, "scraper": 1, "worker": 2, "migrator": None}
    assert production.account_concurrency_needed == 564
    staging = concurrency.plan(SPECS, min_acu=0.5, max_acu=2, reserve=True)
    assert dict(staging.reserved) == {"api": 142, "valuation": 76, "scraper": 1, "worker": 2, "migrator": None}
    assert staging.account_concurrency_needed == 321


def test_the_readme_states_the_account_quota_production_needs() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    production = concurrency.plan(SPECS, min_acu=0.5, max_acu=4, reserve=True)
    staging = concurrency.plan(SPECS, min_acu=0.5, max_acu=2, reserve=True)
    for figure in (production.account_concurrency_needed, staging.account_concurrency_needed):
        assert re.search(rf"\b{figure}\b", readme), f"README.md does not state {figure}"


@pytest.mark.parametrize("stack", sorted(MATRIX))
def test_the_functions_reserve_what_the_plan_says(stack: str) -> None:
    min_acu, max_acu, reserve = MATRIX[stack]
    plan = concurrency.plan(SPECS, min_acu=min_acu, max_acu=max_acu, reserve=reserve)
    functions = {r.name: r for r in run_plan(stack) if r.type == "aws:lambda/function:Function"}
    for spec in SPECS:
        inputs = functions[f"{spec.name}-function"].inputs
        assert inputs.get("reservedConcurrentExecutions") == plan.reserved[spec.name], spec.name


def test_a_stage_may_turn_reservations_off() -> None:
    """An account whose quota cannot hold them (new accounts may start at 10) deploys staging without them."""
    functions = [r for r in run_plan("staging", {"reservedConcurrency": "false"}) if r.type.endswith(":Function")]
    assert functions
    assert all("reservedConcurrentExecutions" not in f.inputs for f in functions)


def test_a_database_too_small_for_the_shares_is_refused() -> None:
    greedy = ServiceSpec(
        name="greedy",
        package="zip",
        handler="services.greedy.handler.handler",
        vpc=True,
        links=("database",),
        concurrency=Concurrency(share=0.001, connections=2),
    )
    with pytest.raises(StageConfigError, match=r"^config reggie:auroraMaxAcu=1: not allowed; its 189 database") as e:
        concurrency.plan([greedy], min_acu=0.5, max_acu=1, reserve=True)
    assert "greedy" in str(e.value)
