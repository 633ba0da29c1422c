"""Valuation bodies: one mark, a batch of up to 100, and the valuation every plate view carries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from services.api.schemas import RegistrationText
from services.core.valuation_wire import MAX_BATCH


class DriverView(Struct, kw_only=True):
    """One thing that moved the value, and by what factor (``reading as a name``, 2.1)."""

    driver: str
    multiplier: float


class ComparableView(Struct, kw_only=True):
    """A past auction sale of a similar mark."""

    registration: str
    price_pence: int
    auction: str | None = None
    sold_on: str | None = None
    """``YYYY-MM-DD`` when the source dates it."""
    similarity: float | None = None


class ValuationView(Struct, kw_only=True):
    """A valuation in pence, with the valuation service's one-sentence ``explanation``, what drove it
    and, when the valuation service finds them, comparable past sales."""

    registration: str
    estimate_pence: int
    low_pence: int
    high_pence: int
    currency: Literal["GBP"] = "GBP"
    model_version: str
    explanation: str
    weights: dict[str, float] | None = None
    drivers: list[DriverView] = []
    comparables: list[ComparableView] = []
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
