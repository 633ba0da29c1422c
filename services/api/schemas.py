"""Request and response bodies (msgspec Structs): what the OpenAPI schema documents.

Money is integer pence everywhere (``*_pence``), as in the database; valuations also carry the
valuation service's one-sentence ``explanation`` so a person or an agent can read the number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from services.api.storage import MAX_DOCUMENT_BYTES
from services.core.valuation_wire import MAX_BATCH

MAX_PRICE_PENCE = 100_000_000_00  # £100m: above any mark ever sold; bounds every money input
MIN_OFFER_PENCE = 10_00

RegistrationText = Annotated[str, Meta(min_length=1, max_length=32, description="A UK mark, any spacing or case")]
Pence = Annotated[int, Meta(ge=0, le=MAX_PRICE_PENCE)]


class ValuationView(Struct, kw_only=True):
    registration: str
    estimate_pence: int
    low_pence: int
    high_pence: int
    currency: Literal["GBP"] = "GBP"
    model_version: str
    explanation: str
    weights: dict[str, float] | None = None
    valued_at: datetime | None = None


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


class ReviewRequest(Struct, kw_only=True):
    note: Annotated[str, Meta(max_length=1000)] | None = None


class ClaimRequest(Struct, kw_only=True):
    registration: RegistrationText


class DocumentView(Struct, kw_only=True):
    id: int
    content_type: str
    declared_size_bytes: int
    confirmed_size_bytes: int | None
    status: str
    created_at: datetime


class ClaimView(Struct, kw_only=True):
    id: int
    registration: str
    status: str
    review_note: str | None
    created_at: datetime
    documents: list[DocumentView]


class ClaimList(Struct, kw_only=True):
    items: list[ClaimView]


class DocumentRequest(Struct, kw_only=True):
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    size_bytes: Annotated[int, Meta(ge=1, le=MAX_DOCUMENT_BYTES)]


class UploadInstructions(Struct, kw_only=True):
    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    """Send exactly these headers: they are part of the signature."""
    expires_at: datetime


class DocumentUpload(Struct, kw_only=True):
    document: DocumentView
    upload: UploadInstructions


class WebhookAck(Struct, kw_only=True):
    received: bool
    duplicate: bool
    event_id: str


class CheckResult(Struct, kw_only=True):
    status: Literal["ok", "fail"]
    latency_ms: float
    detail: str | None = None


class DeepHealth(Struct, kw_only=True):
    status: Literal["ok", "fail"]
    checks: dict[str, CheckResult]


class Health(Struct, kw_only=True):
    status: Literal["ok"]


class Version(Struct, kw_only=True):
    version: str
    commit: str
    stage: str
