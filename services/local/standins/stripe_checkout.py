"""The checks Stripe makes on ``POST /v1/checkout/sessions`` (mode ``payment``, inline ``price_data``).

:func:`parse_checkout` takes the decoded form (see :mod:`services.local.standins.stripe_form`) and
returns a :class:`CheckoutRequest` or raises :class:`ParamError` with Stripe's message, ``param`` and
``code`` for the first problem, as Stripe answers one error at a time. What it checks, as Stripe
does: unknown parameters, ``mode``, the URLs, ``line_items`` (each with ``price_data[currency]``,
``price_data[product_data][name]``, an integer ``unit_amount`` >= 0 and an integer ``quantity`` >= 1;
one currency for all), the session's minimum total per currency (GBP 30 pence), ``metadata`` limits
(50 keys, keys up to 40 characters, values up to 500), ``customer_email`` and ``expires_at`` (30
minutes to 24 hours ahead).

Only ``mode=payment`` with ``price_data`` is emulated: a ``price`` id answers "No such price", as
Stripe does for an id it does not know, and the other modes are refused with a message saying the
stand-in does not emulate them, so a test notices instead of passing against behaviour nobody checked.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["MINIMUM_AMOUNT", "CheckoutRequest", "LineItem", "ParamError", "parse_checkout"]

MINIMUM_AMOUNT = {"gbp": 30, "usd": 50, "eur": 50}
"""Stripe's minimum charge per currency, in minor units (the currencies the stand-in knows)."""
_CURRENCY_SYMBOL = {"gbp": "£", "usd": "$", "eur": "€"}

_TOP_LEVEL = frozenset(
    {
        "mode", "line_items", "success_url", "cancel_url", "metadata", "customer_email", "client_reference_id",
        "payment_intent_data", "expires_at", "payment_method_types", "locale", "expand", "submit_type",
        "billing_address_collection", "allow_promotion_codes", "ui_mode",
    }
)  # fmt: skip
_PAYMENT_INTENT_DATA = frozenset({"metadata", "description", "receipt_email", "statement_descriptor"})
_LINE_ITEM = frozenset({"price_data", "quantity", "price"})
_PRICE_DATA = frozenset({"currency", "unit_amount", "product_data", "tax_behavior"})
_PRODUCT_DATA = frozenset({"name", "description", "metadata", "images"})
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_METADATA_KEYS, _METADATA_KEY_CHARS, _METADATA_VALUE_CHARS = 50, 40, 500
_MIN_EXPIRY_S, _MAX_EXPIRY_S = 30 * 60, 24 * 3600


