"""The Litestar application: every route under ``/api/v1``; OpenAPI served at ``/api/v1/schema``."""

from __future__ import annotations

import time

from litestar import Litestar, Router, get
from litestar.openapi.config import OpenAPIConfig
from litestar.response import Response
from sqlalchemy import Engine, create_engine, text

from services.api.settings import get_settings

_settings = get_settings()
_engine: Engine | None = (
    create_engine(_settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=1)
    if _settings.database_url
    else None
)


@get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get("/health/deep", sync_to_thread=False)
def health_deep() -> Response[dict[str, object]]:
    """Readiness: each dependency with its status and latency; 503 when one fails."""
    started = time.perf_counter()
    status = "ok"
    detail = None
    try:
        if _engine is None:
            raise RuntimeError("DATABASE_URL is not set")
        with _engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        status, detail = "fail", type(exc).__name__
    database = {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if detail:
        database["detail"] = detail
    body: dict[str, object] = {"status": status, "checks": {"database": database}}
    return Response(body, status_code=200 if status == "ok" else 503)


app = Litestar(
    route_handlers=[Router("/api/v1", route_handlers=[health, health_deep])],
    openapi_config=OpenAPIConfig(title="Reggie API", version="1.0.0", path="/api/v1/schema"),
)
