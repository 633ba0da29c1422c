"""Email through the official ``resend`` library, with Resend's idempotency key.

The library keeps its configuration in module globals (``resend.api_key``, ``resend.api_url``,
``resend.default_http_client``), so :class:`Mailer` sets them and sends under one process-wide lock:
two mailers with different settings (a test and the app, say) never send with each other's key.
Sending is the outbox sender's job, one email at a time, so the lock costs nothing in practice.

Every send passes an idempotency key (the outbox row's), so a sender that crashes after Resend
accepted an email and before it recorded that, then sends again, gets the same email id back instead
of a second email. Resend keeps keys for 24 hours, far longer than the sender's retry window.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.core.external.errors import EmailRejected, EmailUnavailable

__all__ = ["Mailer", "ResendSettings"]

_LIBRARY_GLOBALS = threading.Lock()
_MAX_IDEMPOTENCY_KEY = 256


@dataclass(frozen=True, slots=True)
class ResendSettings:
    api_key: str
    sender: str
    """The ``from`` of every email, ``Name <address>`` on a domain verified in Resend."""
    api_url: str = "https://api.resend.com"
    """The stand-in's ``base_url`` locally and in tests."""
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.api_key.startswith("re_"):
            raise ValueError("resend api_key must be a Resend API key (re_...)")
        if "@" not in self.sender:
            raise ValueError(f"resend sender must be an address or 'Name <address>', not {self.sender!r}")
        if not self.api_url.startswith(("https://", "http://")):
            raise ValueError(f"resend api_url must be an http(s) URL, not {self.api_url!r}")
        if self.timeout_s <= 0:
            raise ValueError("resend timeout_s must be positive")


class Mailer:
    """Sends one email per call through Resend; thread-safe."""

    def __init__(self, settings: ResendSettings) -> None:
        self.settings = settings
        self._http_client: Any = None

    def send_email(
        self,
        *,
        to: str | Sequence[str],
        subject: str,
        html: str,
        text: str | None = None,
        idempotency_key: str,
        reply_to: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        """Send one email; returns Resend's email id (the same id again for a retry with the same key)."""
        if not 0 < len(idempotency_key) <= _MAX_IDEMPOTENCY_KEY:
            raise ValueError(f"idempotency_key must have 1 to {_MAX_IDEMPOTENCY_KEY} characters")
        recipients = [to] if isinstance(to, str) else list(to)
        if not recipients:
            raise ValueError("an email needs at least one recipient")
        params: dict[str, Any] = {"from": self.settings.sender, "to": recipients, "subject": subject, "html": html}
        if text is not None:
            params["text"] = text
        if reply_to is not None:
            params["reply_to"] = reply_to
        if tags:
            params["tags"] = [{"name": name, "value": value} for name, value in tags.items()]
        import resend  # noqa: PLC0415 - only the outbox sender pays for the library (and requests)
        from resend.exceptions import ResendError  # noqa: PLC0415

        with _LIBRARY_GLOBALS:
            if self._http_client is None:
                self._http_client = resend.RequestsClient(timeout=self.settings.timeout_s)  # pyright: ignore[reportArgumentType]
            resend.api_key = self.settings.api_key
            resend.api_url = self.settings.api_url
            resend.default_http_client = self._http_client
            try:
                sent = resend.Emails.send(params, {"idempotency_key": idempotency_key})  # pyright: ignore[reportArgumentType]
            except ResendError as exc:
                raise _domain_error(exc) from None
        email_id = sent.get("id") if isinstance(sent, dict) else None  # pyright: ignore[reportUnnecessaryIsInstance]
        if not isinstance(email_id, str) or not email_id:
            raise EmailUnavailable("Resend accepted the email but answered without an id")
        return email_id


def _domain_error(exc: Any) -> EmailRejected | EmailUnavailable:
    """Resend's error (``code`` is its HTTP status, ``error_type`` its error name) as a domain error.

    Worth retrying: 5xx, timeouts and connection failures (the library reports them as 500
    ``HttpClientError``), rate limits, a concurrent request with the same key, and our key or sender
    domain refused (401/403: the email is fine, the configuration is not, and it must not be lost
    while an operator fixes it). Everything else (400, 409 for a key reused with another body, 422)
    will fail the same way again.
    """
    try:
        status = int(exc.code)
    except (TypeError, ValueError):
        status = 500
    name = str(exc.error_type)
    message = f"Resend answered {status} {name}: {exc.message}"
    if status >= 500 or status in (401, 403, 429) or name == "concurrent_idempotent_requests":
        return EmailUnavailable(message, status=status, code=name)
    return EmailRejected(message, status=status, code=name)
