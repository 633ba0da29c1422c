"""Readiness: each dependency checked end to end, with its latency.

The database is checked on the read pool (the same database and role the writes use, without
loading SQLAlchemy); the valuation service by valuing a known mark; storage by a ``HEAD`` on the
bucket. A check that fails reports why in one line; it never raises.
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

if TYPE_CHECKING:
    from services.api.storage import DocumentStore


class Readiness:
    """The deep health check's dependencies, each reached the way requests reach it."""

    def __init__(
        self, *, reads: Callable[[], ReadPool], valuations: ValuationClient, store: Callable[[], DocumentStore]
    ) -> None:
        self.reads = reads
        self.valuations = valuations
        self.store = store

    async def check(self) -> DeepHealth:
        checks = {
            "database": await _timed(self._database),
            "valuation": await _timed(lambda: anyio.to_thread.run_sync(self.valuations.ping)),
            "storage": await _timed(lambda: anyio.to_thread.run_sync(self._storage)),
        }
        ok = all(c.status == "ok" for c in checks.values())
        return DeepHealth(status="ok" if ok else "fail", checks=checks)

    async def _database(self) -> None:
        await self.reads().one("SELECT 1 AS ok", {})

    def _storage(self) -> None:
        self.store().ping()


async def _timed(check: Callable[[], Awaitable[Any]]) -> CheckResult:
    started = time.perf_counter()
    try:
        await check()
    except Exception as exc:
        return CheckResult(status="fail", latency_ms=_ms(started), detail=first_line(exc)[:200])
    return CheckResult(status="ok", latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
