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
    created_at: datetime
    updated_at: datetime


class OfferList(Struct, kw_only=True):
    items: list[OfferView]
