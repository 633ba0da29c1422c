"""Listing bodies: a seller's plate for sale, its price and description."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from services.api.offers.schemas import MIN_OFFER_PENCE, OfferView
from services.api.schemas import MAX_PRICE_PENCE, RegistrationText

AskingPrice = Annotated[int, Meta(ge=MIN_OFFER_PENCE, le=MAX_PRICE_PENCE, description="Pence, £10 to £100m")]
Description = Annotated[str, Meta(max_length=2000)]


class ListingRequest(Struct, kw_only=True):
    registration: RegistrationText
    asking_price_pence: AskingPrice
    description: Description | None = None


class ListingChange(Struct, kw_only=True):
    """What to change; a field left out stays as it is."""

    asking_price_pence: AskingPrice | None = None
    description: Description | None = None


class ListingView(Struct, kw_only=True):
    id: int
    registration: str
    status: str
    """``listed``, ``under_offer``, ``sold``, ``withdrawn`` (by the seller) or ``unlisted`` (by an administrator)."""
    asking_price_pence: int
    description: str | None
    listed_at: datetime
    updated_at: datetime


class ListingList(Struct, kw_only=True):
    items: list[ListingView]


class ListingOffers(Struct, kw_only=True):
    listing: ListingView
    offers: list[OfferView]
