"""``POST /valuations`` (one mark) and ``POST /valuations/batch`` (up to 100)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.api.controllers import DomainController, action, domain_service
from services.api.errors import Invalid
from services.api.http_errors import errors
from services.api.settings import ApiSettings
from services.api.valuations.client import ValuationClient
from services.api.valuations.schemas import (
    BatchValuationRequest,
    BatchValuationResponse,
    ValuationRequest,
    ValuationView,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.valuations.service import Valuer


def _valuer(session: Session, valuations: ValuationClient, settings: ApiSettings) -> Valuer:
    from services.api.valuations.service import Valuer  # noqa: PLC0415 - the write path loads SQLAlchemy on first use

    return Valuer(session, valuations, max_age=settings.market.valuation_max_age)


class ValuationController(DomainController):
    path = "/valuations"
    tags = ("valuations",)
    dependencies, signature_namespace = domain_service("valuer", _valuer)

    @action(responses=errors(Invalid))
    def value_one(self, data: ValuationRequest, valuer: Valuer) -> ValuationView:
        """Value one registration: estimate, range, model version and a one-sentence explanation; a valuation
        cached within ``VALUATION_MAX_AGE_DAYS`` (and not made stale by a later sale) answers as it is."""
        return valuer.value_one(data.registration)

    @action("/batch")
    def value_batch(self, data: BatchValuationRequest, valuer: Valuer) -> BatchValuationResponse:
        """Value up to 100 registrations at once; each result is a valuation or an error, in input order. Fresh
        cached valuations answer as they are; the model values the rest, each mark once."""
        return BatchValuationResponse(results=valuer.value_many(data.registrations))
