"""Finding a plate: the lookup answers any valid mark with a valuation (cached when fresh, made now
otherwise, with drivers and comparables), and "will it fit my vehicle" asks the DVLA (the stand-in,
which checks the key and the body as the VES does)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
from sqlalchemy import Engine, text

from services.api.valuations.cache import store_parameters, view_from_parameters
from services.core.registration import parse
from services.local.standins.dvla import DvlaStandin
from services.local.standins.server import Running
from tests.services.api.test_health_plates import assert_error


def _valued_at(engine: Engine, mark: str) -> list[datetime]:
    with engine.connect() as conn:
        return list(
            conn.execute(text("SELECT created_at FROM valuations WHERE registration = :r"), {"r": mark}).scalars()
        )


def test_any_valid_mark_is_valued_and_cached(client: httpx.Client, engine: Engine) -> None:
    first = client.get("/plates/fn51 dxy")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["listing"] is None
    assert body["valuation"]["model_version"] == "fallback-heuristic-1"
    assert body["valuation"]["low_pence"] <= body["valuation"]["estimate_pence"] <= body["valuation"]["high_pence"]
    assert body["valuation"]["stale"] is False
    assert "valued at £" in body["explanation"]
    [cached] = _valued_at(engine, "FN51DXY")
    assert client.get("/plates/FN51DXY").json()["valuation"]["valued_at"] == first.json()["valuation"]["valued_at"]
    assert _valued_at(engine, "FN51DXY") == [cached]  # fresh: served from the cache
    # A comparable sale arrived after the valuation (what an auction import records): valued again.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE valuations SET comparable_sale_at = now() + interval '1 second' WHERE registration = 'FN51DXY'"
            )
        )
    again = client.get("/plates/FN51DXY").json()
    assert again["valuation"]["stale"] is False
    assert _valued_at(engine, "FN51DXY")[0] > cached
    # Too old to trust (VALUATION_MAX_AGE_DAYS): valued again too.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE valuations SET created_at = now() - interval '90 days' WHERE registration = 'FN51DXY'")
        )
    client.get("/plates/FN51DXY")
    assert _valued_at(engine, "FN51DXY")[0] > datetime.now(UTC).replace(year=2000)
    assert (datetime.now(UTC) - _valued_at(engine, "FN51DXY")[0]).days == 0


def test_drivers_and_comparables_pass_through_the_cache() -> None:
    mark = parse("JAM 35")
    result = {
        "registration": "JAM 35", "price": 4000, "low": 3000, "high": 5200, "model_version": "m-1",
        "explanation": "A name.", "weights": {"model": 0.7, "rules": 0.3},
        "drivers": [{"driver": "reads as a name", "multiplier": 2.1}, {"driver": 7, "multiplier": "x"}],
        "comparables": [
            {"registration": "JAM 353", "hammer_price_pence": 310_000, "auction": "DVLA Timed Auction",
             "auction_id": "dvla-2024-03-14", "lot": 7, "sold_on": "2024-03-14", "similarity": 0.8},
            {"registration": "JAM 5", "hammer_price_pence": 650_000, "auction": "DVLA", "auction_id": "dvla-csv-3",
             "lot": 2, "sold_on": None, "similarity": 0.5},
        ],
    }  # fmt: skip
    view = view_from_parameters(mark.display, store_parameters(mark, result), None)
    assert [(d.driver, d.multiplier) for d in view.drivers] == [("reads as a name", 2.1)]
    assert view.comparables is not None
    assert [(c.registration, c.hammer_price_pence) for c in view.comparables] == [
        ("JAM 353", 310_000),
        ("JAM 5", 650_000),
    ]
    assert view.comparables[0].sold_on == date(2024, 3, 14)
    # comparables in a shape the API does not know, or none sent (the sales could not be read): null, not a failure
    for odd in ([{"registration": "BAD", "hammer_price_pence": -1}], "not a list", None):
        unknown = view_from_parameters(mark.display, store_parameters(mark, {**result, "comparables": odd}), None)
        assert unknown.comparables is None
    assert (view.estimate_pence, view.low_pence, view.high_pence) == (400_000, 300_000, 520_000)


def test_will_it_fit_my_vehicle(client: httpx.Client, dvla_standin: Running[DvlaStandin]) -> None:
    fits = client.get("/plates/AB12CDE/fits", params={"vehicle": "aa19 aaa"})
    assert fits.status_code == 200, fits.text
    assert fits.json()["fits"] is True
    assert fits.json()["vehicle"] == {
        "registration": "AA19AAA",
        "make": "FORD",
        "first_registered": "2019-03",
        "year_of_manufacture": 2019,
    }
    assert fits.json()["earliest_first_registration"] == "2012-03"
    request = dvla_standin.standin.requests[-1]
    assert request.headers["x-api-key"] == dvla_standin.standin.api_key
    assert request.json() == {"registrationNumber": "AA19AAA"}

    too_new = client.get("/plates/AB12CDE/fits", params={"vehicle": "L2WPS"}).json()
    assert too_new["fits"] is False
    assert "look newer than it is" in too_new["reason"]
    assert client.get("/plates/K9/fits", params={"vehicle": "L2WPS"}).json()["fits"] is True  # dateless: any vehicle

    assert_error(client.get("/plates/AB12CDE/fits", params={"vehicle": "ER19NFD"}), 404, "vehicle_not_found")
    assert_error(client.get("/plates/AB12CDE/fits", params={"vehicle": "ZZ99ZZZ"}), 404, "vehicle_not_found")
    assert_error(client.get("/plates/AB12CDE/fits", params={"vehicle": "not a car!"}), 422, "invalid_vehicle")
    assert_error(client.get("/plates/AB12CDE/fits"), 400)
    assert_error(client.get("/plates/QQQQQQQQ/fits", params={"vehicle": "AA19AAA"}), 422, "invalid_registration")
    for down in ("ER19ERR", "ER19MNT", "ER19THR"):
        body = assert_error(client.get("/plates/AB12CDE/fits", params={"vehicle": down}), 503, "dvla_unavailable")
        assert "DVLA" in body["message"]
    dvla_standin.standin.delay_next(6.0)  # slower than the client's 5 s timeout
    assert_error(client.get("/plates/AB12CDE/fits", params={"vehicle": "AA19AAA"}), 503, "dvla_unavailable")
