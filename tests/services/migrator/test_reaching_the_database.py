"""The migrator reaching a database that is not there yet: a server that starts listening only after a
while (a NAT instance still booting, a paused Aurora resuming), a secret that cannot be read at first, the
backoff schedule within the time allowed, and configuration errors that are not retried."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from sqlalchemy.engine import make_url

from services.core import settings as settings_module
from services.core.schema import head_revision
from services.core.settings import SettingsError
from services.migrator.handler import DatabaseUnreachable, connect_with_backoff, handler, migrate
from tests.servers import free_port
from tests.tls_front import TlsFront


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@contextmanager
def late_forwarder(target_port: int, after_s: float) -> Iterator[tuple[int, list[float]]]:
    """A port where nothing listens for ``after_s`` seconds (connections are refused, as by a database not
    up yet), then a TCP forwarder to ``target_port``. Yields the port and the times connections arrived."""
    port, arrivals, stop = free_port(), list[float](), threading.Event()

    def serve() -> None:
        if stop.wait(after_s):
            return
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen()
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                arrivals.append(time.monotonic())
                upstream = socket.create_connection(("127.0.0.1", target_port))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, arrivals
    finally:
        stop.set()
        thread.join(5)


def test_a_database_that_comes_up_late_is_migrated(fresh_database_url: str) -> None:
    url = make_url(fresh_database_url)
    assert url.port is not None
    started = time.monotonic()
    with late_forwarder(url.port, after_s=2.5) as (port, arrivals):
        answer = migrate(url.set(port=port).render_as_string(hide_password=False), connect_wait_s=30)
    assert answer == {"status": "success", "from": None, "to": head_revision()}
    assert arrivals
    assert arrivals[0] - started >= 2.5


def test_a_secret_that_cannot_be_read_at_first_is_read_again(fresh_database_url: str) -> None:
    reads: list[float] = []

    def url() -> str:  # the first two reads meet a Secrets Manager endpoint that is not reachable yet
        reads.append(time.monotonic())
        if len(reads) <= 2:
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.eu-west-2.amazonaws.com/")
        return fresh_database_url

    answer = migrate(url, connect_wait_s=30)
    assert answer["status"] == "success", answer
    assert len(reads) == 3
    assert reads[1] - reads[0] >= 0.9
    assert reads[2] - reads[1] >= 1.9


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_backoff_doubles_to_fifteen_seconds_and_stops_at_the_deadline() -> None:
    fake = FakeTime()
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/reggie"
    with pytest.raises(DatabaseUnreachable) as caught:
        connect_with_backoff(lambda: closed, 60, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == [1, 2, 4, 8, 15, 15, 15]  # the last sleep is cut to what the 60 s leave
    assert str(caught.value).startswith("no connection after 8 attempt(s) in 60 s; last: OperationalError")
    assert "\n" not in str(caught.value)


def test_a_configuration_error_is_not_retried() -> None:
    fake = FakeTime()

    def url() -> str:
        raise SettingsError("DB_SECRET_ARN='x' does not hold JSON with username and password")

    with pytest.raises(SettingsError):
        connect_with_backoff(url, 60, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == []
    answer = migrate(url, connect_wait_s=60)
    assert answer == {
        "status": "error",
        "message": "SettingsError: DB_SECRET_ARN='x' does not hold JSON with username and password",
    }


class LambdaContext:
    def __init__(self, remaining_s: float) -> None:
        self.remaining_s = remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


def test_the_deployed_handler_reads_the_secret_and_migrates(
    fresh_database_url: str, postgres_tls: TlsFront, postgres_ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on Lambda: DB_HOST, DB_PORT, DB_NAME and the RDS-managed secret (moto's Secrets Manager), over TLS
    verified against the region's roots: here the suite's CA stands in for the RDS roots, and the server is
    reached through its TLS front, which refuses anything but TLS."""
    url = make_url(fresh_database_url)
    monkeypatch.setattr(settings_module, "rds_ca_bundle", lambda region: postgres_ca_file)
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
        client = boto3.client("secretsmanager", region_name="eu-west-2")
        secret = json.dumps({"username": url.username, "password": url.password or ""})
        arn = client.create_secret(Name="rds!cluster-reggie", SecretString=secret)["ARN"]
        for name, value in {
            "STAGE": "dev-test",
            "SERVICE_NAME": "migrator",
            "DB_HOST": postgres_tls.host,
            "DB_PORT": str(postgres_tls.port),
            "DB_NAME": str(url.database),
            "DB_SECRET_ARN": arn,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        answer = handler({"action": "deploy"}, LambdaContext(300))
    assert answer == {"status": "success", "from": None, "to": head_revision()}
