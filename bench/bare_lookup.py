"""The load benchmark's ceiling: a bare ASGI app (no framework, no ORM) answering
``GET /bare/plates/{registration}`` with the same one-statement lookup the API runs, through raw
psycopg async connections. Served by the same uvicorn, one worker, as the API.

Run by ``bench/bench_api_load.py`` as ``uvicorn bench.bare_lookup:app`` with ``DATABASE_URL`` set.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import psycopg

from services.api.plates.service import LOOKUP_SQL  # the very same statement as the API's

POOL_SIZE = 8
_pool: asyncio.Queue[psycopg.AsyncConnection[Any]] | None = None


async def _connections() -> asyncio.Queue[psycopg.AsyncConnection[Any]]:
    global _pool  # noqa: PLW0603 (built on the first request, inside the server's loop)
    if _pool is None:
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
        pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        for _ in range(POOL_SIZE):
            pool.put_nowait(await psycopg.AsyncConnection.connect(url, autocommit=True))
        _pool = pool
    return _pool


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    registration = scope["path"].rsplit("/", 1)[-1].replace(" ", "").upper()
    pool = await _connections()
    conn = await pool.get()
    try:
        cursor = await conn.execute(LOOKUP_SQL, {"reg": registration}, prepare=True)
        row = await cursor.fetchone()
        columns = [c.name for c in cursor.description or []]
    finally:
        pool.put_nowait(conn)
    body = json.dumps(dict(zip(columns, row or (), strict=False)), default=str).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
