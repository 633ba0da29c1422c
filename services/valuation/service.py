"""The valuation interface: ``results`` (the wire structs, for the handler) and ``value``/``value_many``.

``results`` answers one :class:`services.core.valuation_wire.ValuationResult` per mark;
``value_many`` is the same as JSON-ready dicts (what in-process callers read), for example::

    {"registration": "AB12 CDE", "price": 1250, "low": 700, "high": 2300, "currency": "GBP",
     "weights": {"model": 0.7, "rules": 0.3}, "explanation": "...", "model_version": "...",
     "drivers": [{"driver": "reading as a name", "multiplier": 2.1}, ...]}

and an invalid mark answers ``{"registration": <input>, "error": {"code": "invalid_registration",
"message": <reason>}}``; nothing here raises for bad input. The artifact loads once, on first use.

``auction_kind`` (``"timed"`` or ``"venue"``) says which kind of auction the value is for; without it
the artifact's default (the timed online auction, where most lots sell) applies. An unknown kind is a
programming error and raises ``ValueError``.

Given ``sales`` (a :class:`~services.valuation.comparables.SalesReader`), each valuation also carries its
``comparables``, the past sales most like the mark (one query for the whole batch); without one, or when
the database does not answer, the field is absent.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec

from services.core.registration import InvalidRegistration
from services.core.valuation_wire import Comparable, Driver, Problem, ValuationResult, Weights
from services.valuation.features import Mark, describe
from services.valuation.model import AUCTION_KINDS, Artifact, Estimate

if TYPE_CHECKING:
    from services.valuation.comparables import SalesReader

__all__ = ["artifact", "results", "value", "value_many"]


@lru_cache(maxsize=1)
def artifact() -> Artifact:
    """The shipped artifact, loaded on first use and kept for the life of the process."""
    return Artifact.load()


def value(registration: str, *, auction_kind: str | None = None) -> dict[str, Any]:
    """Value one registration (see the module docstring for the answer's shape)."""
    return value_many([registration], auction_kind=auction_kind)[0]


def value_many(
    registrations: list[str], *, auction_kind: str | None = None, sales: SalesReader | None = None
) -> list[dict[str, Any]]:
    """:func:`results` as JSON-ready dicts, in input order."""
    found = results(registrations, auction_kind=auction_kind, sales=sales)
    return msgspec.to_builtins(found)  # type: ignore[no-any-return]


def results(
    registrations: list[str], *, auction_kind: str | None = None, sales: SalesReader | None = None
) -> list[ValuationResult]:
    """Value many registrations at once (one batched model pass, one comparables query), answers in input
    order."""
    model = artifact()
    kind = auction_kind or model.default_kind
    if kind not in AUCTION_KINDS:
        raise ValueError(f"auction_kind must be one of {', '.join(AUCTION_KINDS)}, not {auction_kind!r}")
    marks: list[Mark] = []
    answers: list[ValuationResult | None] = []
    for text in registrations:
        try:
            marks.append(describe(text))
            answers.append(None)
        except (InvalidRegistration, TypeError) as exc:
            reason = exc.reason if isinstance(exc, InvalidRegistration) else "a registration must be text"
            shown = text if isinstance(text, str) else repr(text)  # pyright: ignore[reportUnnecessaryIsInstance]
            answers.append(ValuationResult(registration=shown, error=Problem("invalid_registration", reason)))
    estimates = iter(model.estimate(marks, [kind] * len(marks)))
    found = sales.comparables([mark.registration for mark in marks]) if sales is not None and marks else None
    comparables = iter(found if found is not None else [None] * len(marks))
    valid = iter(marks)
    return [
        a if a is not None else _answer(next(valid), next(estimates), model.version, next(comparables)) for a in answers
    ]


def _answer(mark: Mark, e: Estimate, version: str, comparables: list[Comparable] | None) -> ValuationResult:
    price = _round_price(e.price)
    return ValuationResult(
        registration=mark.registration.display,
        price=price,
        low=min(_round_price(e.low), price),
        high=max(_round_price(e.high), price),
        currency="GBP",
        weights=Weights(model=round(e.model_weight, 3), rules=round(1 - e.model_weight, 3)),
        explanation=_explain(mark, e, price),
        model_version=version,
        drivers=[Driver(name, round(factor, 2)) for name, factor in e.drivers],
        comparables=comparables,
    )


def _round_price(value: float) -> int:
    """Whole pounds, to two significant figures above GBP 100 (an estimate, not a quote)."""
    if value < 100:
        return max(1, round(value))
    step = 10 ** (int(math.log10(value)) - 1)
    return round(value / step) * step


_FORMAT_WORDS = {
    "current": "a current-style mark",
    "prefix": "a prefix mark",
    "suffix": "a suffix mark",
    "dateless": "a dateless mark",
    "northern_ireland": "a Northern Irish dateless mark",
}


def _explain(mark: Mark, e: Estimate, price: int) -> str:
    """One sentence naming the main drivers: the format and size, then the strongest multipliers."""
    r = mark.registration
    parts = [f"{_FORMAT_WORDS[mark.fmt]} of {len(r.normalized)} characters"]
    strongest = sorted(e.drivers, key=lambda d: abs(d[1] - 1), reverse=True)[:2]
    parts += [f"{name} (x{factor:.1f})" for name, factor in strongest if abs(factor - 1) >= 0.05]
    if e.model_weight >= 0.2 and abs(e.model_price / e.rules_price - 1) >= 0.25:
        direction = "above" if e.model_price > e.rules_price else "below"
        parts.append(f"past prices of similar letter groups ({direction} the rules' figure)")
    main = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"{r.display} is valued at about GBP {price:,}, driven mainly by {main}."
