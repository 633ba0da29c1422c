"""The API under test logs in as its own role (``reggie_api``), as a deployed stage does (through the suite's
TLS front with ``verify-full``), so every API test exercises exactly the privileges migration 0004 grants."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text


def test_the_api_is_connected_as_its_own_role(client: httpx.Client, engine: Engine) -> None:
    assert client.get("/health/deep").status_code == 200  # the API has connected by now
    with engine.connect() as conn:
        logins = conn.execute(
            text(
                "SELECT DISTINCT usename FROM pg_stat_activity "
                "WHERE datname = 'reggie_test' AND application_name = 'reggie-api'"
            )
        ).all()
    assert [login.usename for login in logins] == ["reggie_api"]
