"""Request ids: every response carries ``X-Request-Id`` and every error body ``request_id``, and the log
line of a failed request names it, so a person quoting an error can be found in the logs.

Deployed, the id is API Gateway's own (``requestContext.requestId`` of the payload-2.0 event Mangum puts
in the scope as ``aws.event``): the one the HTTP API's access log records. Locally and in tests it is a
fresh random id. A client's own ``X-Request-Id`` is not trusted as ours (it could collide or forge).
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

__all__ = ["REQUEST_ID_HEADER", "add_request_id_header", "request_id_of"]

REQUEST_ID_HEADER = "x-request-id"
_SCOPE_KEY = "reggie.request_id"


def request_id_of(scope: Scope) -> str:
    """The request's id, decided once per request (stored in its scope)."""
    held: Any = scope.get(_SCOPE_KEY)  # pyright: ignore[reportUnknownMemberType] - an extension key
    if isinstance(held, str):
        return held
    event: Any = scope.get("aws.event")  # pyright: ignore[reportUnknownMemberType]
    context: Any = event.get("requestContext") if isinstance(event, dict) else None
    given: Any = context.get("requestId") if isinstance(context, dict) else None
    request_id = given if isinstance(given, str) and 0 < len(given) <= 64 else secrets.token_hex(8)
    scope[_SCOPE_KEY] = request_id  # type: ignore[literal-required]
    return request_id


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: the id on every response, error responses included."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id_of(scope)
