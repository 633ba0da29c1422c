"""The deep health check's report: one round of checks shared by the requests that arrive while it runs
and for two seconds after, so a flood of /health/deep cannot multiply into the dependencies; a failing
dependency is named without its error text, which goes to the log."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from services.api.health.service import REPORT_TTL_S, Readiness


class _Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


class _Reads:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def one(self, sql: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        await anyio.sleep(0.05)  # every concurrent caller arrives while the first round runs
        if self.fail:
            raise OSError("connection to 10.0.3.7:5432 refused")
        return {"ok": 1}


class _Healthy:
    def ping(self) -> None:
        pass


def test_concurrent_and_repeated_checks_share_one_round(caplog: pytest.LogCaptureFixture) -> None:
    reads, clock = _Reads(), _Clock()
    published: list[str] = []
    readiness = Readiness(
        reads=lambda: reads,  # type: ignore[arg-type, return-value]
        valuations=_Healthy(),  # type: ignore[arg-type]
        store=_Healthy,  # type: ignore[arg-type]
        clock=clock,
        on_report=lambda report: published.append(report.status),
    )

    async def flood() -> list[str]:
        statuses: list[str] = []

        async def ask() -> None:
            statuses.append((await readiness.check()).status)

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(ask)
        return statuses

    assert anyio.run(flood) == ["ok"] * 20
    assert reads.calls == 1
    assert published == ["ok"]  # one round, one set of metric lines, however many asked
    reads.fail = True
    clock.now += REPORT_TTL_S / 2
    assert anyio.run(readiness.check).status == "ok"  # still the same report
    assert reads.calls == 1
    clock.now += REPORT_TTL_S / 2
    with caplog.at_level("WARNING", logger="reggie.api.health"):
        report = anyio.run(readiness.check)
    assert reads.calls == 2
    assert report.status == "fail"
    assert report.checks["database"].status == "fail"
    assert report.checks["storage"].status == report.checks["valuation"].status == "ok"
    assert "10.0.3.7" in caplog.text
    assert published == ["ok", "fail"]
