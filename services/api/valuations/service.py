"""Valuations: ask the valuation service, cache each result in ``valuations``, answer in pence."""

from __future__ import annotations

import json
import logging
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.api.errors import Invalid, Unavailable
from services.api.valuations.client import ValuationClient, ValuationUnavailable
from services.api.valuations.schemas import BatchItem, ComparableSale, ItemError, ValuationView
from services.core.registration import InvalidRegistration, Registration, parse

log = logging.getLogger("reggie.api.valuation")

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
    comparables = _comparables(result.get("comparables"))
    created_at = session.execute(
        _STORE,
        {
            "registration": mark.normalized,
            "model_version": str(result["model_version"])[:64],
            "estimate": estimate,
            "low": low,
            "high": high,
            "details": json.dumps(
                {"explanation": explanation, "weights": weights, "comparables": msgspec.to_builtins(comparables)}
            ),
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
        comparables=comparables,
        valued_at=created_at,
    )


def _comparables(raw: object) -> list[ComparableSale] | None:
    """The valuation's comparable sales as the API shows them; ``None`` when there were none to read (the
    field is absent), or when they arrived in a shape this API does not know (logged, not fatal)."""
    if raw is None:
        return None
    try:
        return msgspec.convert(raw, list[ComparableSale])
    except msgspec.ValidationError as exc:
        log.warning("the valuation's comparables were not understood: %s", exc)
        return None


class Valuer:
    """Values marks through the valuation service and caches each answer, in one request's session."""

    def __init__(self, session: Session, client: ValuationClient) -> None:
        self._session = session
        self._client = client

    def value_one(self, registration: str) -> ValuationView:
        [item] = self.value_many([registration])
        if item.error is not None:
            raise Invalid(item.error.message, code=item.error.code, details={"registration": registration})
        assert item.valuation is not None
        return item.valuation

    def value_many(self, inputs: list[str]) -> list[BatchItem]:
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
        if not valid:
            return items
        try:
            results = self._client.value_many([mark.normalized for _, mark in valid])
        except ValuationUnavailable as exc:
            raise Unavailable(
                "The valuation service is not answering right now; try again in a minute.",
                code="valuation_unavailable",
                reason=str(exc),
            ) from None
        for (index, mark), result in zip(valid, results, strict=True):
            error = result.get("error")
            if isinstance(error, dict):
                items[index].error = ItemError(
                    code=str(error.get("code", "valuation_failed")), message=str(error.get("message", ""))
                )
            else:
                items[index].valuation = _view(self._session, mark, result)
        return items
