"""Health, plate lookup and search over real HTTP."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.services.api.support import seed_plate


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "code", "message", "details", "request_id"}
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    assert body["message"]
    return body


def test_health_and_version(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health/version").json() == {"version": "9.9.9", "commit": "abc1234", "stage": "ci"}


def test_deep_health_reports_each_dependency(client: httpx.Client) -> None:
    response = client.get("/health/deep")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert set(checks) == {"database", "valuation", "storage"}
    for check in checks.values():
        assert check["status"] == "ok"
        assert check["latency_ms"] >= 0


def test_plate_lookup_any_spacing_with_listing(client: httpx.Client, engine: Engine) -> None:
    seed_plate(engine, "RG51 ABC", 125_000)
    for spelling in ("RG51ABC", "rg51 abc", "r g 5 1-a b c"):
        body = client.get(f"/plates/{spelling}").json()
        assert body["registration"] == "RG51 ABC"
        assert body["normalized"] == "RG51ABC"
        assert body["format"] == "current"
        assert body["age_identifier"] == "51"
        assert body["earliest_year"] == 2001
        assert body["listing"]["asking_price_pence"] == 125_000
        assert body["listing"]["status"] == "listed"
        assert "£1,250" in body["explanation"]


def test_plate_lookup_shows_latest_valuation_and_sale(client: httpx.Client, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM valuations WHERE registration = 'K9'"))
        conn.execute(
            text(
                "INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence,"
                " details, created_at) VALUES"
                " ('K9', 'old', 100, 50, 200, '{\"explanation\": \"old\"}', now() - interval '1 day'),"
                " ('K9', 'new', 500000, 400000, 600000, '{\"explanation\": \"Short dateless mark.\"}', now())"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sales (auction_id, auction_name, lot_number, registration, registration_display, format,"
                " hammer_price_pence, sold, source) VALUES ('t-api', 'Test auction', 1, 'K9', 'K 9', 'dateless',"
                " 420000, true, 'test') ON CONFLICT DO NOTHING"
            )
        )
    body = client.get("/plates/k 9").json()
    assert body["listing"] is None
    assert body["valuation"]["model_version"] == "new"
    assert body["valuation"]["estimate_pence"] == 500000
    assert body["valuation"]["explanation"] == "Short dateless mark."
    assert body["last_sale"]["hammer_price_pence"] == 420000
    assert body["earliest_year"] is None


def test_invalid_plate_is_422_with_reason(client: httpx.Client) -> None:
    body = assert_error(client.get("/plates/QQ12QQQQ"), 422, "invalid_registration")
    assert body["details"]["reason"]
    assert_error(client.get("/plates/%F0%9F%98%80"), 422, "invalid_registration")


def test_search_by_plate_speak_format_price_and_sort(client: httpx.Client, engine: Engine) -> None:
    seed_plate(engine, "5AM", 900_000)
    seed_plate(engine, "SAM 1", 1_500_000)
    seed_plate(engine, "SA51 MMM", 40_000)
    body = client.get("/plates", params={"q": "sam", "sort": "price_desc", "limit": 100}).json()
    found = [item["normalized"] for item in body["items"]]
    assert found.index("SAM1") < found.index("5AM")  # both match; sorted by price, dearest first
    assert "SA51MMM" not in found
    dateless = client.get("/plates", params={"q": "sam", "format": "dateless", "max_price_pence": 1_000_000}).json()
    assert [i["normalized"] for i in dateless["items"]] == ["5AM"]
    pattern = client.get("/plates", params={"pattern": "SA51*", "limit": 100}).json()
    assert "SA51MMM" in [i["normalized"] for i in pattern["items"]]
    assert all(i["normalized"].startswith("SA51") for i in pattern["items"])


def test_search_paging(client: httpx.Client, engine: Engine) -> None:
    for n in range(1, 6):
        seed_plate(engine, f"PG {n}", 10_000 + n)  # dateless marks PG1..PG5
    first = client.get("/plates", params={"pattern": "PG?", "limit": 2, "sort": "price_asc"}).json()
    assert first["total"] == 5
    assert first["next_page"] == 2
    assert [i["normalized"] for i in first["items"]] == ["PG1", "PG2"]
    last = client.get("/plates", params={"pattern": "PG?", "limit": 2, "page": 3, "sort": "price_asc"}).json()
    assert [i["normalized"] for i in last["items"]] == ["PG5"]
    assert last["next_page"] is None
    beyond = client.get("/plates", params={"pattern": "PG?", "limit": 2, "page": 9}).json()
    assert beyond["items"] == []
    assert beyond["total"] == 5


def test_search_bad_parameters_are_4xx(client: httpx.Client) -> None:
    assert_error(client.get("/plates", params={"limit": 0}), 400)
    assert_error(client.get("/plates", params={"limit": 101}), 400)
    assert_error(client.get("/plates", params={"page": 0}), 400)
    assert_error(client.get("/plates", params={"sort": "random"}), 400)
    assert_error(client.get("/plates", params={"format": "square"}), 400)
    assert_error(client.get("/plates", params={"q": "a b!"}), 422, "invalid_search")
    assert_error(client.get("/plates", params={"pattern": "%"}), 422, "invalid_search")
    assert_error(client.get("/plates", params={"min_price_pence": 5, "max_price_pence": 1}), 422, "invalid_search")


def test_unknown_route_and_method_use_the_error_shape(client: httpx.Client) -> None:
    assert_error(client.get("/nowhere"), 404)
    assert_error(client.delete("/plates"), 405)


def test_body_over_one_megabyte_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/valuations", content=b'{"registration": "' + b"A" * (1024 * 1024 + 10) + b'"}',
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert_error(response, 413)


def test_openapi_is_served_and_dev_info_is_absent(client: httpx.Client) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert "/api/v1/plates/{registration}" in schema["paths"]
    assert not any(path.startswith("/api/v1/dev") for path in schema["paths"])
    assert_error(client.get("/dev/info"), 404)
    assert client.get("/schema/swagger").status_code == 200


def test_every_response_names_its_request(client: httpx.Client) -> None:
    ok, missing = client.get("/health"), client.get("/plates/QQQQQQQQ")
    assert ok.headers["x-request-id"] != missing.headers["x-request-id"]
    assert assert_error(missing, 422)["request_id"] == missing.headers["x-request-id"]
    forged = client.get("/health", headers={"X-Request-Id": "chosen-by-client"})
    assert forged.headers["x-request-id"] != "chosen-by-client"
