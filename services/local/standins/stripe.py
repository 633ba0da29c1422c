"""A Stripe API stand-in: Checkout Sessions, their PaymentIntents, refunds and signed webhook events.

Point stripe-python at it with ``stripe.StripeClient(key, base_addresses={"api": running.base_url})``
(or ``stripe.api_base``). It answers what the marketplace calls, checking each request as Stripe does:

* ``Authorization: Bearer <secret key>`` (or HTTP Basic with the key as the user, as ``curl -u``
  sends it) against the configured ``sk_test_`` key: 401 with Stripe's error body otherwise.
* ``POST /v1/checkout/sessions``: the form-encoded body stripe-python sends, validated by
  :mod:`services.local.standins.stripe_checkout`; answers a ``checkout.session`` (``cs_test_...``,
  ``status: "open"``, ``payment_status: "unpaid"``, ``payment_intent: null`` until the buyer pays,
  as on current API versions).
* ``GET /v1/checkout/sessions/{id}``, ``GET /v1/payment_intents/{id}``: 404 ``resource_missing``
  for an unknown id.
* ``POST /v1/refunds``: against a paid session's PaymentIntent, never more than is left.
* ``Idempotency-Key`` as Stripe keeps it (see :mod:`services.local.standins.idempotency`): a retry
  with the same key and parameters gets the saved answer (``Idempotent-Replayed: true``), the key
  with other parameters or another endpoint is a 400 ``idempotency_error``, and a request while the
  first one with its key is still processing is a 409 with ``Stripe-Should-Retry: true`` (the
  library retries it). A request refused by validation saves nothing, as on Stripe.
* anything else: 404 "Unrecognized request URL", Stripe's answer.

What the buyer does on Stripe's page is a test helper here: :meth:`StripeStandin.pay` completes a
session (``paid``, or ``unpaid`` for a delayed method such as Bacs Direct Debit) and
:meth:`StripeStandin.event` builds the webhook event Stripe would send for it, which
:meth:`StripeStandin.sign` signs with the endpoint's ``whsec_`` secret and
:func:`~services.local.standins.stripe_events.deliver` POSTs.

Under ``make dev`` the stand-in knows the API's webhook URL (``webhook_url``): its checkout page
(the session's ``url``) has a *Pay* button, and paying there delivers ``checkout.session.completed``
and ``payment_intent.succeeded`` to the API, signed, as Stripe would, so the whole journey runs locally.
"""

from __future__ import annotations

import base64
import copy
import secrets
import string
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from services.local.standins.idempotency import IdempotencyStore, Outcome
from services.local.standins.server import Reply, Request, Running, Standin, json_reply, serve
from services.local.standins.stripe_checkout import CheckoutRequest, ParamError, parse_checkout
from services.local.standins.stripe_events import SignedDelivery, build_event, deliver, sign_event
from services.local.standins.stripe_form import FormError, decode_form

__all__ = [
    "DEFAULT_SECRET_KEY",
    "DEFAULT_WEBHOOK_SECRET",
    "SESSION_EVENTS",
    "StripeStandin",
    "start_stripe",
]

DEFAULT_SECRET_KEY = "sk_test_reggie_local_0000000000000000"  # noqa: S105 - the stand-in's own test key
DEFAULT_WEBHOOK_SECRET = "whsec_reggie_local_00000000000000000000"  # noqa: S105
SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.succeeded",
)
_ALPHANUMERIC = string.ascii_letters + string.digits
_MAX_IDEMPOTENCY_KEY = 255
_VALIDATION_STATUSES = frozenset({400, 404})
"""Answers Stripe gives before an endpoint starts executing; their idempotency keys are not saved."""


