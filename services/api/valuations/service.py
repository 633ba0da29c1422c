"""Valuations: answer from the ``valuations`` cache when it holds a fresh valuation, else ask the valuation service
(one call for every mark the cache cannot answer), cache each result, answer in pence.

Reading the cache first is what keeps a client repeating ``POST /valuations/batch`` from invoking the model (and
writing ``valuations``) for every mark every time: a mark valued within ``VALUATION_MAX_AGE_DAYS`` and not made
stale by a later comparable sale answers from the row, as the plate lookup does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.api.errors import Invalid, Unavailable
from services.api.valuations.cache import (
    LATEST_SQL,
    STORE_SQL,
    fresh,
    store_parameters,
    view_from_details,
    view_from_parameters,
)
from services.api.valuations.client import ValuationClient, ValuationUnavailable
from services.api.valuations.schemas import BatchItem, ItemError, ValuationView
from services.core.registration import InvalidRegistration, Registration, parse


def _view(session: Session, mark: Registration, result: dict[str, Any]) -> ValuationView:
    """Cache one successful result under the normalized mark and turn it into the API's shape."""
    parameters = store_parameters(mark, result)
    created_at = session.connection().exec_driver_sql(STORE_SQL, parameters).scalar_one()
    return view_from_parameters(mark.display, parameters, created_at)


class Valuer:
    """Values marks, from the cache when fresh, else through the valuation service, in one request's session."""

    def __init__(self, session: Session, client: ValuationClient, *, max_age: timedelta) -> None:
        self._session = session
        self._client = client
        self._max_age = max_age

    def value_one(self, registration: str) -> ValuationView:
        [item] = self.value_many([registration])
        if item.error is not None:
            raise Invalid(item.error.message, code=item.error.code, details={"registration": registration})
        assert item.valuation is not None
        return item.valuation

    def value_many(self, inputs: list[str]) -> list[BatchItem]:
        """Value ``inputs``: fresh cached valuations as they are, the rest in one call to the service (each mark
        once, however often it is repeated); invalid marks come back as per-item errors."""
        items: list[BatchItem] = [BatchItem(input=i) for i in inputs]
        valid: list[tuple[int, Registration]] = []
        for index, raw in enumerate(inputs):
            try:
                valid.append((index, parse(raw)))
            except InvalidRegistration as exc:
                items[index].error = ItemError(
                    code="invalid_registration", message=f"Not a valid UK registration: {exc.reason}."
                )
        marks = {mark.normalized: mark for _, mark in valid}
        answers: dict[str, ValuationView | ItemError] = dict(self._fresh_in_cache(marks))
        missing = [mark for normalized, mark in marks.items() if normalized not in answers]
        if missing:
            answers |= self._ask(missing)
        for index, mark in valid:
            answer = answers[mark.normalized]
            if isinstance(answer, ItemError):
                items[index].error = answer
            else:
                items[index].valuation = answer
        return items

    def _fresh_in_cache(self, marks: dict[str, Registration]) -> dict[str, ValuationView]:
        """The fresh cached valuation of each of ``marks`` (by normalized mark) that has one."""
        if not marks:
            return {}
        statement = self._session.connection().exec_driver_sql(LATEST_SQL, {"registrations": sorted(marks)})
        return {
            row["registration"]: view_from_details(
                marks[row["registration"]].display,
                estimate_pence=row["estimate_pence"],
                low_pence=row["low_pence"],
                high_pence=row["high_pence"],
                model_version=row["model_version"],
                details=row["details"],
                valued_at=row["created_at"],
            )
            for row in statement.mappings()
            if fresh(stale=row["stale"], valued_at=row["created_at"], max_age=self._max_age)
        }

    def _ask(self, marks: list[Registration]) -> dict[str, ValuationView | ItemError]:
        """One call to the valuation service for ``marks``; each answer cached, or the item's error."""
        try:
            results = self._client.value_many([mark.normalized for mark in marks])
        except ValuationUnavailable as exc:
            raise Unavailable(
                "The valuation service is not answering right now; try again in a minute.",
                code="valuation_unavailable",
                reason=str(exc),
            ) from None
        answers: dict[str, ValuationView | ItemError] = {}
        for mark, result in zip(marks, results, strict=True):
            error = result.get("error")
            if isinstance(error, dict):
                answers[mark.normalized] = ItemError(
                    code=str(error.get("code", "valuation_failed")), message=str(error.get("message", ""))
                )
            else:
                answers[mark.normalized] = _view(self._session, mark, result)
        return answers
