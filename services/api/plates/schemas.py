"""Plate bodies: one plate as the platform knows it, and a page of search results."""

from __future__ import annotations

from datetime import date, datetime

from msgspec import Struct

from services.api.valuations.schemas import ValuationView


class ListingView(Struct, kw_only=True):
    id: int
    status: str
    asking_price_pence: int
    description: str | None
    listed_at: datetime


class LastSaleView(Struct, kw_only=True):
    auction_name: str
    hammer_price_pence: int | None
    sold: bool
    sold_on: date | None = None
    """The auction date when the source gives one."""


class PlateView(Struct, kw_only=True):
    registration: str
    """The DVLA spacing (``AB12 CDE``)."""
    normalized: str
    format: str
    age_identifier: str | None
    earliest_year: int | None
    """The earliest year of first registration a vehicle carrying the mark may have (``None``: any)."""
    corrections: list[str]
    listing: ListingView | None
    valuation: ValuationView | None
    last_sale: LastSaleView | None
    explanation: str


class PlateSummary(Struct, kw_only=True):
    registration: str
    normalized: str
    format: str
    status: str
    asking_price_pence: int
    listed_at: datetime


class PlatePage(Struct, kw_only=True):
    items: list[PlateSummary]
    page: int
    limit: int
    total: int
    next_page: int | None


class VehicleView(Struct, kw_only=True):
    registration: str
    make: str | None
    first_registered: str
    """``YYYY-MM``, as the DVLA holds it."""
    year_of_manufacture: int | None


class FitView(Struct, kw_only=True):
    """Whether the mark may be assigned to the vehicle under the DVLA's age rule, and why not."""

    registration: str
    vehicle: VehicleView
    fits: bool
    reason: str | None
    """Why not, in one sentence; ``None`` when it fits."""
    earliest_first_registration: str | None
    """``YYYY-MM``: the earliest first registration a vehicle carrying the mark may have (``None``: any)."""
