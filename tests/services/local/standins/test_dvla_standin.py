"""The DVLA VES stand-in over real HTTP: the documented answers, its test vehicles, seeding and failures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.local.standins.dvla import ENQUIRY_PATH, DvlaStandin
from services.local.standins.server import Running


def enquire(running: Running[DvlaStandin], body: Any, *, key: str | None = None) -> httpx.Response:
    headers = {} if key == "" else {"x-api-key": key or running.standin.api_key}
    return httpx.post(f"{running.base_url}{ENQUIRY_PATH}", json=body, headers=headers)


def test_a_known_vehicle_answers_its_record(dvla_api: Running[DvlaStandin]) -> None:
    response = enquire(dvla_api, {"registrationNumber": "AA19AAA"})
    assert response.status_code == 200
    record = response.json()
    assert record["registrationNumber"] == "AA19AAA"
    assert (record["make"], record["monthOfFirstRegistration"], record["yearOfManufacture"]) == (
        "FORD",
        "2019-03",
        2019,
    )
    assert dvla_api.standin.requests[0].json() == {"registrationNumber": "AA19AAA"}


@pytest.mark.parametrize(
    ("vrn", "status", "title"),
    [
        ("ER19BAD", 400, "Bad Request"),
        ("ER19NFD", 404, "Vehicle Not Found"),
        ("ER19THR", 429, "Too Many Requests"),
        ("ER19ERR", 500, "Internal Server Error"),
        ("ER19MNT", 503, "System currently down for maintenance"),
    ],
)
def test_the_dvla_test_numbers_answer_their_documented_errors(
    dvla_api: Running[DvlaStandin], vrn: str, status: int, title: str
) -> None:
    response = enquire(dvla_api, {"registrationNumber": vrn})
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert (error["status"], error["code"], error["title"]) == (str(status), str(status), title)


def test_an_unknown_vehicle_is_the_documented_404(dvla_api: Running[DvlaStandin]) -> None:
    response = enquire(dvla_api, {"registrationNumber": "ZZ99ZZZ"})
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {"status": "404", "code": "404", "title": "Vehicle Not Found", "detail": "Record for vehicle not found"}
        ]
    }


@pytest.mark.parametrize(
    "body",
    [{}, {"registrationNumber": ""}, {"registrationNumber": "AB12 CDE"}, {"registrationNumber": "ABCDEFGH"},
     {"registrationNumber": 12}, ["AA19AAA"], "AA19AAA"],
)  # fmt: skip
def test_a_malformed_body_or_number_is_a_400(dvla_api: Running[DvlaStandin], body: Any) -> None:
    response = enquire(dvla_api, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "Invalid format for field - vehicle registration number"


def test_a_body_that_is_not_json_is_a_400(dvla_api: Running[DvlaStandin]) -> None:
    response = httpx.post(
        f"{dvla_api.base_url}{ENQUIRY_PATH}",
        content=b"registrationNumber=AA19AAA",
        headers={"x-api-key": "dvla-local-key-0000"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("key", ["", "someone-elses-key"])
def test_a_missing_or_wrong_key_is_the_gateways_403(dvla_api: Running[DvlaStandin], key: str) -> None:
    response = enquire(dvla_api, {"registrationNumber": "AA19AAA"}, key=key)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_another_path_or_method_is_refused_by_the_gateway(dvla_api: Running[DvlaStandin]) -> None:
    assert httpx.get(f"{dvla_api.base_url}{ENQUIRY_PATH}").status_code == 403
    assert httpx.post(f"{dvla_api.base_url}/vehicle-enquiry/v2/vehicles").status_code == 403


def test_seeded_vehicles_answer_and_bad_seeds_are_refused(dvla_api: Running[DvlaStandin]) -> None:
    dvla_api.standin.add_vehicle("ab12 cde", make="Vauxhall", month_of_first_registration="2012-03", colour="BLUE")
    record = enquire(dvla_api, {"registrationNumber": "ab12cde"}).json()  # the number is matched in capitals
    assert (record["registrationNumber"], record["make"], record["colour"]) == ("AB12CDE", "VAUXHALL", "BLUE")
    assert (record["monthOfFirstRegistration"], record["yearOfManufacture"]) == ("2012-03", 2012)
    with pytest.raises(ValueError, match="YYYY-MM"):
        dvla_api.standin.add_vehicle("AB12CDE", make="Ford", month_of_first_registration="2012-3")
    with pytest.raises(ValueError, match="registrationNumber"):
        dvla_api.standin.add_vehicle("AB12 CDE 9", make="Ford", month_of_first_registration="2012-03")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_injected_failures_use_the_dvla_error_shape(dvla_api: Running[DvlaStandin], status: int) -> None:
    dvla_api.standin.fail_next(status)
    response = enquire(dvla_api, {"registrationNumber": "AA19AAA"})
    assert response.status_code == status
    assert response.json()["errors"][0]["status"] == str(status)
    assert enquire(dvla_api, {"registrationNumber": "AA19AAA"}).status_code == 200
