"""The ``valuations`` cache, read and written the same way from both sides of the API.

``POST /valuations`` (and ``/batch``) reads and writes through its SQLAlchemy session and
``GET /plates/{registration}`` through the read pool's psycopg connection; both answer from the cache when
its valuation is :func:`fresh` and value the mark (invoking the model) only when it is missing, stale or
older than ``VALUATION_MAX_AGE_DAYS``. So the statements are plain psycopg SQL and the parameters come from
one function. Nothing here imports SQLAlchemy.

A result (the valuation service's shape, prices in whole pounds) becomes pence, and ``details`` keeps
what the client is shown besides the numbers: the explanation, the model/rules weights, the drivers
and the comparable past sales the valuation service read (``null`` when it could not read them).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString

import msgspec

from services.api.valuations.schemas import ComparableSale, DriverView, ValuationView
from services.core.registration import Registration

__all__ = ["LATEST_SQL", "STORE_SQL", "fresh", "store_parameters", "view_from_details"]

LATEST_SQL: LiteralString = """
    SELECT DISTINCT ON (registration)
           registration, model_version, estimate_pence, low_pence, high_pence, details, created_at, stale
    FROM valuations WHERE registration = ANY(CAST(%(registrations)s AS varchar[]))
    ORDER BY registration, created_at DESC, id DESC
"""
"""The latest cached valuation of each of ``registrations`` (normalized marks), whatever its model version: the
row the plate lookup reads too (``services.api.plates.service.LOOKUP_SQL``)."""

STORE_SQL: LiteralString = """
    INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence, details)
    VALUES (%(registration)s, %(model_version)s, %(estimate)s, %(low)s, %(high)s, CAST(%(details)s AS jsonb))
    ON CONFLICT (registration, model_version) DO UPDATE
        SET estimate_pence = EXCLUDED.estimate_pence, low_pence = EXCLUDED.low_pence,
            high_pence = EXCLUDED.high_pence, details = EXCLUDED.details, created_at = now()
    RETURNING created_at
"""
"""Cache one valuation (refreshing ``created_at`` clears ``stale``); psycopg's named placeholders."""

_MAX_COMPARABLES = 20
log = logging.getLogger("reggie.api.valuation")


def _drivers(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    kept: list[dict[str, Any]] = []
    for item in raw:  # pyright: ignore[reportUnknownVariableType]
        if isinstance(item, dict) and isinstance(item.get("driver"), str):  # pyright: ignore[reportUnknownMemberType]
            multiplier = item.get("multiplier")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            if isinstance(multiplier, int | float) and not isinstance(multiplier, bool):
                kept.append({"driver": item["driver"], "multiplier": float(multiplier)})
    return kept


def _comparables(raw: Any) -> list[ComparableSale] | None:
    """The comparable sales the valuation service sent (``services.core.valuation_wire.Comparable``, at most
    :data:`_MAX_COMPARABLES`); ``None`` when it sent none (it could not read the sales just then) or a
    shape this API does not know (logged, not fatal: the valuation stands without them)."""
    if not isinstance(raw, list):
        return None
    try:
        return msgspec.convert(raw[:_MAX_COMPARABLES], list[ComparableSale], strict=False)
    except msgspec.ValidationError as exc:
        log.warning("the valuation's comparables were not understood: %s", exc)
        return None


def fresh(*, stale: bool, valued_at: datetime, max_age: timedelta) -> bool:
    """Whether a cached valuation answers as it is: no comparable sale came in after it, and it is younger than
    ``max_age``. Anything else is valued again (and shown ``stale`` only if that fails)."""
    return not stale and valued_at > datetime.now(UTC) - max_age


def store_parameters(mark: Registration, result: dict[str, Any]) -> dict[str, Any]:
    """The :data:`STORE_SQL` parameters of one successful result."""
    estimate, low, high = (int(result[k]) * 100 for k in ("price", "low", "high"))
    weights = result.get("weights") if isinstance(result.get("weights"), dict) else None
    details = {
        "explanation": str(result.get("explanation") or ""),
        "weights": weights,
        "drivers": _drivers(result.get("drivers")),
        "comparables": msgspec.to_builtins(_comparables(result.get("comparables"))),
    }
    return {
        "registration": mark.normalized,
        "model_version": str(result["model_version"])[:64],
        "estimate": estimate,
        "low": min(low, estimate),
        "high": max(high, estimate),
        "details": json.dumps(details),
    }


def view_from_details(
    registration: str,
    *,
    estimate_pence: int,
    low_pence: int,
    high_pence: int,
    model_version: str,
    details: dict[str, Any] | None,
    valued_at: datetime | None,
    stale: bool = False,
) -> ValuationView:
    """The client's view of a cached (or just cached) valuation."""
    found = details or {}
    weights = found.get("weights")
    return ValuationView(
        registration=registration,
        estimate_pence=estimate_pence,
        low_pence=low_pence,
        high_pence=high_pence,
        model_version=model_version,
        explanation=str(found.get("explanation") or ""),
        weights=weights if isinstance(weights, dict) else None,
        drivers=[DriverView(**d) for d in _drivers(found.get("drivers"))],
        comparables=_comparables(found.get("comparables")),
        valued_at=valued_at,
        stale=stale,
    )


def view_from_parameters(registration: str, parameters: dict[str, Any], valued_at: datetime | None) -> ValuationView:
    """The view of what :func:`store_parameters` just cached."""
    return view_from_details(
        registration,
        estimate_pence=parameters["estimate"],
        low_pence=parameters["low"],
        high_pence=parameters["high"],
        model_version=parameters["model_version"],
        details=json.loads(parameters["details"]),
        valued_at=valued_at,
    )
