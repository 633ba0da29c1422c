"""Readiness: each dependency checked end to end, with its latency.

The database is checked on the read pool (the same database and role the writes use, without
loading SQLAlchemy); the valuation service by valuing a known mark; storage by a ``HEAD`` on the
bucket. A check never raises: the answer names the dependency that failed and nothing more (its error
text, with host names and ports, goes to the log). Every check touches a dependency, so the report is
kept for :data:`REPORT_TTL_S` and shared by the requests that ask meanwhile: a flood of ``/health/deep``
costs the dependencies one round of checks every two seconds per API instance.

Every round of checks also becomes a metric: :func:`publish_checks` writes one ``HealthCheckFailed``
line (CloudWatch embedded metric format, :mod:`services.core.metrics`) per dependency, so a failing
dependency raises the stage's alarm whoever asked (the platform's scheduled probe, a smoke test, a
monitor), and the dashboard shows each dependency's history. A report served again from the cache is
not published again, so a flood of requests does not multiply the data points.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from services.api.errors import first_line
from services.api.health.schemas import CheckResult, DeepHealth
from services.api.reads import ReadPool
from services.api.valuations.client import ValuationClient
from services.core import metrics

if TYPE_CHECKING:
    from services.api.storage import DocumentStore

log = logging.getLogger("reggie.api.health")

REPORT_TTL_S = 2.0
"""How long one round of checks answers ``/health/deep``."""


CHECKS = ("database", "valuation", "storage")
"""The dependencies the deep check reaches, by the name its answer and its metric use (the API's deploy
spec declares the same names, which its alarms are made from)."""


class Readiness:
    """The deep health check's dependencies, each reached the way requests reach it."""

    def __init__(
        self,
        *,
        reads: Callable[[], ReadPool],
        valuations: ValuationClient,
        store: Callable[[], DocumentStore],
        clock: Callable[[], float] = time.monotonic,
        on_report: Callable[[DeepHealth], None] | None = None,
    ) -> None:
        self.reads = reads
        self.valuations = valuations
        self.store = store
        self._clock = clock
        self._on_report = on_report
        self._report: tuple[float, DeepHealth] | None = None
        self._lock: anyio.Lock | None = None

    async def check(self) -> DeepHealth:
        """The latest report if younger than :data:`REPORT_TTL_S`, else a new round of checks (one at a
        time: requests arriving meanwhile wait for it and share it)."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._report is not None and self._clock() - self._report[0] < REPORT_TTL_S:
                return self._report[1]
            report = await self._check_all()
            self._report = (self._clock(), report)
            if self._on_report is not None:
                self._on_report(report)
            return report

    async def _check_all(self) -> DeepHealth:
        probes: dict[str, Callable[[], Awaitable[Any]]] = {
            "database": self._database,
            "valuation": lambda: anyio.to_thread.run_sync(self.valuations.ping),
            "storage": lambda: anyio.to_thread.run_sync(self._storage),
        }
        checks = {name: await _timed(name, probes[name]) for name in CHECKS}
        ok = all(c.status == "ok" for c in checks.values())
        return DeepHealth(status="ok" if ok else "fail", checks=checks)

    async def _database(self) -> None:
        await self.reads().one("SELECT 1 AS ok", {})

    def _storage(self) -> None:
        self.store().ping()


def publish_checks(report: DeepHealth, stage: str, service: str) -> None:
    """One ``HealthCheckFailed`` metric line per dependency of ``report`` (0 passed, 1 failed)."""
    for name, result in report.checks.items():
        metrics.publish(metrics.health_check(stage, service, name, failed=result.status != "ok"))


async def _timed(name: str, check: Callable[[], Awaitable[Any]]) -> CheckResult:
    started = time.perf_counter()
    try:
        await check()
    except Exception as exc:
        log.warning("health check %s failed: %s", name, first_line(exc)[:300])
        return CheckResult(status="fail", latency_ms=_ms(started))
    return CheckResult(status="ok", latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