def _object_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def stripe_error(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Stripe's error body: ``{"error": {"message", "type", "code"?, "param"?, "doc_url"?}}``."""
    error: dict[str, Any] = {"message": message, "type": error_type}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    return json_reply(status, {"error": error}, headers)


def _mask(key: str) -> str:
    return key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else "*" * len(key)


class StripeStandin(Standin):
    """Stripe's behaviour for one account (one secret key, one webhook endpoint secret)."""

    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        processing_delay_s: float = 0.0,
        webhook_url: str | None = None,
    ) -> None:
        if not secret_key.startswith(("sk_test_", "rk_test_")):
            raise ValueError("the stand-in takes a test-mode key (sk_test_... or rk_test_...)")
        if not webhook_secret.startswith("whsec_"):
            raise ValueError("a webhook signing secret starts with whsec_")
        super().__init__()
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.processing_delay_s = processing_delay_s
        """How long a POST takes once accepted: a concurrent retry with its key meets the 409 in between."""
        self.webhook_url = webhook_url
        """Where a payment made on the checkout page is reported (the local stack's API)."""
        self._state = threading.Lock()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._intents: dict[str, dict[str, Any]] = {}
        self._refunded: dict[str, int] = {}
        self._idempotency = IdempotencyStore()

    # -- HTTP ------------------------------------------------------------------------------------

    def error_reply(self, status: int) -> Reply:
        if status == 429:
            return stripe_error(429, "Request rate limit exceeded.", code="rate_limit")
        return stripe_error(
            status, "An unknown error occurred", error_type="api_error", headers={"Stripe-Should-Retry": "true"}
        )

    def handle(self, request: Request) -> Reply:
        if request.method == "GET" and request.path.startswith("/c/pay/"):
            return self._checkout_page(request.path.removeprefix("/c/pay/"))
        if request.method == "POST" and request.path.startswith("/c/pay/"):
            return self._pay_on_page(request.path.removeprefix("/c/pay/"))
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        reply = self._route(request)
        headers = {"Request-Id": _object_id("req_", 14), **reply.headers}
        if version := request.header("Stripe-Version"):
            headers["Stripe-Version"] = version
        return Reply(reply.status, reply.body, reply.content_type, headers)

    def _authenticate(self, request: Request) -> Reply | None:
        header = request.header("Authorization") or ""
        key = ""
        if header.startswith("Bearer "):
            key = header.removeprefix("Bearer ").strip()
        elif header.startswith("Basic "):
            try:
                key = base64.b64decode(header.removeprefix("Basic ")).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            return stripe_error(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
                "https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
            )
        if not secrets.compare_digest(key, self.secret_key):
            return stripe_error(401, f"Invalid API Key provided: {_mask(key)}")
        return None

    def _route(self, request: Request) -> Reply:
        method, path = request.method, request.path.rstrip("/")
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._idempotent(request, self._create_session)
        if method == "POST" and path == "/v1/refunds":
            return self._idempotent(request, self._create_refund)
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            return self._retrieve(self._sessions, path.removeprefix("/v1/checkout/sessions/"), "checkout.session")
        if method == "GET" and path.startswith("/v1/payment_intents/"):
            return self._retrieve(self._intents, path.removeprefix("/v1/payment_intents/"), "payment_intent")
        return stripe_error(
            404,
            f"Unrecognized request URL ({method}: {request.path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _idempotent(self, request: Request, operation: Any) -> Reply:
        key = request.header("Idempotency-Key")
        if key is None:
            return operation(request)
        if not 0 < len(key) <= _MAX_IDEMPOTENCY_KEY:
            return stripe_error(
                400,
                f"Invalid idempotency key: it must have between 1 and {_MAX_IDEMPOTENCY_KEY} characters.",
                error_type="idempotency_error",
            )
        # The same parameters in any order are the same request.
        params = sorted(parse_qsl(request.body.decode(errors="replace"), keep_blank_values=True))
        fingerprint = f"{request.path}\n{params!r}"
        claim = self._idempotency.claim(key, fingerprint)
        echo = {"Idempotency-Key": key}
        if claim.outcome is Outcome.REPLAY:
            assert claim.reply is not None
            saved = claim.reply
            return Reply(saved.status, saved.body, headers={**saved.headers, "Idempotent-Replayed": "true"})
        if claim.outcome is Outcome.MISMATCH:
            first_path = (claim.first_fingerprint or "").split("\n", 1)[0]
            if first_path != request.path:
                message = (
                    f"Keys for idempotent requests can only be used for the same endpoint they were first used for "
                    f"('{first_path}' vs '{request.path}'). Try using a key other than '{key}' if you meant to "
                    "execute a different request."
                )
            else:
                message = (
                    "Keys for idempotent requests can only be used with the same parameters they were first used "
                    f"with. Try using a key other than '{key}' if you meant to execute a different request."
                )
            return stripe_error(400, message, error_type="idempotency_error", headers=echo)
        if claim.outcome is Outcome.IN_FLIGHT:
            return stripe_error(
                409,
                "There is currently another in-progress request using this Idempotent Key (that probably means you "
                f"submitted twice, and the other request is still going through): {key}. Please try again later.",
                error_type="idempotency_error",
                headers={**echo, "Stripe-Should-Retry": "true"},
            )
        reply: Reply = stripe_error(500, "An unknown error occurred", error_type="api_error")
        try:
            if self.processing_delay_s:
                time.sleep(self.processing_delay_s)
            answer: Reply = operation(request)
            reply = Reply(answer.status, answer.body, headers={**answer.headers, **echo})
            return reply
        finally:
            self._idempotency.finish(key, reply, save=reply.status not in _VALIDATION_STATUSES)

    def _form(self, request: Request) -> dict[str, Any]:
        content_type = (request.header("Content-Type") or "").split(";")[0].strip()
        if request.body and content_type != "application/x-www-form-urlencoded":
            raise ParamError(
                f"Invalid request: the body must be application/x-www-form-urlencoded, not {content_type or 'unset'}."
            )
        try:
            return decode_form(request.body)
        except FormError as exc:
            raise ParamError(str(exc), exc.param or None) from None

    def _retrieve(self, objects: dict[str, dict[str, Any]], object_id: str, kind: str) -> Reply:
        with self._state:
            found = copy.deepcopy(objects.get(object_id))
        if found is None:
            return stripe_error(404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id")
        return json_reply(200, found)

    # -- Checkout Sessions -----------------------------------------------------------------------

    def _create_session(self, request: Request) -> Reply:
        try:
            checkout = parse_checkout(self._form(request))
        except ParamError as exc:
            return stripe_error(400, exc.message, code=exc.code, param=exc.param)
        host = request.header("Host") or "127.0.0.1"
        session = self._session_object(checkout, host)
        with self._state:
            self._sessions[session["id"]] = session
            return json_reply(200, copy.deepcopy(session))

    @staticmethod
    def _session_object(checkout: CheckoutRequest, host: str) -> dict[str, Any]:
        session_id = _object_id("cs_test_", 58)
        return {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": checkout.amount_total,
            "amount_total": checkout.amount_total,
            "cancel_url": checkout.cancel_url,
            "client_reference_id": checkout.client_reference_id,
            "created": int(time.time()),
            "currency": checkout.currency,
            "customer": None,
            "customer_details": None,
            "customer_email": checkout.customer_email,
            "expires_at": checkout.expires_at,
            "livemode": False,
            "metadata": checkout.metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": checkout.success_url,
            "url": f"http://{host}/c/pay/{session_id}",
            # Not part of Stripe's session object: what the PaymentIntent gets when the buyer pays.
            "_payment_intent_metadata": checkout.payment_intent_metadata,
        }

    def _checkout_page(self, session_id: str) -> Reply:
        with self._state:
            session = self._sessions.get(session_id)
        if session is None:
            return Reply(404, b"<!doctype html><title>Not found</title><p>No such checkout session.", "text/html")
        page = (
            f"<!doctype html><title>Stripe stand-in checkout</title><p>Checkout {session_id}: "
            f"{session['amount_total']} {session['currency']} ({session['status']}, {session['payment_status']})."
        )
        if session["status"] == "open" and self.webhook_url:
            page += f'<form method="post" action="/c/pay/{session_id}"><button>Pay</button></form>'
        return Reply(200, page.encode(), "text/html; charset=utf-8")

    def _pay_on_page(self, session_id: str) -> Reply:
        """The buyer pays on the checkout page: complete the session and report it to ``webhook_url``."""
        if self.webhook_url is None:
            return Reply(404, b"<!doctype html><p>This stand-in has no webhook endpoint to report to.", "text/html")
        try:
            self.pay(session_id)
        except (KeyError, ValueError) as exc:
            return Reply(409, f"<!doctype html><p>Cannot pay: {exc}".encode(), "text/html; charset=utf-8")
        statuses = [
            deliver(self.webhook_url, self.sign(self.event(kind, session_id))).status_code
            for kind in ("checkout.session.completed", "payment_intent.succeeded")
        ]
        page = f"<!doctype html><title>Paid</title><p>Paid; the webhook endpoint answered {statuses}."
        return Reply(200, page.encode(), "text/html; charset=utf-8")

    # -- Refunds ---------------------------------------------------------------------------------

    def _create_refund(self, request: Request) -> Reply:
        try:
            params = self._form(request)
            with self._state:
                refund = self._refund(params)
        except ParamError as exc:
            return stripe_error(400, exc.message, code=exc.code, param=exc.param)
        return json_reply(200, refund)

    def _refund(self, params: dict[str, Any]) -> dict[str, Any]:
        """Refund (part of) a succeeded PaymentIntent; raise :class:`ParamError` as Stripe refuses. Holds ``_state``."""
        for key in params:
            if key not in ("payment_intent", "amount", "reason", "metadata"):
                raise ParamError(f"Received unknown parameter: {key}", key, "parameter_unknown")
        intent_id = params.get("payment_intent")
        if not isinstance(intent_id, str) or not intent_id:
            raise ParamError(
                "One of the following params should be provided for this request: payment_intent or charge.",
                "payment_intent",
                "parameter_missing",
            )
        reason = params.get("reason")
        if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
            raise ParamError("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", "reason")
        intent = self._intents.get(intent_id)
        if intent is None:
            raise ParamError(f"No such payment_intent: '{intent_id}'", "payment_intent", "resource_missing")
        if intent["status"] != "succeeded":
            raise ParamError(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        left = intent["amount_received"] - self._refunded.get(intent_id, 0)
        if left <= 0:
            charge = intent["latest_charge"]
            raise ParamError(f"Charge {charge} has already been refunded.", code="charge_already_refunded")
        raw_amount = params.get("amount")
        amount = left
        if raw_amount is not None:
            if not isinstance(raw_amount, str) or not raw_amount.isdigit() or int(raw_amount) < 1:
                raise ParamError(f"Invalid integer: {raw_amount}", "amount", "parameter_invalid_integer")
            amount = int(raw_amount)
            if amount > left:
                raise ParamError(
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                    "amount",
                    "amount_too_large",
                )
        self._refunded[intent_id] = self._refunded.get(intent_id, 0) + amount
        return {
            "id": _object_id("re_", 24),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "metadata": params.get("metadata", {}),
            "payment_intent": intent_id,
            "reason": reason,
            "status": "succeeded",
        }

    # -- what the buyer and Stripe do, for tests -------------------------------------------------

    @property
    def sessions(self) -> list[dict[str, Any]]:
        """Every session created so far, as Stripe would return them."""
        with self._state:
            return [self._public(session) for session in self._sessions.values()]

    def session(self, session_id: str) -> dict[str, Any]:
        with self._state:
            return self._public(self._sessions[session_id])

    @staticmethod
    def _public(session: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in session.items() if not k.startswith("_")}

    def pay(self, session_id: str, *, payment_status: str = "paid") -> dict[str, Any]:
        """The buyer completes the session: ``paid`` (card) or ``unpaid`` (a delayed method still processing).

        Creates the session's PaymentIntent (its metadata is ``payment_intent_data[metadata]``, as on
        Stripe: the session's own metadata is not copied) and returns the completed session.
        """
        if payment_status not in ("paid", "unpaid"):
            raise ValueError("payment_status is 'paid' or 'unpaid'")
        with self._state:
            session = self._sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}, not open")
            intent_id = _object_id("pi_", 24)
            succeeded = payment_status == "paid"
            self._intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"] if succeeded else 0,
                "currency": session["currency"],
                "created": int(time.time()),
                "latest_charge": _object_id("ch_", 24),
                "livemode": False,
                "metadata": dict(session["_payment_intent_metadata"]),
                "status": "succeeded" if succeeded else "processing",
            }
            session.update(status="complete", payment_status=payment_status, payment_intent=intent_id)
            return self._public(session)

    def settle(self, session_id: str, *, succeeded: bool) -> dict[str, Any]:
        """A delayed payment finishes: the session becomes ``paid`` (or stays ``unpaid`` when it failed)."""
        with self._state:
            session = self._sessions[session_id]
            intent = self._intents[session["payment_intent"]]
            if succeeded:
                session["payment_status"] = "paid"
                intent.update(status="succeeded", amount_received=intent["amount"])
            else:
                intent["status"] = "requires_payment_method"
            return self._public(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        with self._state:
            session = self._sessions[session_id]
            session["status"] = "expired"
            return self._public(session)

    def event(self, event_type: str, session_id: str, **overrides: Any) -> dict[str, Any]:
        """The event Stripe sends for ``session_id`` in its current state; ``overrides`` forge fields of the object.

        ``payment_intent.succeeded`` carries the session's PaymentIntent, the other types the session.
        Call :meth:`pay` (and :meth:`settle`) first, as Stripe sends these only after the buyer acts.
        """
        if event_type not in SESSION_EVENTS:
            raise ValueError(f"event_type is one of {', '.join(SESSION_EVENTS)}")
        with self._state:
            session = self._sessions[session_id]
            if event_type == "payment_intent.succeeded":
                if session["payment_intent"] is None:
                    raise ValueError(f"session {session_id} has no PaymentIntent yet: pay() it first")
                obj = copy.deepcopy(self._intents[session["payment_intent"]])
            else:
                obj = self._public(session)
        obj.update(overrides)
        return build_event(event_type, obj)

    def sign(self, event: dict[str, Any], *, timestamp: int | None = None, secret: str | None = None) -> SignedDelivery:
        """The delivery Stripe would POST (signed with the endpoint secret, or ``secret`` to forge one)."""
        return sign_event(event, secret or self.webhook_secret, timestamp=timestamp)


def start_stripe(
    *,
    secret_key: str = DEFAULT_SECRET_KEY,
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    webhook_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Running[StripeStandin]:
    """Serve a Stripe stand-in on loopback; ``.base_url`` is the library's ``api`` base address, ``.stop()`` ends it."""
    standin = StripeStandin(secret_key=secret_key, webhook_secret=webhook_secret, webhook_url=webhook_url)
    return serve(standin, host=host, port=port)
