"""OpenAPI response declarations shared by the routes: every error is documented with ErrorBody."""

from __future__ import annotations

from litestar.openapi import ResponseSpec

from services.api.errors import ErrorBody

_DESCRIPTIONS = {
    400: "The request is malformed (body, query or path parameter).",
    401: "Not signed in, or the session token was refused.",
    403: "Signed in, but not allowed to do this.",
    404: "No such resource.",
    409: "The resource is not in a state that allows this.",
    413: "The request body is larger than 1 MB.",
    422: "Well-formed but invalid (an invalid registration, an amount out of bounds...).",
    503: "A dependency (database, valuation service, storage, sign-in keys) is unavailable.",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """Error responses for a route: always 400, 413 and 503, plus ``codes``."""
    wanted = sorted({400, 413, 503, *codes})
    return {code: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code]) for code in wanted}


AUTH = (401, 403)
