"""One JSON error shape for every failure: ``{"status", "code", "message", "details"}``.

Handlers raise :class:`ApiError` (or one of Litestar's HTTP exceptions); the exception handlers
below render them. Anything else that escapes a handler is a bug on our side: it is logged with its
traceback and answered with a generic 500 that leaks nothing, but no input a client can send is
supposed to reach that path (the schemathesis test holds the app to it).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = logging.getLogger("reggie.api")

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


class ErrorBody(msgspec.Struct, kw_only=True):
    """The body of every error response."""

    status: int
    code: str
    """A stable, machine-readable identifier (``invalid_registration``, ``offer_not_open``...)."""
    message: str
    """One plain-English sentence a person or an agent can act on."""
    details: dict[str, Any] | list[Any] | None = None


class ApiError(Exception):
    """An error a client can cause (or a dependency being down), with its status and stable code."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | list[Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found(what: str, details: dict[str, Any] | None = None) -> ApiError:
    return ApiError(404, "not_found", f"{what} was not found.", details)


def _response(body: ErrorBody, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    return Response(body, status_code=body.status, headers=headers, media_type="application/json")


def api_error_handler(_: Request[Any, Any, Any], exc: ApiError) -> Response[ErrorBody]:
    return _response(ErrorBody(status=exc.status, code=exc.code, message=exc.message, details=exc.details))


def http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        # Litestar's own request parsing: the body, the query or a path parameter did not fit.
        return _response(
            ErrorBody(
                status=400,
                code="invalid_request",
                message=_validation_message(exc),
                details=exc.extra if isinstance(exc.extra, list | dict) else None,
            )
        )
    if status >= 500:
        log.error("server error %s: %s", status, exc.detail)
        message = "The server failed to answer this request."
    else:
        message = _sentence(exc.detail) if exc.detail else "The request was refused."
    headers = dict(exc.headers) if exc.headers else None
    return _response(ErrorBody(status=status, code=_CODES.get(status, "error"), message=message), headers)


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(ErrorBody(status=500, code="internal_error", message="The server failed to answer this request."))


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
    ApiError: api_error_handler,
    HTTPException: http_exception_handler,
    Exception: unexpected_error_handler,
}
