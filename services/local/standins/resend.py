"""A Resend API stand-in: ``POST /emails`` checked as Resend checks it, and every accepted email kept.

The official ``resend`` library reads its base URL from ``resend.api_url`` (initialised from the
``RESEND_API_URL`` environment variable): set it to ``running.base_url``. What it checks, with
Resend's error body ``{"statusCode", "message", "name"}``:

* ``Authorization: Bearer re_...``: missing is 401 ``missing_api_key``; another key is 401
  ``validation_error`` "API key is invalid" (what the sending endpoints answer).
* the body: JSON; ``from`` (``a@b.c`` or ``Name <a@b.c>``), ``to`` (one address or up to 50),
  ``subject`` and ``html`` or ``text`` are required (422 ``missing_required_field`` when absent, 422
  ``validation_error`` when malformed); ``cc``, ``bcc``, ``reply_to`` addresses and ``tags`` (ASCII
  letters, digits, ``_`` and ``-``) are checked when present. With ``verified_domains`` set, a sender
  on another domain is a 403 ``validation_error``, as for an unverified domain.
* ``Idempotency-Key`` (1 to 256 characters, else 400 ``invalid_idempotency_key``): the same key and
  body get the first answer (the same email id, nothing sent twice); the key with a different body is
  409 ``invalid_idempotent_request``; while the first request is in progress, 409
  ``concurrent_idempotent_requests``.

Accepted emails are kept in order: :attr:`ResendStandin.emails` for tests, ``GET /emails`` and
``GET /emails/{id}`` in Resend's shapes for anything that reads them over HTTP (``GET /dev/emails``).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from services.local.standins.idempotency import IdempotencyStore, Outcome
from services.local.standins.server import Reply, Request, Running, Standin, json_reply, serve

__all__ = ["DEFAULT_API_KEY", "ResendStandin", "start_resend"]

DEFAULT_API_KEY = "re_reggie_local_000000000000"  # the stand-in's own key
_MAX_RECIPIENTS = 50
_MAX_IDEMPOTENCY_KEY = 256
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_NAMED_ADDRESS = re.compile(r"^[^<>]*<([^@\s<>]+@[^@\s<>]+\.[^@\s<>]+)>$")
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_ADDRESS_FORMAT = "The email address needs to follow the `email@example.com` or `Name <email@example.com>` format."


class _Invalid(ValueError):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


def resend_error(status: int, name: str, message: str) -> Reply:
    return json_reply(status, {"statusCode": status, "message": message, "name": name})


def _address(value: str) -> str | None:
    """The bare address in ``a@b.c`` or ``Name <a@b.c>``, or ``None`` when it is neither."""
    value = value.strip()
    if _ADDRESS.match(value):
        return value
    named = _NAMED_ADDRESS.match(value)
    return named.group(1) if named else None


def _addresses(body: dict[str, Any], field: str, *, required: bool) -> list[str]:
    raw = body.get(field)
    if raw in (None, "", []):
        if required:
            raise _Invalid(422, "missing_required_field", f"Missing `{field}` field.")
        return []
    values: list[Any] = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else [None]  # pyright: ignore[reportUnknownVariableType]
    if len(values) > _MAX_RECIPIENTS:
        raise _Invalid(422, "validation_error", f"Too many recipients in `{field}`: the maximum is {_MAX_RECIPIENTS}.")
    for value in values:
        if not isinstance(value, str) or _address(value) is None:
            raise _Invalid(422, "validation_error", f"Invalid `{field}` field. {_ADDRESS_FORMAT}")
    return [str(v) for v in values]


class ResendStandin(Standin):
    """Resend's sending API for one API key; ``verified_domains`` empty means any sender domain is verified."""

    name = "resend"

    def __init__(
        self, *, api_key: str = DEFAULT_API_KEY, verified_domains: tuple[str, ...] = (), processing_delay_s: float = 0.0
    ) -> None:
        if not api_key.startswith("re_"):
            raise ValueError("a Resend API key starts with re_")
        super().__init__()
        self.api_key = api_key
        self.verified_domains = tuple(d.lower() for d in verified_domains)
        self.processing_delay_s = processing_delay_s
        self._state = threading.Lock()
        self._emails: list[dict[str, Any]] = []
        self._idempotency = IdempotencyStore()

    # -- HTTP ------------------------------------------------------------------------------------

    def error_reply(self, status: int) -> Reply:
        if status == 429:
            return resend_error(
                429, "rate_limit_exceeded", "Too many requests. You can only make 2 requests per second."
            )
        return resend_error(status, "application_error", "An unexpected error occurred, please try again later.")

    def handle(self, request: Request) -> Reply:
        header = request.header("Authorization") or ""
        key = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not key:
            return resend_error(401, "missing_api_key", "Missing API key in the authorization header")
        if not secrets.compare_digest(key, self.api_key):
            return resend_error(401, "validation_error", "API key is invalid")
        return self._route(request)

    def _route(self, request: Request) -> Reply:
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/emails":
            return self._send(request)
        if request.method == "GET" and path == "/emails":
            with self._state:
                listed = [self._summary(e) for e in reversed(self._emails)]
            return json_reply(200, {"object": "list", "has_more": False, "data": listed})
        if request.method == "GET" and path.startswith("/emails/"):
            email_id = path.removeprefix("/emails/")
            with self._state:
                found = next((e for e in self._emails if e["id"] == email_id), None)
            if found is None:
                return resend_error(404, "not_found", "Email not found")
            return json_reply(200, {"object": "email", **self._public(found)})
        return resend_error(404, "not_found", "The requested endpoint does not exist.")

    def _send(self, request: Request) -> Reply:
        key = request.header("Idempotency-Key")
        if key is None:
            return self._accept(request, None)
        if not 0 < len(key) <= _MAX_IDEMPOTENCY_KEY:
            return resend_error(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
        try:
            fingerprint = json.dumps(request.json(), sort_keys=True)
        except ValueError:
            fingerprint = request.body.decode(errors="replace")
        claim = self._idempotency.claim(key, fingerprint)
        if claim.outcome is Outcome.REPLAY:
            assert claim.reply is not None
            return claim.reply
        if claim.outcome is Outcome.MISMATCH:
            return resend_error(
                409, "invalid_idempotent_request", "Same idempotency key used with a different request payload."
            )
        if claim.outcome is Outcome.IN_FLIGHT:
            return resend_error(
                409,
                "concurrent_idempotent_requests",
                "Same idempotency key used while original request is still in progress.",
            )
        reply = resend_error(500, "application_error", "An unexpected error occurred, please try again later.")
        try:
            if self.processing_delay_s:
                time.sleep(self.processing_delay_s)
            reply = self._accept(request, key)
            return reply
        finally:
            # A refused email saves nothing: it can be fixed and sent again with the same key.
            self._idempotency.finish(key, reply, save=reply.status == 200)

    def _accept(self, request: Request, idempotency_key: str | None) -> Reply:
        try:
            email = self._validate(request)
        except _Invalid as exc:
            return resend_error(exc.status, exc.name, exc.message)
        email.update(
            id=str(uuid.uuid4()),
            created_at=datetime.now(UTC).isoformat(),
            last_event="delivered",
            idempotency_key=idempotency_key,
        )
        with self._state:
            self._emails.append(email)
        return json_reply(200, {"id": email["id"]})

    def _validate(self, request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise _Invalid(422, "validation_error", "The body must be a JSON object.") from None
        if not isinstance(body, dict):
            raise _Invalid(422, "validation_error", "The body must be a JSON object.")
        sender = body.get("from")
        if sender is None or sender == "":
            raise _Invalid(422, "missing_required_field", "Missing `from` field.")
        address = _address(sender) if isinstance(sender, str) else None
        if address is None:
            raise _Invalid(422, "validation_error", f"Invalid `from` field. {_ADDRESS_FORMAT}")
        domain = address.rsplit("@", 1)[1].lower()
        if self.verified_domains and domain not in self.verified_domains:
            raise _Invalid(
                403,
                "validation_error",
                f"The {domain} domain is not verified. Please, add and verify your domain on https://resend.com/domains",
            )
        to = _addresses(body, "to", required=True)  # pyright: ignore[reportUnknownArgumentType]
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            raise _Invalid(422, "missing_required_field", "Missing `subject` field.")
        html, text = body.get("html"), body.get("text")
        if not (isinstance(html, str) and html) and not (isinstance(text, str) and text):
            raise _Invalid(422, "validation_error", "Missing `html` or `text` field.")
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(
            isinstance(t, dict) and _TAG.match(str(t.get("name", ""))) and _TAG.match(str(t.get("value", "")))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
            for t in tags  # pyright: ignore[reportUnknownVariableType]
        ):
            raise _Invalid(
                422, "validation_error", "Tags should only contain ASCII letters, numbers, underscores, or dashes."
            )
        return {
            "from": sender,
            "to": to,
            "subject": subject,
            "html": html,
            "text": text,
            "cc": _addresses(body, "cc", required=False),  # pyright: ignore[reportUnknownArgumentType]
            "bcc": _addresses(body, "bcc", required=False),  # pyright: ignore[reportUnknownArgumentType]
            "reply_to": _addresses(body, "reply_to", required=False),  # pyright: ignore[reportUnknownArgumentType]
            "tags": tags,
            "headers": body.get("headers") or {},
        }

    # -- for tests and GET /dev/emails -----------------------------------------------------------

    @staticmethod
    def _public(email: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in email.items() if k != "idempotency_key"}

    @staticmethod
    def _summary(email: dict[str, Any]) -> dict[str, Any]:
        fields = ("id", "to", "from", "created_at", "subject", "bcc", "cc", "reply_to", "last_event")
        return {k: email[k] for k in fields}

    @property
    def emails(self) -> list[dict[str, Any]]:
        """Every accepted email, oldest first, with the idempotency key it was sent under."""
        with self._state:
            return [dict(e) for e in self._emails]

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        """The accepted emails with ``address`` among their ``to`` recipients (bare or ``Name <...>``)."""
        wanted = address.lower()
        return [e for e in self.emails if any((_address(t) or "").lower() == wanted for t in e["to"])]


def start_resend(
    *, api_key: str = DEFAULT_API_KEY, verified_domains: tuple[str, ...] = (), host: str = "127.0.0.1", port: int = 0
) -> Running[ResendStandin]:
    """Serve a Resend stand-in on loopback; set ``resend.api_url`` (or ``RESEND_API_URL``) to ``.base_url``."""
    return serve(ResendStandin(api_key=api_key, verified_domains=verified_domains), host=host, port=port)
