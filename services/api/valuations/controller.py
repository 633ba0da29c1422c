"""``POST /valuations`` (one mark) and ``POST /valuations/batch`` (up to 100)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from services.api import valuations
from services.api.context import deps_of
from services.api.errors import ApiError
from services.api.routes.common import errors
from services.api.schemas import BatchValuationRequest, BatchValuationResponse, ValuationRequest, ValuationView


@post("/valuations", status_code=200, sync_to_thread=True, tags=["valuations"], responses=errors(422))
def value_one(request: Request[Any, Any, Any], data: ValuationRequest) -> ValuationView:
    """Value one registration: estimate, range, model version and a one-sentence explanation."""
    deps = deps_of(request)
    with deps.session() as session:
        [item] = valuations.value(session, deps.valuations, [data.registration])
    if item.error is not None:
        raise ApiError(422, item.error.code, item.error.message, {"registration": data.registration})
    assert item.valuation is not None
    return item.valuation


@post("/valuations/batch", status_code=200, sync_to_thread=True, tags=["valuations"], responses=errors())
def value_batch(request: Request[Any, Any, Any], data: BatchValuationRequest) -> BatchValuationResponse:
    """Value up to 100 registrations at once; each result is a valuation or an error, in input order."""
    deps = deps_of(request)
    with deps.session() as session:
        items = valuations.value(session, deps.valuations, data.registrations)
    return BatchValuationResponse(results=items)


ROUTES = [value_one, value_batch]
