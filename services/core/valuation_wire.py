"""The wire between the API and the valuation function: one request, one answer, one batch limit.

Both sides encode and decode with these structs, so a change to the shape is one change here that
the type checker follows to both ends:

* the API encodes a :class:`ValuationRequest` as the Lambda payload and decodes the function's
  answer as a :class:`ValuationAnswer`, so a malformed answer is refused at the door;
* the valuation handler converts the Lambda event (already JSON-decoded by the runtime) into a
  :class:`ValuationRequest` and answers a :class:`ValuationAnswer` turned into builtins.

The shapes (prices in whole pounds)::

    request  {"registrations": ["AB12 CDE", ...]}          (1 to MAX_BATCH marks)
             {"registration": "AB12 CDE"}                   (one mark, for a person invoking by hand)
    answer   {"results": [<result>, ...]}                   (one per mark, in order)
             {"error": {"code": ..., "message": ...}}       (the event itself was unusable)
    result   {"registration", "price", "low", "high", "currency", "weights": {"model", "rules"},
              "explanation", "model_version", "drivers": [{"driver", "multiplier"}],
              "comparables": [{"registration", "hammer_price_pence", "auction", "auction_id", "lot",
                               "sold_on", "similarity"}]}     (absent when sales could not be read)
             {"registration", "error": {"code", "message"}} (that one mark was refused)

Only msgspec is imported here: the valuation image ships this module beside the parser.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

__all__ = [
    "MAX_BATCH",
    "Comparable",
    "Driver",
    "Problem",
    "ValuationAnswer",
    "ValuationRequest",
    "ValuationResult",
    "Weights",
    "WireError",
    "answer_from_json",
    "request_from_event",
    "request_to_json",
]

MAX_BATCH = 100
"""Registrations per valuation request: the API's batch schema, its client and the handler all use this."""

Price = Annotated[int, Meta(ge=1)]
"""Whole pounds; every valued mark is worth at least one."""


class WireError(ValueError):
    """A request or answer that does not fit the wire; the message says what and where."""


class Problem(Struct, frozen=True):
    code: str
    message: str


class Weights(Struct, frozen=True):
    model: float
    rules: float


class Driver(Struct, frozen=True):
    driver: str
    multiplier: float


class Comparable(Struct, frozen=True, kw_only=True):
    """A past auction sale like the valued mark (same format, close in spelling), most alike first."""

    registration: str
    """As the auction listed it, in its DVLA spacing."""
    hammer_price_pence: Annotated[int, Meta(ge=0)]
    auction: str
    auction_id: str
    lot: int
    sold_on: str | None
    """ISO date of the sale, when the source gives one."""
    similarity: float
    """pg_trgm similarity to the valued mark, 0 to 1 (1: the mark itself sold before)."""


class ValuationResult(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One mark's answer: a valuation, or ``error`` saying why that mark was refused."""

    registration: str
    price: Price | None = None
    low: Price | None = None
    high: Price | None = None
    currency: str | None = None
    weights: Weights | None = None
    explanation: str | None = None
    model_version: str | None = None
    drivers: list[Driver] = []
    comparables: list[Comparable] | None = None
    """Past sales like this mark, most alike first; ``None`` when the sales could not be read (no database
    here, or it did not answer), ``[]`` when none is alike."""
    error: Problem | None = None

    def __post_init__(self) -> None:
        if self.error is not None:
            return
        if self.price is None or self.low is None or self.high is None:
            raise ValueError("a result needs either 'error' or all of 'price', 'low' and 'high'")
        if not self.low <= self.price <= self.high:
            raise ValueError(
                f"a result's range must hold its price: low {self.low}, price {self.price}, high {self.high}"
            )
        if not self.model_version:
            raise ValueError("a valuation needs its 'model_version'")


class ValuationRequest(Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Either ``registrations`` (the API's batch) or ``registration`` (one mark), never both."""

    registrations: Annotated[list[str], Meta(min_length=1, max_length=MAX_BATCH)] | None = None
    registration: str | None = None

    def __post_init__(self) -> None:
        if (self.registrations is None) == (self.registration is None):
            raise ValueError("send either 'registration' (a string) or 'registrations' (a list), exactly one")


class ValuationAnswer(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``results`` (one per requested mark, in order), or ``error`` when the request was unusable."""

    results: list[ValuationResult] | None = None
    error: Problem | None = None

    def __post_init__(self) -> None:
        if (self.results is None) == (self.error is None):
            raise ValueError("an answer carries either 'results' or 'error', exactly one")


def request_from_event(event: object) -> ValuationRequest:
    """The handler's side: the Lambda event (builtins) as a request; :class:`WireError` if it is not one."""
    if not isinstance(event, dict):
        raise WireError("the event must be a JSON object with 'registration' or 'registrations'")
    try:
        return msgspec.convert(event, ValuationRequest)
    except msgspec.ValidationError as exc:
        raise WireError(f"not a valuation request: {exc}") from None


def request_to_json(registrations: list[str]) -> bytes:
    """The API's side: the Lambda payload for a batch."""
    return msgspec.json.encode(ValuationRequest(registrations=registrations))


def answer_from_json(payload: bytes) -> ValuationAnswer:
    """The API's side: the function's answer; :class:`WireError` for bad JSON or a bad shape."""
    try:
        return msgspec.json.decode(payload, type=ValuationAnswer)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError: bad JSON and bad shapes alike
        raise WireError(f"not a valuation answer: {exc}") from None
