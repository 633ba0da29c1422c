"""SnapStart: what a restored environment refreshes, tested by calling the registered hooks as the Lambda
runtime does after a restore (``snapshot_restore_py.get_after_restore()``), against the real parts: a
PostgreSQL whose server-side sessions show which connections are alive, the JWKS endpoint counting its
fetches, a real rotation of the database secret (moto's Secrets Manager), and the random module's state."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import psycopg
import pytest
import snapshot_restore_py
from sqlalchemy import text

from services.api import snapstart
from services.api.resources import Resources, build_resources
from services.api.settings import ApiSettings
from services.core.connection import conninfo_from_sqlalchemy_url
from services.core.credentials import RotatingCredentials
from services.core.settings import load_settings
from tests.services.api.support import JwksServer, Signer

REPO = Path(__file__).resolve().parents[3]


def _restore(resources: Resources) -> None:
    """What the runtime does after resuming from a snapshot: call every registered hook with its arguments
    (here only those registered for ``resources``: other tests import the handler too)."""
    registered: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = cast(Any, snapshot_restore_py.get_after_restore())
    hooks = [(f, a, k) for f, a, k in registered if a and a[0] is resources]
    assert len(hooks) == 1
    for function, args, kwargs in hooks:
        function(*args, **kwargs)


@pytest.fixture
def resources(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    for name, value in base_env.items():
        monkeypatch.setenv(name, value)
    settings = ApiSettings(core=load_settings(base_env), public_url="http://127.0.0.1")
    built = build_resources(settings)
    snapstart.register(built)
    yield built
    built.forget_snapshot_state()


def _alive(url: str, pid: int) -> bool:
    with psycopg.connect(conninfo_from_sqlalchemy_url(url), autocommit=True) as admin:
        for _ in range(50):  # the server notices a closed socket within moments
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            if row is not None and row[0] == 0:
                return False
            admin.execute("SELECT pg_sleep(0.05)")
    return True


def test_the_handler_registers_the_hook_with_the_apps_resources(base_env: dict[str, str]) -> None:
    probe = (
        "import json, snapshot_restore_py\n"
        "from services.api import app, handler, snapstart\n"
        "hooks = snapshot_restore_py.get_after_restore()\n"
        "print(json.dumps([[f is snapstart.after_restore, a[0] is app.resources] for f, a, k in hooks]))\n"
    )
    env = {**base_env, "AWS_LAMBDA_FUNCTION_NAME": "reggie-ci-api", "AWS_DEFAULT_REGION": "eu-west-2"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[True, True]]


def test_a_restore_reseeds_the_random_module(resources: Resources) -> None:
    snapshot = random.getstate()  # what every environment resumed from one snapshot starts with
    without_hooks = random.Random()
    without_hooks.setstate(snapshot)
    draws: list[float] = []
    for _ in range(2):  # two environments resumed from the same snapshot
        random.setstate(snapshot)
        _restore(resources)
        draws.append(random.random())
    assert draws[0] != draws[1]
    assert without_hooks.random() not in draws


def test_a_restore_drops_open_connections_and_the_next_request_reconnects(
    resources: Resources, migrated_database_url: str
) -> None:
    loop = asyncio.new_event_loop()  # Mangum's loop, which lives on in the snapshot
    reads = resources.require_reads()
    read_pid = loop.run_until_complete(reads.one("SELECT pg_backend_pid() AS pid", {})).pid
    session = resources.database._open()
    write_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    session.commit()
    session.close()  # back in the engine's pool
    assert reads.idle_connections == 1

    _restore(resources)

    assert reads.idle_connections == 0
    assert not _alive(migrated_database_url, read_pid)  # closed, not left for the server to time out
    new_read_pid = loop.run_until_complete(reads.one("SELECT pg_backend_pid() AS pid", {})).pid
    session = resources.database._open()
    new_write_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    session.close()
    assert new_read_pid != read_pid
    assert new_write_pid != write_pid
    loop.run_until_complete(reads.close())
    loop.close()


def test_a_restore_refetches_the_jwks_however_young_it_looks(
    resources: Resources, signer: Signer, jwks: JwksServer
) -> None:
    assert resources.verify is not None
    token = signer.mint()
    resources.verify(token)
    before = jwks.hits
    resources.verify(token)
    assert jwks.hits == before  # cached: on the snapshot's clock it was fetched moments ago
    _restore(resources)
    resources.verify(token)
    assert jwks.hits == before + 1


def test_a_restore_rereads_the_secrets(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    first = resources.secrets.get("stripe_webhook_secret")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", first + "-rotated")
    assert resources.secrets.get("stripe_webhook_secret") == first  # read once, cached
    _restore(resources)
    assert resources.secrets.get("stripe_webhook_secret") == first + "-rotated"


def test_forgotten_database_credentials_are_read_afresh_whatever_the_clock_says(
    resources: Resources, moto_port: int
) -> None:
    """The snapshot's clock says the secret was read a moment ago (the 30 s reread guard would refuse), but
    RDS rotated the password while the snapshot slept: after the restore, the first login reads it again."""
    # The suite's moto server, not an in-process mock: stopping mock_aws resets every moto backend, which
    # would also empty the server's R2 bucket that later API tests use.
    client = boto3.client(
        "secretsmanager",
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"rds-{uuid.uuid4().hex}"
    arn = client.create_secret(Name=name, SecretString=json.dumps({"username": "api", "password": "one"}))["ARN"]
    frozen = 1000.0
    credentials = RotatingCredentials(arn, client, clock=lambda: frozen)
    assert credentials.current() == ("api", "one")
    client.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": "api", "password": "two"}))
    assert credentials.reread() is False  # too soon by the snapshot's clock
    # A deployed stage's resources hold these credentials (the read and the write side share them).
    snapstart.after_restore(dataclasses.replace(resources, credentials=credentials))
    assert credentials.current() == ("api", "two")
