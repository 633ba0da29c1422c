"""``GET /plates/{registration}`` and ``GET /plates`` (search)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import Parameter

from services.api import plates
from services.api.context import deps_of
from services.api.errors import ApiError
from services.api.routes.common import errors
from services.api.schemas import MAX_PRICE_PENCE, PlatePage, PlateView
from services.core.registration import InvalidRegistration, PlateFormat, Registration, parse


def parse_or_422(text: str) -> Registration:
    try:
        return parse(text)
    except InvalidRegistration as exc:
        raise ApiError(
            422,
            "invalid_registration",
            f"{text!r} is not a valid UK registration: {exc.reason}.",
            {"reason": exc.reason},
        ) from None


@get("/plates/{registration:str}", tags=["plates"], responses=errors(404, 422))
async def get_plate(request: Request[Any, Any, Any], registration: str) -> PlateView:
    """A registration in any spacing or case: its canonical form, format, age identifier, the earliest
    vehicle year it may go on, its listing if listed, its latest valuation and auction result.
    404 (with close matches) when the platform has never seen it; 422 with the reason when invalid."""
    mark = parse_or_422(registration)
    reads = deps_of(request).require_reads()
    view = await plates.lookup(reads, mark)
    if view is None:
        matches = await plates.close_matches(reads, mark.normalized)
        raise ApiError(
            404,
            "plate_not_found",
            f"{mark.display} is not listed, valued or sold on Reggie; POST /api/v1/valuations values it.",
            {"registration": mark.display, "close_matches": matches},
        )
    return view


@get("/plates", tags=["plates"], responses=errors(422))
async def search_plates(
    request: Request[Any, Any, Any],
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
    sort: plates.Sort = plates.Sort.NEWEST,
    page: Annotated[int, Parameter(ge=1, le=1000)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
) -> PlatePage:
    """Search listed plates by text (plate-speak aware: SAM finds 5AM), wildcard pattern, format and
    price range; sorted and paged."""
    query = plates.SearchQuery(
        q=q,
        pattern=pattern,
        format=plate_format.value if plate_format else None,
        min_price_pence=min_price_pence,
        max_price_pence=max_price_pence,
        sort=sort,
        page=page,
        limit=limit,
    )
    try:
        return await plates.search(deps_of(request).require_reads(), query)
    except plates.BadSearch as exc:
        raise ApiError(422, "invalid_search", str(exc).capitalize() + ".") from None


ROUTES = [get_plate, search_plates]
