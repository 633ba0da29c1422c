"""``python -m services.local`` (``make dev``) as a subprocess: up, used, stopped, rerun; and bad input.

Every test gives the stack free ports and a temporary state folder, so it never touches a
developer's ``.local/`` or a running ``make dev``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from services.core.registration import parse
from services.core.schema import REPO_ROOT
from services.local.issuer import LocalIssuer
from services.local.ports import port_is_free
from services.local.r2 import LOCAL_BUCKET, s3_client
from services.local.seed import CURATED, LOCAL_BUYER, LOCAL_SELLER, generate_plates

START_TIMEOUT_S = 90


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


class Stack:
    """One ``python -m services.local`` child with its output collected line by line."""

    def __init__(
        self,
        state: Path,
        ports: list[int],
        *,
        csv: Path | None = None,
        env: dict[str, str] | None = None,
        sigint_ignored: bool = False,
    ):
        self.state = state
        self.api_port, self.pg_port, self.r2_port, self.issuer_port, self.stripe_port, *standins = ports
        arguments = [
            sys.executable, "-m", "services.local", "--state-dir", str(state),
            "--api-port", str(self.api_port), "--postgres-port", str(self.pg_port),
            "--r2-port", str(self.r2_port), "--issuer-port", str(self.issuer_port),
            "--stripe-port", str(self.stripe_port), "--resend-port", str(standins[0]), "--dvla-port", str(standins[1]),
            "--auction-csv", str(csv or state / "absent.csv"), "--plates", "60",
        ]  # fmt: skip
        if sigint_ignored:  # as a shell leaves a background job: `make dev &`
            arguments = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh", *arguments]
        environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (env or {})
        self.process = subprocess.Popen(
            arguments, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout_s: float = START_TIMEOUT_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.process.poll() is not None:
                self._reader.join(5)
                if match := re.search(pattern, self.output):
                    return match
                raise AssertionError(f"stack exited ({self.process.returncode}) before {pattern!r}:\n{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} within {timeout_s} s:\n{self.output}")

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(30)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _leftovers(state: Path, api_port: int) -> list[str]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or ())
        if str(state) in command or f"--port {api_port}" in command:
            found.append(f"{process.info['pid']}: {command}")
    return found


def _csv(path: Path) -> Path:
    rows = [",Unnamed: 0,lot_no,reg,starting_price,current_price,length,category"]
    serials = "ABCDEFGHJKLMNOPRSTUVWXY"  # no I or Q: marks the DVLA issues (others are reported, not stored)
    rows += [f"{i},{i},[{i + 1}],AB{10 + i % 10} CD{serials[i % len(serials)]},250,{300 + i},8," for i in range(40)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _journey(api: str, state: Path, stripe_port: int) -> None:
    """The README's examples answer, and a buyer pays for a seeded plate end to end on the stand-ins:
    offer, the seller accepts, checkout, Pay on the Stripe stand-in's page (which calls the webhook),
    sold, and the worker's emails listed by /dev/emails."""
    issuer = LocalIssuer(state / "issuer")
    seller = {"Authorization": f"Bearer {issuer.mint(subject=LOCAL_SELLER)}"}
    buyer = {"Authorization": f"Bearer {issuer.mint(subject=LOCAL_BUYER)}"}
    with httpx.Client(base_url=f"{api}/api/v1", timeout=30) as c:
        assert c.get("/plates/AB12CDE").json()["listing"]["asking_price_pence"] == 49_500
        assert "SAM1" in [i["normalized"] for i in c.get("/plates", params={"q": "sam"}).json()["items"]]
        assert c.get("/plates/AB12CDE/fits", params={"vehicle": "AA19AAA"}).json()["fits"] is True
        made = c.post("/offers", json={"registration": "AB12CDE", "amount_pence": 45_000}, headers=buyer).json()
        assert c.post(f"/offers/{made['id']}/accept", headers=seller).json()["status"] == "accepted"
        checkout = c.post(f"/offers/{made['id']}/checkout", headers=buyer).json()
        assert checkout["url"].startswith(f"http://127.0.0.1:{stripe_port}/c/pay/")
        assert "<button>Pay</button>" in httpx.get(checkout["url"]).text
        paid_page = httpx.post(checkout["url"], timeout=30)
        assert paid_page.status_code == 200, paid_page.text
        assert c.get(f"/offers/{made['id']}", headers=buyer).json()["status"] == "paid"
        deadline = time.monotonic() + 20
        subjects: list[str] = []
        while time.monotonic() < deadline and "Payment received for AB12 CDE" not in subjects:
            time.sleep(0.5)
            subjects = [e["subject"] for e in c.get("/dev/emails").json()["items"]]
        assert {"Payment received for AB12 CDE", "AB12 CDE is sold", "New offer of £450 on AB12 CDE"} <= set(subjects)


