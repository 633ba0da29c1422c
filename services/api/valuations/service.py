"""Valuations: ask the valuation service, cache each result in ``valuations``, answer in pence."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.api.errors import ApiError
from services.api.schemas import BatchItem, ItemError, ValuationView
from services.api.valuation_client import ValuationClient, ValuationUnavailable
from services.core.registration import InvalidRegistration, Registration, parse

_STORE = text(
    """
    INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence, details)
    VALUES (:registration, :model_version, :estimate, :low, :high, CAST(:details AS jsonb))
    ON CONFLICT (registration, model_version) DO UPDATE
        SET estimate_pence = EXCLUDED.estimate_pence, low_pence = EXCLUDED.low_pence,
            high_pence = EXCLUDED.high_pence, details = EXCLUDED.details, created_at = now()
    RETURNING created_at
    """
)


def _view(session: Session, mark: Registration, result: dict[str, Any]) -> ValuationView:
    """Cache one successful result under the normalized mark and turn it into the API's shape
    (pounds become pence; the mark is shown in its DVLA spacing)."""
    estimate, low, high = (int(result[k]) * 100 for k in ("price", "low", "high"))
    low, high = min(low, estimate), max(high, estimate)
    weights = result.get("weights") if isinstance(result.get("weights"), dict) else None
    explanation = str(result.get("explanation") or "")
    created_at = session.execute(
        _STORE,
        {
            "registration": mark.normalized,
            "model_version": str(result["model_version"])[:64],
            "estimate": estimate,
            "low": low,
            "high": high,
            "details": json.dumps({"explanation": explanation, "weights": weights}),
        },
    ).scalar_one()
    return ValuationView(
        registration=mark.display,
        estimate_pence=estimate,
        low_pence=low,
        high_pence=high,
        model_version=str(result["model_version"]),
        explanation=explanation,
        weights=weights,
        valued_at=created_at,
    )


def value(session: Session, client: ValuationClient, inputs: list[str]) -> list[BatchItem]:
    """Value ``inputs`` in one call to the service; invalid marks come back as per-item errors."""
    items: list[BatchItem] = [BatchItem(input=i) for i in inputs]
    valid: list[tuple[int, Registration]] = []
    for index, raw in enumerate(inputs):
        try:
            valid.append((index, parse(raw)))
        except InvalidRegistration as exc:
            items[index].error = ItemError(
                code="invalid_registration", message=f"Not a valid UK registration: {exc.reason}."
            )
    if valid:
        try:
            results = client.value_many([mark.normalized for _, mark in valid])
        except ValuationUnavailable as exc:
            raise ApiError(
                503,
                "valuation_unavailable",
                "The valuation service is not answering right now; try again in a minute.",
                {"reason": str(exc)[:200]},
            ) from None
        for (index, mark), result in zip(valid, results, strict=True):
            error = result.get("error")
            if isinstance(error, dict):
                items[index].error = ItemError(
                    code=str(error.get("code", "valuation_failed")), message=str(error.get("message", ""))
                )
            else:
                items[index].valuation = _view(session, mark, result)
    return items
