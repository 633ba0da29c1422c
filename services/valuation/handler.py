"""Lambda entry point: ``{"registration": ...}`` or ``{"registrations": [...]}`` (at most 100).

Answers one result dict, ``{"results": [...]}``, or ``{"error": {"code", "message"}}`` for an event
it cannot use. It never raises: a client cannot make it fail. The artifact loads at import, during
Lambda's init phase, so the first request pays nothing extra.
"""

from __future__ import annotations

from typing import Any

from services.valuation import service

MAX_BATCH = 100

service.artifact()


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    try:
        return _handle(event)
    except Exception as exc:  # the contract: never raise to the caller
        return _error("internal_error", f"valuation failed: {type(exc).__name__}")


def _handle(event: Any) -> dict[str, Any]:  # noqa: PLR0911  # one early answer per kind of bad event
    if not isinstance(event, dict):
        return _error("invalid_event", "the event must be a JSON object with 'registration' or 'registrations'")
    if "registration" in event and "registrations" in event:
        return _error("invalid_event", "send either 'registration' or 'registrations', not both")
    if "registration" in event:
        if not isinstance(event["registration"], str):
            return _error("invalid_event", "'registration' must be a string")
        return service.value(event["registration"])
    if "registrations" in event:
        marks = event["registrations"]
        if not isinstance(marks, list) or not all(isinstance(m, str) for m in marks):
            return _error("invalid_event", "'registrations' must be a list of strings")
        if not marks:
            return _error("invalid_event", "'registrations' is empty")
        if len(marks) > MAX_BATCH:
            return _error("too_many_registrations", f"at most {MAX_BATCH} registrations per request, got {len(marks)}")
        return {"results": service.value_many(marks)}
    return _error("invalid_event", "the event needs 'registration' (a string) or 'registrations' (a list)")
