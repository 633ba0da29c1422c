"""Lambda entry point: the event is a :class:`~services.core.valuation_wire.ValuationRequest`.

``{"registrations": [...]}`` (1 to ``MAX_BATCH``) answers ``{"results": [...]}``; ``{"registration": ...}``
answers that one result; an event that is not a request answers ``{"error": {"code": "invalid_event",
"message"}}`` saying what is wrong and where. It never raises: a client cannot make it fail. The
artifact loads at import, during Lambda's init phase, so the first request pays nothing extra.

Deployed with the ``database`` link (the function runs in the VPC), each valuation carries its comparable
past sales from ``sales`` (:mod:`services.valuation.comparables`): the reader is set up at init, and
connects on the first valuation. Without a database in the environment, valuations go out without them.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from services.core.settings import SettingsError, load_settings
from services.core.valuation_wire import Problem, ValuationAnswer, WireError, request_from_event
from services.valuation import service
from services.valuation.comparables import SalesReader

log = logging.getLogger("reggie.valuation")

service.artifact()


def _sales_reader() -> SalesReader | None:
    """The reader of the database the settings name, if any; settings that cannot be read are logged and
    valued without comparables rather than refusing every valuation."""
    try:
        return SalesReader.for_settings(load_settings())
    except SettingsError as exc:
        log.warning("valuing without comparables: %s", exc)
        return None


sales = _sales_reader()


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    try:
        request = request_from_event(event)
    except WireError as exc:
        return _refusal("invalid_event", str(exc))
    try:
        if request.registration is not None:
            return msgspec.to_builtins(service.results([request.registration], sales=sales)[0])
        answer = ValuationAnswer(results=service.results(request.registrations or [], sales=sales))
        return msgspec.to_builtins(answer)
    except Exception as exc:  # the contract: never raise to the caller, and no internals in the answer
        return _refusal("internal_error", f"valuation failed: {type(exc).__name__}")


def _refusal(code: str, message: str) -> dict[str, Any]:
    return msgspec.to_builtins(ValuationAnswer(error=Problem(code, message)))