class ParamError(ValueError):
    """A request Stripe refuses with 400 ``invalid_request_error``."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass(frozen=True, slots=True)
class LineItem:
    name: str
    currency: str
    unit_amount: int
    quantity: int


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    line_items: tuple[LineItem, ...]
    currency: str
    amount_total: int
    success_url: str
    cancel_url: str | None
    metadata: dict[str, str]
    payment_intent_metadata: dict[str, str]
    customer_email: str | None
    client_reference_id: str | None
    expires_at: int


def _missing(param: str) -> ParamError:
    return ParamError(f"Missing required param: {param}.", param, "parameter_missing")


def _reject_unknown(value: dict[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for key in value:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise ParamError(f"Received unknown parameter: {name}", name, "parameter_unknown")


def _hash(params: dict[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name, {})
    if not isinstance(value, dict):
        raise ParamError(f"Invalid object: {name} must be a hash.", name, "parameter_invalid_string")
    return value  # pyright: ignore[reportUnknownVariableType]


def _integer(value: Any, param: str, minimum: int) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise ParamError(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    number = int(value)
    if number < minimum:
        raise ParamError(f"This value must be greater than or equal to {minimum}.", param, "parameter_invalid_integer")
    return number


def _url(params: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str) or not _URL.match(value):
        raise ParamError("Not a valid URL", name, "url_invalid")
    return value


def _metadata(params: dict[str, Any], name: str) -> dict[str, str]:
    metadata = _hash(params, name)
    if len(metadata) > _METADATA_KEYS:
        raise ParamError(
            f"Invalid {name}: metadata can have up to {_METADATA_KEYS} keys, but you passed in {len(metadata)} keys.",
            name,
        )
    for key, value in metadata.items():
        if len(key) > _METADATA_KEY_CHARS:
            raise ParamError(
                f"Metadata keys can have up to {_METADATA_KEY_CHARS} characters; {key!r} has {len(key)}.",
                f"{name}[{key}]",
            )
        if not isinstance(value, str):
            raise ParamError(f"Invalid {name}[{key}]: metadata values must be strings.", f"{name}[{key}]")
        if len(value) > _METADATA_VALUE_CHARS:
            raise ParamError(
                f"Metadata values can have up to {_METADATA_VALUE_CHARS} characters, but you passed in a value "
                f"that is {len(value)} characters.",
                f"{name}[{key}]",
            )
    return dict(metadata)


def _line_item(item: Any, index: int) -> LineItem:
    prefix = f"line_items[{index}]"
    if not isinstance(item, dict):
        raise ParamError(f"Invalid object: {prefix} must be a hash.", prefix)
    _reject_unknown(item, _LINE_ITEM, prefix)  # pyright: ignore[reportUnknownArgumentType]
    if "price" in item:
        raise ParamError(f"No such price: '{item['price']}'", f"{prefix}[price]", "resource_missing")
    if "price_data" not in item:
        raise ParamError(f"You must specify either `price` or `price_data` in {prefix}.", prefix)
    price_data = _hash(item, "price_data")  # pyright: ignore[reportUnknownArgumentType]
    _reject_unknown(price_data, _PRICE_DATA, f"{prefix}[price_data]")
    currency = price_data.get("currency")
    if currency is None:
        raise _missing(f"{prefix}[price_data][currency]")
    if not isinstance(currency, str) or currency.lower() not in MINIMUM_AMOUNT:
        raise ParamError(
            f"Invalid currency: {currency}. The stand-in knows {', '.join(sorted(MINIMUM_AMOUNT))}.",
            f"{prefix}[price_data][currency]",
        )
    product = _hash(price_data, "product_data")
    _reject_unknown(product, _PRODUCT_DATA, f"{prefix}[price_data][product_data]")
    name = product.get("name")
    if not isinstance(name, str) or not name:
        raise _missing(f"{prefix}[price_data][product_data][name]")
    if "unit_amount" not in price_data:
        raise _missing(f"{prefix}[price_data][unit_amount]")
    unit_amount = _integer(price_data["unit_amount"], f"{prefix}[price_data][unit_amount]", 0)
    if "quantity" not in item:
        raise _missing(f"{prefix}[quantity]")
    quantity = _integer(item["quantity"], f"{prefix}[quantity]", 1)
    return LineItem(name=name, currency=currency.lower(), unit_amount=unit_amount, quantity=quantity)


def _line_items(params: dict[str, Any]) -> tuple[LineItem, ...]:
    raw = params.get("line_items")
    if raw is None:
        raise ParamError("You must specify `line_items` in `payment` mode.", "line_items", "parameter_missing")
    if not isinstance(raw, list) or not raw:
        raise ParamError("Invalid array", "line_items", "parameter_invalid_empty")
    items = tuple(_line_item(item, index) for index, item in enumerate(raw))  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    if len({item.currency for item in items}) > 1:
        raise ParamError("All line_items must have the same currency.", "line_items")
    return items


def _expires_at(params: dict[str, Any], now: float) -> int:
    if "expires_at" not in params:
        return int(now) + _MAX_EXPIRY_S
    expires_at = _integer(params["expires_at"], "expires_at", 0)
    if not now + _MIN_EXPIRY_S <= expires_at <= now + _MAX_EXPIRY_S:
        raise ParamError(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
            "expires_at",
        )
    return expires_at


def parse_checkout(params: dict[str, Any], *, now: float | None = None) -> CheckoutRequest:
    """Validate a decoded checkout-session form as Stripe does; raise :class:`ParamError` on the first problem."""
    _reject_unknown(params, _TOP_LEVEL, "")
    mode = params.get("mode")
    if mode is None:
        raise _missing("mode")
    if mode not in ("payment", "setup", "subscription"):
        raise ParamError(f"Invalid mode: must be one of payment, setup, or subscription (got {mode!r}).", "mode")
    if mode != "payment":
        raise ParamError(f"The stand-in emulates mode=payment only, not {mode}.", "mode")
    success_url = _url(params, "success_url", required=True)
    assert success_url is not None
    cancel_url = _url(params, "cancel_url", required=False)
    items = _line_items(params)
    currency = items[0].currency
    total = sum(item.unit_amount * item.quantity for item in items)
    minimum = MINIMUM_AMOUNT[currency]
    if total < minimum:
        raise ParamError(
            f"The Checkout Session's total amount due must add up to at least "
            f"{_CURRENCY_SYMBOL[currency]}{minimum / 100:.2f} {currency}",
            "line_items",
            "amount_too_small",
        )
    metadata = _metadata(params, "metadata")
    intent_data = _hash(params, "payment_intent_data")
    _reject_unknown(intent_data, _PAYMENT_INTENT_DATA, "payment_intent_data")
    intent_metadata = _metadata(intent_data, "metadata") if "metadata" in intent_data else {}
    email = params.get("customer_email")
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
        raise ParamError(f"Invalid email address: {email}", "customer_email", "email_invalid")
    reference = params.get("client_reference_id")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 200):
        raise ParamError("client_reference_id can have up to 200 characters.", "client_reference_id")
    return CheckoutRequest(
        line_items=items,
        currency=currency,
        amount_total=total,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata=metadata,
        payment_intent_metadata=intent_metadata,
        customer_email=email,
        client_reference_id=reference,
        expires_at=_expires_at(params, time.time() if now is None else now),
    )
