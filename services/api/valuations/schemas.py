"""Valuation bodies: one mark, a batch of up to 100, and the valuation every plate view carries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from services.api.schemas import RegistrationText
from services.core.valuation_wire import MAX_BATCH


class DriverView(Struct, kw_only=True):
    """One thing that moved the value, and by what factor (``reading as a name``, 2.1)."""

    driver: str
    multiplier: float


class ComparableSale(Struct, kw_only=True):
    """A past auction sale like the valued mark: same format, close in spelling, the mark itself first."""

    registration: str
    hammer_price_pence: int
    auction: str
    auction_id: str
    lot: int
    sold_on: date | None = None
    similarity: float
    """Trigram similarity to the valued mark, 0 to 1."""


class ValuationView(Struct, kw_only=True):
    """A valuation in pence, with the valuation service's one-sentence ``explanation`` and the past sales
    it can be compared with (``comparables``: null when the sales could not be read just then)."""

    registration: str
    estimate_pence: int
    low_pence: int
    high_pence: int
    currency: Literal["GBP"] = "GBP"
    model_version: str
    explanation: str
    weights: dict[str, float] | None = None
    drivers: list[DriverView] = []
    comparables: list[ComparableSale] | None = None
    valued_at: datetime | None = None
    stale: bool = False
    """A cached valuation older than a comparable sale or ``VALUATION_MAX_AGE_DAYS``, shown because the
    valuation service could not value the mark again just now."""


class ValuationRequest(Struct, kw_only=True):
    registration: RegistrationText


class BatchValuationRequest(Struct, kw_only=True):
    registrations: Annotated[list[str], Meta(min_length=1, max_length=MAX_BATCH)]
    """Each item any spacing or case; an invalid item comes back as an error in its slot."""


class ItemError(Struct, kw_only=True):
    code: str
    message: str


class BatchItem(Struct, kw_only=True):
    input: str
    valuation: ValuationView | None = None
    error: ItemError | None = None


class BatchValuationResponse(Struct, kw_only=True):
    results: list[BatchItem]
