"""Stripe Checkout through the official ``stripe`` library: create a session for an offer, read one back, refund.

``stripe`` costs a noticeable import (hundreds of generated modules), so it is imported the first
time a :class:`Payments` actually calls Stripe, never at module import: the API's cold start does not
pay for it, only the checkout and refund paths do, once per process.

Every session carries the offer id three times: ``metadata[offer_id]`` (what the
``checkout.session.*`` webhooks read), ``payment_intent_data[metadata][offer_id]`` (Stripe does not
copy session metadata to the PaymentIntent, and ``payment_intent.succeeded`` carries only the
intent) and ``client_reference_id``. The caller passes the idempotency key, derived from the offer, so
a retried or concurrent checkout for the same offer gets the same session from Stripe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.core.external.errors import PaymentProviderUnavailable, PaymentRejected

if TYPE_CHECKING:
    from stripe import StripeClient

__all__ = ["CheckoutSession", "Payments", "SessionState", "StripeSettings"]

_CURRENCY = re.compile(r"^[a-z]{3}$")
_MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True, slots=True)
class StripeSettings:
    secret_key: str
    """A secret (``sk_``) or restricted (``rk_``) key; test-mode keys for every stage but production."""
    api_base: str = "https://api.stripe.com"
    """The stand-in's ``base_url`` locally and in tests."""
    timeout_s: float = 10.0
    """Per HTTP attempt; the library retries connection failures, 409s and 5xx up to ``max_network_retries``."""
    max_network_retries: int = 2

    def __post_init__(self) -> None:
        if not self.secret_key.startswith(("sk_", "rk_")):
            raise ValueError("stripe secret_key must be a secret (sk_...) or restricted (rk_...) key")
        if not self.api_base.startswith(("https://", "http://")):
            raise ValueError(f"stripe api_base must be an http(s) URL, not {self.api_base!r}")
        if self.timeout_s <= 0 or self.max_network_retries < 0:
            raise ValueError("stripe timeout_s must be positive and max_network_retries not negative")


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str
    """Where to send the buyer (Stripe's hosted payment page)."""
    expires_at: datetime
    """When Stripe expires the session unpaid (24 hours after creation unless asked otherwise)."""


@dataclass(frozen=True, slots=True)
class SessionState:
    """What Stripe says about a session now (for reconciling a webhook against Stripe's own record)."""

    id: str
    status: str
    """``open``, ``complete`` or ``expired``."""
    payment_status: str
    """``paid``, ``unpaid`` (a delayed method may still fail) or ``no_payment_required``."""
    amount_total: int | None
    currency: str | None
    metadata: dict[str, str]
    payment_intent: str | None


class Payments:
    """A Stripe client for one account; thread-safe, one per process."""

    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings
        self._client: StripeClient | None = None
        self._client_lock = threading.Lock()

    def _stripe(self) -> StripeClient:
        with self._client_lock:
            if self._client is None:
                import stripe  # noqa: PLC0415 - see the module docstring: only the payment paths pay for it

                self._client = stripe.StripeClient(
                    self.settings.secret_key,
                    base_addresses={"api": self.settings.api_base},
                    max_network_retries=self.settings.max_network_retries,
                    http_client=stripe.RequestsClient(timeout=self.settings.timeout_s),
                )
            return self._client

    def create_checkout_session(
        self,
        *,
        offer_id: int | str,
        amount_pence: int,
        currency: str,
        buyer_email: str | None,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        item_name: str = "Registration mark",
    ) -> CheckoutSession:
        """A hosted Checkout Session charging ``amount_pence`` (minor units) once, for ``offer_id``."""
        if isinstance(amount_pence, bool) or not isinstance(amount_pence, int) or amount_pence <= 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"amount_pence must be a positive integer, not {amount_pence!r}")
        if not _CURRENCY.match(currency.lower()):
            raise ValueError(f"currency must be a three-letter ISO code, not {currency!r}")
        _check_idempotency_key(idempotency_key)
        reference = str(offer_id)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_pence,
                        "product_data": {"name": item_name},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": reference,
            "metadata": {"offer_id": reference},
            "payment_intent_data": {"metadata": {"offer_id": reference}},
        }
        if buyer_email:
            params["customer_email"] = buyer_email
        with _mapped_errors("create a checkout session"):
            session = self._stripe().v1.checkout.sessions.create(
                params=params,  # pyright: ignore[reportArgumentType]
                options={"idempotency_key": idempotency_key},
            )
        if not session.url:
            raise PaymentProviderUnavailable("Stripe created a checkout session without a payment page URL")
        return CheckoutSession(
            id=session.id, url=session.url, expires_at=datetime.fromtimestamp(session.expires_at, UTC)
        )

    def retrieve_checkout_session(self, session_id: str) -> SessionState:
        with _mapped_errors("read a checkout session"):
            session = self._stripe().v1.checkout.sessions.retrieve(session_id)
        intent, metadata = session.payment_intent, session.metadata
        return SessionState(
            id=session.id,
            status=str(session.status),
            payment_status=str(session.payment_status),
            amount_total=session.amount_total,
            currency=session.currency,
            metadata={str(k): str(v) for k, v in (metadata.to_dict() if metadata else {}).items()},
            payment_intent=intent if isinstance(intent, str) or intent is None else intent.id,
        )

    def refund(self, *, payment_intent: str, amount_pence: int | None, idempotency_key: str) -> str:
        """Refund ``amount_pence`` (all that is left when ``None``) of a PaymentIntent; returns the refund id."""
        _check_idempotency_key(idempotency_key)
        params: dict[str, Any] = {"payment_intent": payment_intent}
        if amount_pence is not None:
            params["amount"] = amount_pence
        with _mapped_errors("refund a payment"):
            refund = self._stripe().v1.refunds.create(
                params=params,  # pyright: ignore[reportArgumentType]
                options={"idempotency_key": idempotency_key},
            )
        return refund.id


def _check_idempotency_key(key: str) -> None:
    if not 0 < len(key) <= _MAX_IDEMPOTENCY_KEY:
        raise ValueError(f"idempotency_key must have 1 to {_MAX_IDEMPOTENCY_KEY} characters")


@contextmanager
def _mapped_errors(action: str) -> Iterator[None]:
    """Turn the library's exceptions into :class:`PaymentRejected` or :class:`PaymentProviderUnavailable`."""
    import stripe  # noqa: PLC0415 - already imported by the client this wraps

    try:
        yield
    except (stripe.InvalidRequestError, stripe.CardError) as exc:
        raise PaymentRejected(
            f"Stripe refused to {action}: {exc.user_message or exc}",
            status=exc.http_status,
            code=exc.code,
            param=exc.param,
        ) from None
    except stripe.IdempotencyError as exc:
        if exc.http_status == 409:  # the first request with the key still running after the library's retries
            raise PaymentProviderUnavailable(
                f"Stripe is still processing an earlier request to {action}; retry", status=409
            ) from None
        raise PaymentRejected(
            f"Stripe refused to {action}: {exc.user_message or exc}", status=exc.http_status, code="idempotency_error"
        ) from None
    except stripe.StripeError as exc:
        # Connection failures and timeouts, 5xx, rate limits, and a key Stripe refuses (401/403).
        raise PaymentProviderUnavailable(
            f"Stripe could not {action}: {type(exc).__name__} {exc.http_status or ''}".rstrip(),
            status=exc.http_status,
            code=exc.code,
        ) from None
