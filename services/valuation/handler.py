"""Lambda entry point: the event is a :class:`~services.core.valuation_wire.ValuationRequest`.

``{"registrations": [...]}`` (1 to ``MAX_BATCH``) answers ``{"results": [...]}``; ``{"registration": ...}``
answers that one result; an event that is not a request answers ``{"error": {"code": "invalid_event",
"message"}}`` saying what is wrong and where. It never raises: a client cannot make it fail. The
artifact loads at import, during Lambda's init phase, so the first request pays nothing extra.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.core.valuation_wire import Problem, ValuationAnswer, WireError, request_from_event
from services.valuation import service

service.artifact()


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    try:
        request = request_from_event(event)
    except WireError as exc:
        return _refusal("invalid_event", str(exc))
    try:
        if request.registration is not None:
            return msgspec.to_builtins(service.results([request.registration])[0])
        return msgspec.to_builtins(ValuationAnswer(results=service.results(request.registrations or [])))
    except Exception as exc:  # the contract: never raise to the caller, and no internals in the answer
        return _refusal("internal_error", f"valuation failed: {type(exc).__name__}")


def _refusal(code: str, message: str) -> dict[str, Any]:
    return msgspec.to_builtins(ValuationAnswer(error=Problem(code, message)))
