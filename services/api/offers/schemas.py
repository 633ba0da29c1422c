"""Offer bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from services.api.schemas import MAX_PRICE_PENCE, RegistrationText

MIN_OFFER_PENCE = 10_00


class OfferRequest(Struct, kw_only=True):
    registration: RegistrationText
    amount_pence: Annotated[int, Meta(ge=MIN_OFFER_PENCE, le=MAX_PRICE_PENCE)]


class OfferView(Struct, kw_only=True):
    id: int
    registration: str
    amount_pence: int
    status: str
    """``open``, ``withdrawn``, ``accepted``, ``rejected``, ``declined``, ``payment_pending``, ``lapsed``, ``paid``."""
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None = None
    lapses_at: datetime | None = None
    """An accepted offer unpaid by then lapses and the plate is listed again."""
    paid_at: datetime | None = None


class CheckoutView(Struct, kw_only=True):
    """Where the buyer pays: Stripe's hosted Checkout page for this offer."""

    offer_id: int
    session_id: str
    url: str
    expires_at: datetime


class OfferList(Struct, kw_only=True):
    items: list[OfferView]
    next_cursor: str | None = None
    """Pass it as ``cursor`` for the next page; ``None`` on the last."""
