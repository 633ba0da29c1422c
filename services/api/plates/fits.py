"""Will this mark fit my vehicle? The DVLA's record of the vehicle against the mark's age rule.

The vehicle's month of first registration comes from the DVLA Vehicle Enquiry Service
(:mod:`services.core.external.dvla`, on a worker thread: the client blocks); the rule is
:func:`services.core.assignment.may_assign` (a mark may not make a vehicle look newer than it is).
The DVLA's answers map to the API's errors here: an invalid vehicle registration 422, one the DVLA
does not know 404, the DVLA down or refusing our key 503 (``dvla_unavailable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.to_thread

from services.api.errors import Invalid, NotFound, Unavailable
from services.api.plates.schemas import FitView, VehicleView
from services.core.assignment import may_assign
from services.core.external.errors import InvalidVehicleRegistration, VehicleNotFound, VehicleServiceUnavailable
from services.core.registration import Registration

if TYPE_CHECKING:
    from services.core.external.dvla import VehicleEnquiry, VehicleRecord


async def fits(vehicles: VehicleEnquiry, mark: Registration, vehicle: str) -> FitView:
    record = await _vehicle(vehicles, vehicle)
    if record.first_registered is None:
        raise NotFound(
            f"The DVLA holds no date of first registration for {record.registration_number}.",
            code="first_registration_unknown",
        )
    verdict = may_assign(mark, record.first_registered)
    return FitView(
        registration=mark.display,
        vehicle=VehicleView(
            registration=record.registration_number,
            make=record.make,
            first_registered=record.first_registered.strftime("%Y-%m"),
            year_of_manufacture=record.year_of_manufacture,
        ),
        fits=verdict.allowed,
        reason=verdict.reason,
        earliest_first_registration=(
            verdict.earliest_first_registration.strftime("%Y-%m") if verdict.earliest_first_registration else None
        ),
    )


async def _vehicle(vehicles: VehicleEnquiry, vehicle: str) -> VehicleRecord:
    try:
        return await anyio.to_thread.run_sync(vehicles.vehicle, vehicle)
    except InvalidVehicleRegistration as exc:
        raise Invalid(
            f"{vehicle!r} is not a vehicle registration the DVLA can look up.",
            code="invalid_vehicle",
            details={"reason": exc.message},
        ) from None
    except VehicleNotFound:
        raise NotFound("The DVLA has no record of that vehicle.", code="vehicle_not_found") from None
    except VehicleServiceUnavailable as exc:
        raise Unavailable(
            "The DVLA vehicle lookup is not answering right now; try again in a minute.",
            code="dvla_unavailable",
            reason=exc.message,
        ) from None
