"""The one place domain errors meet HTTP: each kind's status, the JSON error shape
``{"status", "code", "message", "details", "request_id"}``, the exception handlers that render it, and
the OpenAPI declarations of the error responses.

Anything that escapes a handler without being a domain error or one of Litestar's HTTP exceptions is
a bug on our side, except the database refusing a value or being unreachable, which
:func:`services.api.database.as_domain_error` recognises. A bug is logged with its traceback and
answered with a generic 500 that leaks nothing but the request id the log line carries; no input a
client can send is supposed to reach that path (the schemathesis test holds the app to it).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.types import Scope

from services.api.database import as_domain_error
from services.api.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from services.api.request_ids import request_id_of

log = logging.getLogger("reggie.api")

STATUS: dict[type[DomainError], int] = {
    Malformed: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Unavailable: 503,
}
"""The HTTP status of each kind of domain error (a subclass answers as its nearest listed base)."""

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
"""Codes for Litestar's own HTTP errors (routing, body size), which carry only a status."""

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

ANY_REQUEST_ERRORS = (400, 413, 503)
"""What any request may meet: a malformed request, a body over the limit, a dependency down."""
SIGNED_IN_ERRORS = (401, 403)
"""What a request to a route with bearer security may meet besides."""


class ErrorBody(msgspec.Struct, kw_only=True):
    """The body of every error response."""

    status: int
    code: str
    """A stable, machine-readable identifier (``invalid_registration``, ``offer_not_open``...)."""
    message: str
    """One plain-English sentence a person or an agent can act on."""
    details: dict[str, Any] | list[Any] | None = None
    request_id: str | None = None
    """The request's id (also its ``X-Request-Id`` header), to quote when reporting a problem."""


def status_of(kind: type[DomainError]) -> int:
    return next(STATUS[base] for base in kind.__mro__ if base in STATUS)


def errors(*kinds: type[DomainError]) -> dict[int, ResponseSpec]:
    """The OpenAPI error responses of a route that raises ``kinds`` (see :func:`responses`)."""
    return responses(*(status_of(kind) for kind in kinds))


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """Error responses documented with :class:`ErrorBody`, for ``statuses``."""
    return {
        status: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[status])
        for status in sorted(set(statuses))
    }


def _response(scope: Scope, body: ErrorBody, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    body.request_id = request_id_of(scope)
    return Response(body, status_code=body.status, headers=headers, media_type="application/json")


def render(scope: Scope, error: DomainError) -> Response[ErrorBody]:
    """The response to ``error`` in the request of ``scope``."""
    status = status_of(type(error))
    if isinstance(error, Unavailable):
        log.warning("%s [request %s]: %s", error.code, request_id_of(scope), error.reason)
    return _response(scope, ErrorBody(status=status, code=error.code, message=error.message, details=error.details))


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[ErrorBody]:
    return render(request.scope, exc)


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        # Litestar's own request parsing: the body, the query or a path parameter did not fit.
        return _response(
            request.scope,
            ErrorBody(
                status=400,
                code="invalid_request",
                message=_validation_message(exc),
                details=exc.extra if isinstance(exc.extra, list | dict) else None,
            ),
        )
    if status >= 500:
        log.error("server error %s [request %s]: %s", status, request_id_of(request.scope), exc.detail)
        message = "The server failed to answer this request."
    else:
        message = _sentence(exc.detail) if exc.detail else "The request was refused."
    headers = dict(exc.headers) if exc.headers else None
    body = ErrorBody(status=status, code=_CODES.get(status, "error"), message=message)
    return _response(request.scope, body, headers)


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    known = as_domain_error(exc)
    if known is not None:
        return render(request.scope, known)
    log.exception(
        "unhandled error on %s %s [request %s]",
        request.method,
        request.url.path,
        request_id_of(request.scope),
        exc_info=exc,
    )
    body = ErrorBody(status=500, code="internal_error", message="The server failed to answer this request.")
    return _response(request.scope, body)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first: dict[str, Any] = extra[0]  # pyright: ignore[reportUnknownVariableType]
        key = first.get("key")
        text = str(first.get("message", "is invalid"))
        return _sentence(f"{key}: {text}" if key else text)
    return _sentence(str(exc.detail) or "The request is malformed")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_exception_handler,
    Exception: unexpected_error_handler,
}
