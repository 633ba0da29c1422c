"""The DVLA VES client against the VES stand-in over real sockets, every answer mapped to a domain error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from services.core.external.dvla import DvlaSettings, VehicleEnquiry, normalize_vrm
from services.core.external.errors import InvalidVehicleRegistration, VehicleNotFound, VehicleServiceUnavailable
from services.local.standins.dvla import DvlaStandin
from services.local.standins.server import Reply, Request, Running, Standin, json_reply, serve


@pytest.fixture
def enquiry(dvla_api: Running[DvlaStandin]) -> Iterator[VehicleEnquiry]:
    client = VehicleEnquiry(DvlaSettings(api_key=dvla_api.standin.api_key, base_url=dvla_api.base_url, timeout_s=2))
    yield client
    client.close()


def test_a_vehicle_record_and_its_first_registration(dvla_api: Running[DvlaStandin], enquiry: VehicleEnquiry) -> None:
    dvla_api.standin.add_vehicle(
        "KM62 XYZ", make="Vauxhall", month_of_first_registration="2012-11", year_of_manufacture=2012
    )
    record = enquiry.vehicle("km62 xyz")
    assert (record.registration_number, record.make, record.year_of_manufacture) == ("KM62XYZ", "VAUXHALL", 2012)
    assert record.first_registered == date(2012, 11, 1)
    assert enquiry.vehicle_first_registration("KM62-XYZ") == date(2012, 11, 1)
    request = dvla_api.standin.requests[0]
    assert request.json() == {"registrationNumber": "KM62XYZ"}  # capitals and digits only, as the VES wants
    assert request.headers["x-api-key"] == dvla_api.standin.api_key


def test_an_unknown_vehicle_is_not_found(enquiry: VehicleEnquiry) -> None:
    with pytest.raises(VehicleNotFound) as caught:
        enquiry.vehicle("ZZ99ZZZ")
    assert caught.value.status == 404


def test_a_vehicle_without_a_first_registration_month_cannot_be_checked(
    dvla_api: Running[DvlaStandin], enquiry: VehicleEnquiry
) -> None:
    dvla_api.standin.add_vehicle(
        "AB12CDE", make="Ford", month_of_first_registration="2012-03", monthOfFirstRegistration=None
    )
    assert enquiry.vehicle("AB12CDE").first_registered is None
    with pytest.raises(VehicleNotFound, match="no month of first registration"):
        enquiry.vehicle_first_registration("AB12CDE")


@pytest.mark.parametrize("vrm", ["", "AB12 CDE 99", "AB12*CDE", "ÄB12CDE"])
def test_a_malformed_registration_is_refused_before_any_request(
    dvla_api: Running[DvlaStandin], enquiry: VehicleEnquiry, vrm: str
) -> None:
    with pytest.raises(InvalidVehicleRegistration):
        enquiry.vehicle(vrm)
    assert dvla_api.standin.requests == []


def test_a_number_the_dvla_refuses_is_invalid(enquiry: VehicleEnquiry) -> None:
    with pytest.raises(InvalidVehicleRegistration, match="Invalid format") as caught:
        enquiry.vehicle("ER19BAD")
    assert caught.value.status == 400


@pytest.mark.parametrize(("vrm", "status"), [("ER19THR", 429), ("ER19ERR", 500), ("ER19MNT", 503)])
def test_the_dvla_failing_is_unavailable(enquiry: VehicleEnquiry, vrm: str, status: int) -> None:
    with pytest.raises(VehicleServiceUnavailable) as caught:
        enquiry.vehicle(vrm)
    assert caught.value.status == status


def test_a_refused_key_is_unavailable(dvla_api: Running[DvlaStandin], caplog: pytest.LogCaptureFixture) -> None:
    client = VehicleEnquiry(DvlaSettings(api_key="not-our-key", base_url=dvla_api.base_url))
    with pytest.raises(VehicleServiceUnavailable) as caught:
        client.vehicle("AA19AAA")
    assert caught.value.status == 403
    assert "Forbidden" in caught.value.message
    assert "dvlaApiKey" in caplog.text
    client.close()


def test_a_slow_or_absent_dvla_is_unavailable(dvla_api: Running[DvlaStandin]) -> None:
    dvla_api.standin.delay_next(1.0)
    client = VehicleEnquiry(DvlaSettings(api_key=dvla_api.standin.api_key, base_url=dvla_api.base_url, timeout_s=0.2))
    with pytest.raises(VehicleServiceUnavailable, match="in time"):
        client.vehicle("AA19AAA")
    dvla_api.stop()
    with pytest.raises(VehicleServiceUnavailable, match="could not be reached"):
        client.vehicle("AA19AAA")
    client.close()


class Garbled(Standin):
    """A VES that answers 200 with something that is not a vehicle record."""

    name = "garbled"

    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self.reply = reply

    def handle(self, request: Request) -> Reply:
        return self.reply


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<html>maintenance</html>", "text/html"),
        json_reply(200, ["not", "an", "object"]),
        json_reply(200, {"registrationNumber": "AA19AAA", "monthOfFirstRegistration": "March 2019"}),
    ],
)
def test_an_unreadable_answer_is_unavailable(reply: Reply) -> None:
    with serve(Garbled(reply)) as running:
        client = VehicleEnquiry(DvlaSettings(api_key="k", base_url=running.base_url))
        with pytest.raises(VehicleServiceUnavailable):
            client.vehicle("AA19AAA")
        client.close()


def test_normalize_vrm() -> None:
    assert normalize_vrm(" ab12 cde ") == "AB12CDE"
    assert normalize_vrm("l2-wps") == "L2WPS"


@pytest.mark.parametrize(
    "settings",
    [
        {"api_key": ""},
        {"api_key": "k", "base_url": "driver-vehicle-licensing.api.gov.uk"},
        {"api_key": "k", "timeout_s": 0},
    ],
)
def test_settings_are_checked(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="dvla"):
        DvlaSettings(**settings)  # pyright: ignore[reportArgumentType]