@pytest.mark.slow
def test_stack_comes_up_serves_survives_a_kill_and_stops_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ports = _free_ports(7)
    csv = _csv(tmp_path / "auctions.csv")
    # The valuation model is another team's moving part; its fallback keeps this test about the stack.
    isolated = {"VALUATION_BACKEND": "fallback"}
    stack = Stack(state, ports, csv=csv, env=isolated)
    try:
        during_start = _poll_until_up(stack, f"http://127.0.0.1:{stack.api_port}/api/v1/plates?limit=1")
        stack.wait_for(r"stack is up in")
        # While PostgreSQL was created, migrated and seeded, the listening API said so; never a 500.
        assert set(during_start) <= {"starting", "ok"}, during_start
        assert "starting" in during_start, during_start
        stack.wait_for(r"sales: imported \d+ of 40 auction lots")
        seeded = len({r.normalized for r, _ in generate_plates(60)} | {parse(m).normalized for m, _ in CURATED})
        assert f"seeded {seeded} listed plates" in stack.output
        api = f"http://127.0.0.1:{stack.api_port}"
        assert f"curl -s {api}/api/v1/health/deep" in stack.output

        # A listed plate, read through the database the stack serves.
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.pg_port}/reggie") as conn:
            registration, status = conn.execute("SELECT registration, status FROM plates LIMIT 1").fetchone()  # type: ignore[misc]
            sales = conn.execute("SELECT count(*) FROM sales").fetchone()
        assert status == "listed"
        assert sales == (40,)

        # An upload to the R2 stand-in, the way the API's presigned URLs will be used.
        s3 = s3_client(f"http://127.0.0.1:{stack.r2_port}")
        s3.put_object(Bucket=LOCAL_BUCKET, Key=f"claims/1/{registration}.pdf", Body=b"%PDF-1.7 test")
        assert s3.head_object(Bucket=LOCAL_BUCKET, Key=f"claims/1/{registration}.pdf")["ContentLength"] == 13
        cors = s3.get_bucket_cors(Bucket=LOCAL_BUCKET)["CORSRules"][0]
        assert "PUT" in cors["AllowedMethods"]
        assert "http://localhost:3000" in cors["AllowedOrigins"]

        # The API verifies a locally minted token exactly as it verifies Clerk's (JWKS over HTTP).
        token = LocalIssuer(state / "issuer").mint(subject="user_local_seller")
        request = urllib.request.Request(f"{api}/api/v1/offers", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{api}/api/v1/health/deep", timeout=10) as response:
            assert response.status == 200
        _journey(api, state, stack.stripe_port)
        _services_log_in_as_their_roles(stack.pg_port)

        # Killed outright (no cleanup runs): the API dies with it, PostgreSQL is left behind...
        stack.kill()
        deadline = time.monotonic() + 15
        while not port_is_free("127.0.0.1", stack.api_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert port_is_free("127.0.0.1", stack.api_port), "the API outlived the killed stack"
        assert not port_is_free("127.0.0.1", stack.pg_port)

        # ...and a rerun on the same state stops that orphan, creates nothing twice and comes up again.
        again = Stack(state, ports, csv=csv, env=isolated, sigint_ignored=True)
        try:
            again.wait_for(r"stack is up in")
            again.wait_for(r"sales: 40 auction lots already imported")
            assert "database: at " in again.output
            assert "seeded" not in again.output
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.pg_port}/reggie") as conn:
                assert conn.execute("SELECT count(*) FROM plates").fetchone() == (seeded,)
            # Ctrl-C (even with SIGINT ignored by the parent shell): every child stops, nothing is left
            # running, no traceback.
            assert again.interrupt() == 0
            assert "Traceback" not in again.output
        finally:
            again.kill()
        assert _leftovers(state, stack.api_port) == []
    finally:
        stack.kill()


def _services_log_in_as_their_roles(pg_port: int) -> None:
    """The stack's API and worker are connected as their own roles (as deployed), and the API's role has
    no DDL and cannot read the migrator's table in the local database."""
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg_port}/reggie") as conn:
        logins = conn.execute(
            "SELECT DISTINCT usename, application_name FROM pg_stat_activity "
            "WHERE datname = 'reggie' AND application_name IN ('reggie-api', 'worker')"
        ).fetchall()
    assert set(logins) == {("reggie_api", "reggie-api"), ("reggie_worker", "worker")}, logins
    with psycopg.connect(f"postgresql://reggie_api@127.0.0.1:{pg_port}/reggie", autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE mine (id int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT version_num FROM alembic_version")


def _poll_until_up(stack: Stack, url: str) -> list[str]:
    """What ``url`` answered from the moment the API listened until the stack said it is up: ``ok``, or
    each error's code (``HTTP <status>`` for an error without the API's shape)."""
    answers: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    while not any("stack is up in" in line for line in list(stack.lines)) and time.monotonic() < deadline:
        if stack.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                answers.append("ok" if response.status == 200 else f"HTTP {response.status}")
        except urllib.error.HTTPError as error:
            try:
                answers.append(json.loads(error.read())["code"])
            except ValueError:
                answers.append(f"HTTP {error.code}")
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(0.05)
    return answers


def _fails_with(stack: Stack, message: str) -> None:
    code = stack.process.wait(60)
    stack._reader.join(5)
    assert code == 1, stack.output
    assert "Traceback" not in stack.output
    assert re.search(message, stack.output), stack.output
    assert _leftovers(stack.state, stack.api_port) == []


def test_port_taken_is_one_clear_line(tmp_path: Path) -> None:
    ports = _free_ports(7)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[0]))
        squatter.listen()
        _fails_with(Stack(tmp_path / "state", ports), rf"make dev: port 127\.0\.0\.1:{ports[0]} is taken")


def test_corrupt_postgres_folder_is_named(tmp_path: Path) -> None:
    data = tmp_path / "state" / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "junk").write_text("not a database")
    _fails_with(Stack(tmp_path / "state", _free_ports(7)), r"make dev: .*postgres/data is corrupt")


def test_corrupt_issuer_key_is_named(tmp_path: Path) -> None:
    issuer = tmp_path / "state" / "issuer"
    issuer.mkdir(parents=True)
    (issuer / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n")
    _fails_with(Stack(tmp_path / "state", _free_ports(7)), r"make dev: .*key\.pem is corrupt")


def test_state_folder_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("oops")
    _fails_with(Stack(tmp_path / "state", _free_ports(7)), r"make dev: .*state is corrupt: it is a file")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://postgres@127.0.0.1:{port}/reggie", r"make dev: cannot reach the database DATABASE_URL names"),
        ("mysql://root@127.0.0.1/reggie", r"make dev: DATABASE_URL is malformed"),
    ],
)
def test_bad_database_url_is_one_clear_line(tmp_path: Path, url: str, message: str) -> None:
    ports = _free_ports(8)
    stack = Stack(tmp_path / "state", ports[:7], env={"DATABASE_URL": url.format(port=ports[7])})
    _fails_with(stack, message)
