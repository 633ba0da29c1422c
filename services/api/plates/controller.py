"""``GET /plates/{registration}`` and ``GET /plates`` (search): the routes clients call most, async
on the read pool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from litestar import get
from litestar.params import Parameter

from services.api.controllers import DomainController
from services.api.errors import Invalid, NotFound
from services.api.http_errors import errors
from services.api.plates import fits, service
from services.api.plates.schemas import FitView, PlatePage, PlateView
from services.api.reads import ReadPool
from services.api.registrations import MARK_IN_PATH
from services.api.schemas import MAX_PRICE_PENCE
from services.api.settings import ApiSettings
from services.api.valuations.client import ValuationClient
from services.core.registration import PlateFormat, Registration

if TYPE_CHECKING:
    from services.core.external.dvla import VehicleEnquiry


class PlateController(DomainController):
    path = "/plates"
    tags = ["plates"]  # noqa: RUF012 - Litestar's class-level controller settings
    dependencies = {"mark": MARK_IN_PATH}  # noqa: RUF012

    @get("/{registration:str}", responses=errors(Invalid))
    async def get_plate(
        self, mark: Registration, reads: ReadPool, valuations: ValuationClient, settings: ApiSettings
    ) -> PlateView:
        """Any valid registration in any spacing or case: its canonical form, format, age identifier, the
        earliest vehicle year it may go on, its listing if listed, a valuation (cached when fresh, else
        made now) with its range, drivers and comparable sales, and its latest auction result. 422 with
        the reason when the DVLA never issues such a mark."""
        return await service.lookup(reads, valuations, mark, max_age=settings.market.valuation_max_age)

    @get("/{registration:str}/fits", responses=errors(Invalid, NotFound))
    async def plate_fits(
        self,
        mark: Registration,
        vehicles: VehicleEnquiry,
        vehicle: Annotated[str, Parameter(min_length=1, max_length=16, description="The vehicle's registration")],
    ) -> FitView:
        """Whether the mark may go on the vehicle: the DVLA's date of first registration against the
        mark's age identifier (a mark may not make a vehicle look newer). 404 when the DVLA does not know
        the vehicle, 503 when the DVLA is not answering."""
        return await fits.fits(vehicles, mark, vehicle)

    @get(responses=errors(Invalid))
    async def search_plates(
        self,
        reads: ReadPool,
        *,
        q: Annotated[
            str | None, Parameter(max_length=32, description="A word, initials or a name, read as plate-speak")
        ] = None,
        pattern: Annotated[
            str | None, Parameter(max_length=32, description="Wildcards: ? one character, * any run (A?1*)")
        ] = None,
        plate_format: Annotated[PlateFormat | None, Parameter(query="format")] = None,
        min_price_pence: Annotated[int | None, Parameter(ge=0, le=MAX_PRICE_PENCE)] = None,
        max_price_pence: Annotated[int | None, Parameter(ge=0, le=MAX_PRICE_PENCE)] = None,
        sort: service.Sort = service.Sort.NEWEST,
        page: Annotated[int, Parameter(ge=1, le=1000)] = 1,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> PlatePage:
        """Search listed plates by text (plate-speak aware: SAM finds 5AM), wildcard pattern, format and
        price range; sorted and paged."""
        query = service.SearchQuery(
            q=q,
            pattern=pattern,
            format=plate_format.value if plate_format else None,
            min_price_pence=min_price_pence,
            max_price_pence=max_price_pence,
            sort=sort,
            page=page,
            limit=limit,
        )
        return await service.search(reads, query)
