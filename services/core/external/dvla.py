"""The DVLA Vehicle Enquiry Service (VES) over ``httpx``: a vehicle's make and month of first registration.

``POST {base_url}/vehicle-enquiry/v1/vehicles`` with the ``x-api-key`` header and
``{"registrationNumber": "AB12CDE"}`` (the VES wants capitals and digits only, so the number is
normalised first and anything else is refused here, before a request). The DVLA's answers map to:
200 a :class:`VehicleRecord`; 404 :class:`VehicleNotFound`; 400 :class:`InvalidVehicleRegistration`;
403 (our key refused), 429, 5xx, a timeout, a refused connection or an unreadable body
:class:`VehicleServiceUnavailable`. No retries: a buyer is waiting, and the API answers 503 at once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from services.core.external.errors import InvalidVehicleRegistration, VehicleNotFound, VehicleServiceUnavailable

__all__ = ["DvlaSettings", "VehicleEnquiry", "VehicleRecord", "normalize_vrm"]

log = logging.getLogger("reggie.external.dvla")

_PATH = "/vehicle-enquiry/v1/vehicles"
_VRM = re.compile(r"^[A-Z0-9]{1,7}$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class DvlaSettings:
    api_key: str
    base_url: str = "https://driver-vehicle-licensing.api.gov.uk"
    """The host; the client appends ``/vehicle-enquiry/v1/vehicles``. The stand-in's ``base_url`` locally."""
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("dvla api_key must not be empty")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError(f"dvla base_url must be an http(s) URL, not {self.base_url!r}")
        if self.timeout_s <= 0:
            raise ValueError("dvla timeout_s must be positive")


@dataclass(frozen=True, slots=True)
class VehicleRecord:
    registration_number: str
    make: str | None
    first_registered: date | None
    """The first day of ``monthOfFirstRegistration``; ``None`` when the DVLA does not hold it."""
    year_of_manufacture: int | None


def normalize_vrm(vrm: str) -> str:
    """Capitals and digits only, as the VES wants it (``ab12 cde`` is ``AB12CDE``); raise when that is not valid."""
    compact = re.sub(r"[\s\-]+", "", vrm).upper() if isinstance(vrm, str) else ""  # pyright: ignore[reportUnnecessaryIsInstance]
    if not _VRM.match(compact):
        raise InvalidVehicleRegistration(f"{vrm!r} is not a vehicle registration: use 1 to 7 letters and digits")
    return compact


class VehicleEnquiry:
    """A VES client holding one connection pool; thread-safe. ``transport`` is for tests only."""

    def __init__(self, settings: DvlaSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self._http = httpx.Client(
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            headers={"x-api-key": settings.api_key, "Accept": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def vehicle(self, vrm: str) -> VehicleRecord:
        number = normalize_vrm(vrm)
        try:
            response = self._http.post(_PATH, json={"registrationNumber": number})
        except httpx.TimeoutException:
            raise VehicleServiceUnavailable("the DVLA did not answer in time") from None
        except httpx.HTTPError as exc:
            raise VehicleServiceUnavailable(f"the DVLA could not be reached ({type(exc).__name__})") from None
        if response.status_code == 200:
            return _record(response, number)
        detail = _error_detail(response)
        if response.status_code == 404:
            raise VehicleNotFound(f"the DVLA has no record of {number}", status=404)
        if response.status_code == 400:
            raise InvalidVehicleRegistration(f"the DVLA refused {number}: {detail}", status=400)
        if response.status_code == 403:
            log.error("the DVLA refused our API key (403): check the dvlaApiKey secret")
        raise VehicleServiceUnavailable(
            f"the DVLA answered {response.status_code}: {detail}", status=response.status_code
        )

    def vehicle_first_registration(self, vrm: str) -> date:
        """The first day of the month the vehicle was first registered (what a dated mark is checked against)."""
        record = self.vehicle(vrm)
        if record.first_registered is None:
            raise VehicleNotFound(f"the DVLA holds no month of first registration for {record.registration_number}")
        return record.first_registered


def _record(response: httpx.Response, number: str) -> VehicleRecord:
    try:
        body: Any = response.json()
    except ValueError:
        raise VehicleServiceUnavailable("the DVLA answered 200 with a body that is not JSON", status=200) from None
    if not isinstance(body, dict):
        raise VehicleServiceUnavailable("the DVLA answered 200 with a body that is not an object", status=200)
    month = body.get("monthOfFirstRegistration")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    first_registered = None
    if month is not None:
        match = _MONTH.match(month) if isinstance(month, str) else None
        if match is None:
            raise VehicleServiceUnavailable(f"the DVLA answered an unreadable monthOfFirstRegistration {month!r}")
        first_registered = date(int(match.group(1)), int(match.group(2)), 1)
    make = body.get("make")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    year = body.get("yearOfManufacture")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    registration = body.get("registrationNumber")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return VehicleRecord(
        registration_number=registration if isinstance(registration, str) else number,
        make=make if isinstance(make, str) else None,
        first_registered=first_registered,
        year_of_manufacture=year if isinstance(year, int) and not isinstance(year, bool) else None,
    )


def _error_detail(response: httpx.Response) -> str:
    """The first ``errors[].detail`` (or the gateway's ``message``) of an error answer, for the log and the error."""
    try:
        body: Any = response.json()
    except ValueError:
        return "no readable body"
    if isinstance(body, dict):
        errors = body.get("errors")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first: dict[str, Any] = errors[0]  # pyright: ignore[reportUnknownVariableType]
            return str(first.get("detail") or first.get("title") or "no detail")
        if isinstance(body.get("message"), str):  # pyright: ignore[reportUnknownMemberType]
            return str(body["message"])  # pyright: ignore[reportUnknownArgumentType]
    return "no detail"
