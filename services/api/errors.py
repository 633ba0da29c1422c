"""Domain errors: what domain code raises when a request cannot be served, in the domain's words.

Each kind says what went wrong, never how HTTP spells it; :mod:`services.api.http_errors` maps each
kind to its status and renders every one in the API's single error shape. Every error carries a
stable machine-readable ``code`` (``offer_exists``, ``plate_not_listed``...), one plain-English
``message`` a person or an agent can act on, and optional ``details``.

:class:`Unavailable` is the odd one out: a dependency (database, storage, valuation service, sign-in
keys) being down or unconfigured. Its ``message`` is ours and public; what actually broke (a driver's
error text, a host name) goes in ``reason``, which is logged and never sent.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "Malformed",
    "NotFound",
    "Unauthenticated",
    "Unavailable",
    "first_line",
]

Details = dict[str, Any] | list[Any] | None


class DomainError(Exception):
    """Something a client caused (or a dependency being down), with a stable code and one sentence."""

    default_code: ClassVar[str] = "error"
    """The code used when the raiser names none."""

    def __init__(self, message: str, *, code: str | None = None, details: Details = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details


class Malformed(DomainError):
    """The request cannot be read: a body that is not JSON, a webhook signature that does not match."""

    default_code = "bad_request"


class Unauthenticated(DomainError):
    """No credentials, or credentials that were refused."""

    default_code = "invalid_token"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    default_code = "forbidden"


class NotFound(DomainError):
    """No such thing, or none the caller may see."""

    default_code = "not_found"


class Conflict(DomainError):
    """The thing exists but its state does not allow this (already open, already reviewed...)."""

    default_code = "conflict"


class Invalid(DomainError):
    """Well-formed but not acceptable: an invalid registration, an amount out of bounds."""

    default_code = "invalid"


class Unavailable(DomainError):
    """A dependency is down or not configured. ``message`` is public; ``reason`` is only logged."""

    default_code = "service_unavailable"
    default_message: ClassVar[str] = "A service this request needs is not answering right now."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, reason: str | None = None, details: Details = None
    ) -> None:
        super().__init__(message or self.default_message, code=code, details=details)
        self.reason = reason or self.message

    def __str__(self) -> str:
        return self.reason


def first_line(exc: BaseException) -> str:
    """What ``exc`` says, in one line (for logs and ``reason``; its type's name when it says nothing)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
