"""While ``make dev`` is still creating, migrating and seeding the database, the API it already started
answers 503 ``starting`` instead of whatever a half-made database would make of a request.

The stack spawns the API first (its imports are the slowest part of start-up) and PostgreSQL comes up
meanwhile; until the stack removes the marker file (``LOCAL_STARTING_FILE``), every request but liveness
(``/api/v1/health``) gets the API's error shape with code ``starting``. Once the marker is gone the gate
never looks again. The deployed API has no such gate: there the migrator runs before new code is live,
and a schema behind the code is a 503 ``schema_behind`` (``services.api.database``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the stack imports this module for the variable's name, before anything heavy
    from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ["STARTING_FILE_VARIABLE", "StartingGate"]

STARTING_FILE_VARIABLE = "LOCAL_STARTING_FILE"
"""The marker's path, in the local API's environment."""
LIVENESS_PATH = "/api/v1/health"


class StartingGate:
    """An ASGI app answering 503 ``starting`` while ``marker`` exists, and ``app`` from then on."""

    def __init__(self, app: ASGIApp, marker: Path | None) -> None:
        self.app = app
        self._marker = marker
        self._ready = marker is None

    def _starting(self) -> bool:
        if not self._ready and self._marker is not None and not self._marker.exists():
            self._ready = True
        return not self._ready

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == LIVENESS_PATH or not self._starting():
            await self.app(scope, receive, send)
            return
        await _answer_starting(scope, send)


async def _answer_starting(scope: Scope, send: Send) -> None:
    import msgspec  # noqa: PLC0415 - in the API process only

    from services.api.http_errors import ErrorBody  # noqa: PLC0415
    from services.api.request_ids import REQUEST_ID_HEADER, request_id_of  # noqa: PLC0415

    body = ErrorBody(
        status=503,
        code="starting",
        message="The local stack is still starting (creating and migrating the database); try again shortly.",
        request_id=request_id_of(scope),
    )
    content = msgspec.json.encode(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"retry-after", b"1"),
        (REQUEST_ID_HEADER.encode(), request_id_of(scope).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})
