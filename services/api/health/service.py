"""Readiness: each dependency checked end to end, with its latency.

The database is checked on the read pool (the same database and role the writes use, without
loading SQLAlchemy); the valuation service by valuing a known mark; storage by a ``HEAD`` on the
bucket. A check that fails reports why in one line; it never raises.

Every deep check also becomes a metric: :func:`publish_checks` writes one ``HealthCheckFailed``
line (CloudWatch embedded metric format, :mod:`services.core.metrics`) per dependency, so a failing
dependency raises the stage's alarm whoever asked (the platform's scheduled probe, a smoke test, a
monitor), and the dashboard shows each dependency's history.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from services.api.errors import first_line
from services.api.health.schemas import CheckResult, DeepHealth
from services.api.reads import ReadPool
from services.api.valuations.client import ValuationClient
from services.core import metrics

if TYPE_CHECKING:
    from services.api.storage import DocumentStore


CHECKS = ("database", "valuation", "storage")
"""The dependencies the deep check reaches, by the name its answer and its metric use (the API's deploy
spec declares the same names, which its alarms are made from)."""


class Readiness:
    """The deep health check's dependencies, each reached the way requests reach it."""

    def __init__(
        self, *, reads: Callable[[], ReadPool], valuations: ValuationClient, store: Callable[[], DocumentStore]
    ) -> None:
        self.reads = reads
        self.valuations = valuations
        self.store = store

    async def check(self) -> DeepHealth:
        probes: dict[str, Callable[[], Awaitable[Any]]] = {
            "database": self._database,
            "valuation": lambda: anyio.to_thread.run_sync(self.valuations.ping),
            "storage": lambda: anyio.to_thread.run_sync(self._storage),
        }
        checks = {name: await _timed(probes[name]) for name in CHECKS}
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


async def _timed(check: Callable[[], Awaitable[Any]]) -> CheckResult:
    started = time.perf_counter()
    try:
        await check()
    except Exception as exc:
        return CheckResult(status="fail", latency_ms=_ms(started), detail=first_line(exc)[:200])
    return CheckResult(status="ok", latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
