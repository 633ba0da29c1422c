"""Health: liveness, readiness of every dependency, and the running version."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from services.api.context import deps_of
from services.api.routes.common import errors
from services.api.schemas import CheckResult, DeepHealth, Health, Version


@get("/health", sync_to_thread=False, tags=["health"], responses=errors())
def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


def _timed(check: Callable[[], None]) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return CheckResult(status="fail", latency_ms=_ms(started), detail=detail)
    return CheckResult(status="ok", latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@get("/health/deep", sync_to_thread=True, tags=["health"], responses=errors())
def health_deep(request: Request[Any, Any, Any]) -> Response[DeepHealth]:
    """Readiness: the database, the valuation service and document storage, each with its status and
    latency; 503 when any of them fails."""
    deps = deps_of(request)

    def database() -> None:
        if deps.engine is None:
            raise RuntimeError("the database is not configured")
        with deps.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def storage() -> None:
        deps.require_store().ping()

    checks = {"database": _timed(database), "valuation": _timed(deps.valuations.ping), "storage": _timed(storage)}
    ok = all(c.status == "ok" for c in checks.values())
    return Response(DeepHealth(status="ok" if ok else "fail", checks=checks), status_code=200 if ok else 503)


@get("/health/version", sync_to_thread=False, tags=["health"], responses=errors())
def version(request: Request[Any, Any, Any]) -> Version:
    """The running version, the commit it was built from, and the stage."""
    settings = deps_of(request).settings
    return Version(version=settings.version, commit=settings.commit, stage=settings.stage)


ROUTES = [health, health_deep, version]
