"""Dependencies down: the API answers 503 with the error shape, never a 500, and liveness stays up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.servers import free_port
from tests.services.api.conftest import bearer
from tests.services.api.support import Signer, running_api
from tests.services.api.test_health_plates import assert_error


@pytest.mark.slow
def test_database_and_storage_down_are_503(base_env: dict[str, str], signer: Signer, tmp_path: Path) -> None:
    dead = free_port()  # nothing listens here
    env = {
        **base_env,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{dead}/reggie",
        "BUCKET_ENDPOINT": f"http://127.0.0.1:{dead}",
    }
    with running_api(env, tmp_path / "uvicorn.log") as url, httpx.Client(base_url=url + "/api/v1", timeout=60) as c:
        assert c.get("/health").status_code == 200
        deep = c.get("/health/deep")
        assert deep.status_code == 503
        checks = deep.json()["checks"]
        assert checks["database"]["status"] == "fail"
        assert checks["storage"]["status"] == "fail"
        assert checks["valuation"]["status"] == "ok"
        assert str(dead) not in deep.text  # names the failing dependency, never its address
        assert_error(c.get("/plates/AB12CDE"), 503, "database_unavailable")
        assert_error(c.get("/plates", params={"q": "sam"}), 503, "database_unavailable")
        assert_error(c.get("/offers", headers=bearer(signer.mint(sub="user_outage"))), 503, "database_unavailable")
        assert_error(c.post("/valuations", json={"registration": "A1"}), 503, "database_unavailable")


@pytest.mark.slow
def test_a_schema_behind_the_code_is_503_not_500(
    base_env: dict[str, str], signer: Signer, fresh_database_url: str, tmp_path: Path
) -> None:
    """An empty database (a deploy whose migration has not run, or the local stack still migrating)."""
    env = {**base_env, "DATABASE_URL": fresh_database_url}
    with running_api(env, tmp_path / "uvicorn.log") as url, httpx.Client(base_url=url + "/api/v1", timeout=60) as c:
        for response in (
            c.get("/plates/AB12CDE"),
            c.get("/plates", params={"q": "sam"}),
            c.get("/offers", headers=bearer(signer.mint(sub="user_schema_behind"))),
        ):
            body = assert_error(response, 503, "schema_behind")
            assert "relation" not in body["message"]
