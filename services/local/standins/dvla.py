"""A DVLA Vehicle Enquiry Service (VES) stand-in: ``POST /vehicle-enquiry/v1/vehicles``.

As the VES API guide and its OpenAPI specification (v1.1.0) describe it: the request carries the
``x-api-key`` header and the JSON body ``{"registrationNumber": "AB12CDE"}`` (no spaces or other
non-alphanumeric characters); a known vehicle answers 200 with its record (``registrationNumber``,
``make``, ``colour``, ``fuelType``, ``yearOfManufacture``, ``monthOfFirstRegistration`` as
``YYYY-MM``, ``taxStatus``, ``motStatus``...); errors answer ``{"errors": [{"status", "code",
"title", "detail"}]}``: 400 "Invalid format for field - vehicle registration number" for a malformed
body or number, 404 "Vehicle Not Found" / "Record for vehicle not found". A missing or wrong key is
refused by the API gateway in front of the service: 403 ``{"message": "Forbidden"}``.

It starts seeded with the DVLA's own test vehicles (the "VES API Test Environment" page): ``AA19AAA``
and friends answer 200, and ``ER19BAD``/``ER19NFD``/``ER19THR``/``ER19ERR``/``ER19MNT`` answer
400/404/429/500/503, so a client can be tried against the same numbers as the DVLA's test
environment. :meth:`DvlaStandin.add_vehicle` seeds more; ``fail_next`` injects failures.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from services.local.standins.server import Reply, Request, Running, Standin, json_reply, serve

__all__ = ["DEFAULT_API_KEY", "ENQUIRY_PATH", "TEST_VEHICLES", "DvlaStandin", "start_dvla"]

DEFAULT_API_KEY = "dvla-local-key-0000"
ENQUIRY_PATH = "/vehicle-enquiry/v1/vehicles"
_VRN = re.compile(r"^[A-Z0-9]{1,7}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

_ERRORS: dict[int, dict[str, str]] = {
    400: {"title": "Bad Request", "detail": "Invalid format for field - vehicle registration number"},
    404: {"title": "Vehicle Not Found", "detail": "Record for vehicle not found"},
    # The test environment page documents ER19THR as a 429 without printing its body; this wording is ours.
    429: {"title": "Too Many Requests", "detail": "Too many requests have been made, please try again later"},
    500: {"title": "Internal Server Error", "detail": "System Error occurred"},
    503: {
        "title": "System currently down for maintenance",
        "detail": "The service is currently down for maintenance, please contact support for more information",
    },
}
_ERROR_VRNS = {"ER19BAD": 400, "ER19NFD": 404, "ER19THR": 429, "ER19ERR": 500, "ER19MNT": 503}


def _record(vrn: str, make: str, first_registered: str, year: int, **extra: Any) -> dict[str, Any]:
    return {
        "registrationNumber": vrn,
        "make": make,
        "colour": "RED",
        "fuelType": "PETROL",
        "yearOfManufacture": year,
        "monthOfFirstRegistration": first_registered,
        "monthOfFirstDvlaRegistration": first_registered,
        "markedForExport": False,
        "taxStatus": "Taxed",
        "motStatus": "No details held by DVLA",
        "typeApproval": "M1",
        "wheelplan": "2 AXLE RIGID BODY",
        "dateOfLastV5CIssued": f"{first_registered}-20",
        **extra,
    }


TEST_VEHICLES: tuple[dict[str, Any], ...] = (
    _record("AA19AAA", "FORD", "2019-03", 2019, co2Emissions=300, engineCapacity=2000, euroStatus="EURO1"),
    _record("AA19EEE", "FORD", "2019-03", 2019, fuelType="ELECTRICITY", co2Emissions=200),
    _record("AA19PPP", "FORD", "2016-09", 2016, engineCapacity=2000, wheelplan="3 AXLE + 3 AXLE ARTIC"),
    _record("L2WPS", "FORD", "1984-01", 1984, engineCapacity=1600),
)
"""The DVLA test environment's 200 vehicles (abridged records), seeded in every stand-in."""


class DvlaStandin(Standin):
    """The VES API for one API key, answering from its seeded vehicles."""

    name = "dvla"

    def __init__(self, *, api_key: str = DEFAULT_API_KEY, vehicles: tuple[Mapping[str, Any], ...] = ()) -> None:
        super().__init__()
        self.api_key = api_key
        self._state = threading.Lock()
        self._vehicles: dict[str, dict[str, Any]] = {}
        for vehicle in (*TEST_VEHICLES, *vehicles):
            self._store(dict(vehicle))

    def add_vehicle(
        self,
        registration: str,
        *,
        make: str,
        month_of_first_registration: str,
        year_of_manufacture: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Seed a vehicle; ``month_of_first_registration`` is ``YYYY-MM``; ``fields`` add or override VES fields."""
        vrn = registration.replace(" ", "").upper()
        year = year_of_manufacture or int(month_of_first_registration[:4])
        return self._store(_record(vrn, make.upper(), month_of_first_registration, year, **fields))

    def _store(self, vehicle: dict[str, Any]) -> dict[str, Any]:
        vrn = vehicle.get("registrationNumber")
        if not isinstance(vrn, str) or not _VRN.match(vrn):
            raise ValueError(f"registrationNumber {vrn!r} must be 1 to 7 capital letters and digits")
        month = vehicle.get("monthOfFirstRegistration")
        if month is not None and (not isinstance(month, str) or not _MONTH.match(month)):
            raise ValueError(f"monthOfFirstRegistration {month!r} must be YYYY-MM")
        with self._state:
            self._vehicles[vrn] = vehicle
        return dict(vehicle)

    def error_reply(self, status: int) -> Reply:
        error = _ERRORS.get(status, {"title": "Error", "detail": f"HTTP {status}"})
        return json_reply(status, {"errors": [{"status": str(status), "code": str(status), **error}]})

    def handle(self, request: Request) -> Reply:
        if request.method != "POST" or request.path.rstrip("/") != ENQUIRY_PATH:
            return json_reply(403, {"message": "Missing Authentication Token"})  # the API gateway's answer
        key = request.header("x-api-key")
        if key is None or not secrets.compare_digest(key, self.api_key):
            return json_reply(403, {"message": "Forbidden"})
        vrn = _registration_number(request)
        if vrn is None:
            return self.error_reply(400)
        if vrn in _ERROR_VRNS:
            return self.error_reply(_ERROR_VRNS[vrn])
        with self._state:
            vehicle = self._vehicles.get(vrn)
        return self.error_reply(404) if vehicle is None else json_reply(200, vehicle)


def _registration_number(request: Request) -> str | None:
    """The body's ``registrationNumber`` in capitals, or ``None`` when the body or the number is malformed."""
    try:
        body = request.json()
    except ValueError:
        return None
    vrn = body.get("registrationNumber") if isinstance(body, dict) else None  # pyright: ignore[reportUnknownMemberType]
    if not isinstance(vrn, str) or not _VRN.match(vrn.upper()):
        return None
    return vrn.upper()


def start_dvla(
    *,
    api_key: str = DEFAULT_API_KEY,
    vehicles: tuple[Mapping[str, Any], ...] = (),
    host: str = "127.0.0.1",
    port: int = 0,
) -> Running[DvlaStandin]:
    """Serve a VES stand-in on loopback; the client's base URL is ``.base_url`` (it appends ``/vehicle-enquiry``)."""
    return serve(DvlaStandin(api_key=api_key, vehicles=vehicles), host=host, port=port)
