"""Valuations: ask the valuation service, cache each result in ``valuations``, answer in pence."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.api.errors import Invalid, Unavailable
from services.api.valuations.cache import STORE_SQL, store_parameters, view_from_parameters
from services.api.valuations.client import ValuationClient, ValuationUnavailable
from services.api.valuations.schemas import BatchItem, ItemError, ValuationView
from services.core.registration import InvalidRegistration, Registration, parse


def _view(session: Session, mark: Registration, result: dict[str, Any]) -> ValuationView:
    """Cache one successful result under the normalized mark and turn it into the API's shape."""
    parameters = store_parameters(mark, result)
    created_at = session.connection().exec_driver_sql(STORE_SQL, parameters).scalar_one()
    return view_from_parameters(mark.display, parameters, created_at)


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
