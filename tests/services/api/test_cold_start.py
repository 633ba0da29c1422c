"""The cold-start path stays lean: a fresh Lambda-like process that imports the handler and serves
plate lookups (of a mark with a fresh cached valuation) and searches has imported neither SQLAlchemy
nor botocore (nor PyJWT), although the bucket, the valuation function and sign-in are all configured;
the first write then loads SQLAlchemy, which proves the check can see it. (A lookup of a mark that
must be valued now invokes the valuation function, and so loads botocore: that one pays for it.)"""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.services.api.apigw_events import http_api_event
from tests.services.api.support import seed_plate
from tests.services.api.test_lambda_handler import drive

READ_PATH_MUST_NOT_LOAD = ("sqlalchemy", "botocore", "boto3", "jwt")


def test_plate_reads_load_neither_sqlalchemy_nor_botocore(base_env: dict[str, str], engine: Engine) -> None:
    seed_plate(engine, "CS51 ABC", 99_900)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence, details) "
                "VALUES ('CS51ABC', 'cold-start', 90000, 60000, 120000, '{}') "
                "ON CONFLICT (registration, model_version) DO UPDATE SET created_at = now()"
            )
        )
    deployed = {**base_env, "VALUATION_FUNCTION_NAME": "reggie-ci-valuation", "AWS_DEFAULT_REGION": "eu-west-2"}
    reads = [
        http_api_event("GET", "/api/v1/plates/CS51ABC", route_key="GET /api/v1/plates/{registration}"),
        http_api_event("GET", "/api/v1/plates/QQQQQQQQ", route_key="GET /api/v1/plates/{registration}"),
        http_api_event("GET", "/api/v1/plates", query="q=cs51&limit=5"),
        http_api_event("GET", "/api/v1/health"),
    ]
    imported, after_reads = drive(deployed, reads)
    assert imported["before_import"] == []
    assert not set(imported["loaded"]) & set(READ_PATH_MUST_NOT_LOAD), imported["loaded"]
    assert [r["statusCode"] for r in after_reads["responses"]] == [200, 422, 200, 200]
    assert not set(after_reads["loaded"]) & set(READ_PATH_MUST_NOT_LOAD), after_reads["loaded"]


def test_the_first_write_loads_sqlalchemy_and_nothing_else(base_env: dict[str, str]) -> None:
    write = [http_api_event("POST", "/api/v1/valuations", body={"registration": "A1"})]
    _, after_write = drive(base_env, write)
    assert [r["statusCode"] for r in after_write["responses"]] == [200]
    assert "sqlalchemy" in after_write["loaded"]
    assert "botocore" not in after_write["loaded"]  # no valuation function here: the heuristic answers
