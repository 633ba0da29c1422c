"""The local stage: the local stack's app serves ``/dev/info``, which hands out working tokens from the
local issuer (verified by the same code path as Clerk's); the deployed app never serves it, even told
it runs locally; and the route table in ``deploy.py`` matches what the deployed app serves."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.api.deploy import SPEC
from services.local.issuer import LocalIssuer
from tests.servers import free_port
from tests.services.api.support import LOCAL_APP, running_api


@pytest.mark.slow
def test_dev_info_tokens_work_locally(base_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    issuer = LocalIssuer(tmp_path / "issuer", issuer_url=f"http://127.0.0.1:{port}")
    issuer.record_issuer_url()
    server = issuer.serve("127.0.0.1", port)
    env = {
        **base_env,
        "STAGE": "local",
        "CLERK_ISSUER": issuer.issuer_url,
        "CLERK_JWKS_URL": issuer.jwks_url,
        "ALLOWED_ORIGINS": "http://localhost:3000",
        "LOCAL_ISSUER_DIR": str(issuer.directory),
    }
    try:
        with running_api(env, tmp_path / "deployed.log") as url, httpx.Client(base_url=url + "/api/v1") as c:
            assert c.get("/dev/info").status_code == 404  # no minter handed in: no route
            assert "/api/v1/dev/info" not in c.get("/schema/openapi.json").json()["paths"]
        with (
            running_api(env, tmp_path / "uvicorn.log", app=LOCAL_APP) as url,
            httpx.Client(base_url=url + "/api/v1") as c,
        ):
            info = c.get("/dev/info").json()
            assert info["stage"] == "local"
            assert info["urls"]["openapi"].endswith("/api/v1/schema")
            assert any("curl" in example for example in info["examples"])
            user = {"Authorization": f"Bearer {info['tokens']['user']}"}
            admin = {"Authorization": f"Bearer {info['tokens']['admin']}"}
            assert c.get("/offers", headers=user).status_code == 200
            assert c.get("/offers", params={"all": "true"}, headers=user).status_code == 403
            assert c.get("/offers", params={"all": "true"}, headers=admin).status_code == 200
            assert "/api/v1/dev/info" in c.get("/schema/openapi.json").json()["paths"]
    finally:
        server.shutdown()
        server.server_close()


def test_deploy_route_table_matches_the_app(client: httpx.Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    served = {(method.upper(), path) for path, item in paths.items() for method in item if method != "parameters"}
    declared = {(route.method, route.path) for route in SPEC.routes if not route.path.startswith("/api/v1/schema")}
    assert served == declared
