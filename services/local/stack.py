"""``make dev``: the whole platform on this machine, on real parts, in seconds.

Start order, chosen so the slowest part (the API process importing its dependencies) starts first
and everything else happens while it does:

1. check every port is free and the state folder is sound (standard library only), so a problem
   ends in one clear line before anything starts;
2. spawn the API (uvicorn on ``services.local.api:app``: the deployed app plus the local token
   minter and the valuation model in process) with the same environment variables the infra sets
   on Lambda, pointed at the local parts below. It connects to nothing until asked;
3. the token issuer (an RSA key in ``.local/issuer``, its JWKS on loopback) and, in a thread, the
   R2 stand-in (moto's S3 server) with the bucket and its CORS;
4. PostgreSQL: the embedded server on 127.0.0.1:54322 with its data in ``.local/postgres``, or
   whatever ``DATABASE_URL`` names (any PostgreSQL 15+); the ``reggie`` database; migrations to
   head (the revisions the migrator Lambda runs), which create each service's role; the seed data.
   On the embedded server every service logs in as its own role, as deployed (the API as
   ``reggie_api``, the worker as ``reggie_worker``, the import as ``reggie_scraper``; the server trusts
   loopback logins, where a deployed stage signs IAM tokens), and only migrations and the seed use the
   superuser. A ``DATABASE_URL`` of your own is used as given by everything;
5. wait until ``/api/v1/health/deep`` answers 200, print the URLs, then import the DVLA auction
   results into ``sales`` in a background process, and start the worker's loop (every 2 s: lapse
   unpaid accepted offers, send the email outbox).

Stripe, Resend and the DVLA are the stand-ins of :mod:`services.local.standins` on loopback, started
before the API (in milliseconds) and handed to it through the same variables a deployed stage sets
(``STRIPE_API_BASE``, ``RESEND_API_URL``, ``DVLA_API_URL``, their keys): checkout opens the Stripe
stand-in's page, whose *Pay* button reports the payment to the API's webhook, the worker's emails
land in the Resend stand-in (``GET /api/v1/dev/emails`` lists them), and ``/plates/{mark}/fits``
asks the DVLA stand-in (its test vehicles, e.g. ``AA19AAA``).

Ctrl-C (or SIGTERM) stops the API, the import, the servers and PostgreSQL, in that order. Rerunning
reuses ``.local/`` (no initdb, no new key, no duplicate rows) and stops a PostgreSQL an earlier run
left behind on the same data folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from services.core import contract
from services.core.settings import SettingsError, load_settings
from services.local.ports import port_is_free
from services.local.r2 import LOCAL_ACCESS_KEY_ID, LOCAL_BUCKET, LOCAL_SECRET_ACCESS_KEY, LocalR2
from services.local.starting import STARTING_FILE_VARIABLE

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from services.local.postgres import EmbeddedPostgres

__all__ = ["DEFAULT_AUCTION_CSV", "Options", "StackError", "main"]

# The repository root, computed here rather than imported: services.core.schema pulls in Alembic.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_AUCTION_CSV = REPO_ROOT.parent / "shared" / "data" / "dvla-auctions-2021-2024" / "combined_auction_results.csv"
DATABASE_NAME = "reggie"
ALLOWED_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")
LOCAL_API = "services.local.api:app"
"""The app uvicorn serves: the deployed API handed what only the local stack has."""
LOCAL_EMAIL_SENDER = "Reggie <notifications@reggie.local>"
_HEALTH_TIMEOUT_S = 60.0
_MIN_SERVER_VERSION = 150000


class StackError(RuntimeError):
    """A problem the developer must fix; printed as one line, without a traceback."""


@dataclass(frozen=True)
class Options:
    state_dir: Path = REPO_ROOT / ".local"
    host: str = "127.0.0.1"
    api_port: int = 8000
    postgres_port: int = 54322
    r2_port: int = 54323
    issuer_port: int = 54324
    stripe_port: int = 54325
    resend_port: int = 54326
    dvla_port: int = 54327
    auction_csv: Path | None = DEFAULT_AUCTION_CSV
    plates: int = 300
    database_url: str | None = None
    """``DATABASE_URL`` from the environment: replaces the embedded server."""


def _parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m services.local", description="Run the Reggie platform locally.")
    parser.add_argument("--state-dir", type=Path, default=Options.state_dir, help="where local state lives")
    parser.add_argument("--api-port", type=int, default=Options.api_port)
    parser.add_argument("--postgres-port", type=int, default=Options.postgres_port)
    parser.add_argument("--r2-port", type=int, default=Options.r2_port)
    parser.add_argument("--issuer-port", type=int, default=Options.issuer_port)
    parser.add_argument("--stripe-port", type=int, default=Options.stripe_port)
    parser.add_argument("--resend-port", type=int, default=Options.resend_port)
    parser.add_argument("--dvla-port", type=int, default=Options.dvla_port)
    parser.add_argument("--plates", type=int, default=Options.plates, help="how many sample plates to list")
    parser.add_argument(
        "--auction-csv", type=Path, default=DEFAULT_AUCTION_CSV, help="DVLA results to import (skipped if absent)"
    )
    args = parser.parse_args(argv)
    return Options(
        state_dir=args.state_dir.resolve(),
        api_port=args.api_port,
        postgres_port=args.postgres_port,
        r2_port=args.r2_port,
        issuer_port=args.issuer_port,
        stripe_port=args.stripe_port,
        resend_port=args.resend_port,
        dvla_port=args.dvla_port,
        plates=args.plates,
        auction_csv=args.auction_csv,
        database_url=os.environ.get("DATABASE_URL") or None,
    )


def _die_with_parent() -> Any:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when the stack dies, even by SIGKILL, so a
    killed ``make dev`` leaves no API holding port 8000. ``None`` elsewhere (then a rerun names the
    taken port instead)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: nothing is imported in the child
    pr_set_pdeathsig = 1

    def arm() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return arm


def _say(message: str) -> None:
    print(message, flush=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class LocalStack:
    options: Options
    started_at: float = field(default_factory=time.monotonic)
    postgres: EmbeddedPostgres | None = None
    r2: LocalR2 = field(init=False)
    issuer_server: Any = None
    api: subprocess.Popen[bytes] | None = None
    importer: subprocess.Popen[bytes] | None = None
    engine: Engine | None = None
    database_url: str = ""
    standins: list[Any] = field(default_factory=list[Any])
    worker_stop: threading.Event = field(default_factory=threading.Event)
    worker: threading.Thread | None = None
    worker_engine: Engine | None = None

    def __post_init__(self) -> None:
        o = self.options
        self.r2 = LocalR2(o.host, o.r2_port)
        self.issuer_url = f"http://{o.host}:{o.issuer_port}"
        self.api_url = f"http://{o.host}:{o.api_port}"
        self.starting_marker = o.state_dir / "starting"
        self.stripe_url = f"http://{o.host}:{o.stripe_port}"
        self.resend_url = f"http://{o.host}:{o.resend_port}"
        self.dvla_url = f"http://{o.host}:{o.dvla_port}"

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._preflight()
        self.database_url = self._database_url()
        self.starting_marker.touch()  # the API answers 503 "starting" until the database is ready
        self._start_standins()
        self._start_api()
        self._start_issuer()
        r2_failure: list[BaseException] = []
        r2_thread = threading.Thread(target=self._start_r2, args=(r2_failure,), name="r2-start", daemon=True)
        r2_thread.start()
        try:
            self._start_database()
            self._migrate_and_seed()
        finally:
            r2_thread.join()  # stopping a half-started R2 stand-in (a database that failed) would raise
        if r2_failure:
            raise StackError(f"the R2 stand-in did not start: {_first_line(r2_failure[0])}")
        self.starting_marker.unlink(missing_ok=True)
        self._wait_healthy()
        self._start_auction_import()
        self._start_worker()

    def _preflight(self) -> None:
        o = self.options
        if o.state_dir.exists() and not o.state_dir.is_dir():
            raise StackError(f"{o.state_dir} is corrupt: it is a file, not a folder; delete it to start afresh")
        ports = {
            "the API": o.api_port,
            "the R2 stand-in": o.r2_port,
            "the token issuer": o.issuer_port,
            "the Stripe stand-in": o.stripe_port,
            "the Resend stand-in": o.resend_port,
            "the DVLA stand-in": o.dvla_port,
        }
        if o.database_url is None:
            ports["PostgreSQL"] = o.postgres_port
        if len(set(ports.values())) != len(ports):
            raise StackError(f"two services were given the same port: {ports}")
        if o.database_url is None and not port_is_free(o.host, o.postgres_port):
            # A server an earlier run left behind on our own data folder is ours to stop.
            self._embedded().stop_orphan()
        for what, port in ports.items():
            if not port_is_free(o.host, port):
                raise StackError(f"port {o.host}:{port} is taken, so {what} cannot start; stop whatever listens there")
        o.state_dir.mkdir(parents=True, exist_ok=True)

    def _embedded(self) -> EmbeddedPostgres:
        from services.local.postgres import EmbeddedPostgres  # noqa: PLC0415 - after the API is spawned

        if self.postgres is None:
            self.postgres = EmbeddedPostgres(self.options.state_dir / "postgres", port=self.options.postgres_port)
        return self.postgres

    def _database_url(self) -> str:
        """The SQLAlchemy URL of the database the stack will use (checked for form, not yet reachability)."""
        o = self.options
        if o.database_url is None:
            return f"postgresql+psycopg://postgres@{o.host}:{o.postgres_port}/{DATABASE_NAME}"
        try:
            settings = load_settings(
                {contract.STAGE: "local", contract.SERVICE_NAME: "local", contract.DATABASE_URL: o.database_url}
            )
        except SettingsError as exc:
            raise StackError(str(exc)) from None
        assert settings.database is not None
        assert settings.database.url is not None
        return settings.database.url

    def _service_url(self, service: str) -> str:
        """The URL ``service`` connects with: as its own role on the embedded server (trust on loopback
        stands in for the IAM token), else the ``DATABASE_URL`` given."""
        o = self.options
        if o.database_url is not None:
            return self.database_url
        return f"postgresql+psycopg://{contract.database_role(service)}@{o.host}:{o.postgres_port}/{DATABASE_NAME}"

    def _start_database(self) -> None:
        if self.options.database_url is not None:
            self._check_external_database()
            return
        postgres = self._embedded()
        postgres.start()
        postgres.create_database(DATABASE_NAME)

    def _check_external_database(self) -> None:
        import psycopg  # noqa: PLC0415

        libpq = "postgresql://" + self.database_url.split("://", 1)[1]
        try:
            with psycopg.connect(libpq, connect_timeout=5) as conn:
                version = conn.info.server_version
        except psycopg.Error as exc:
            raise StackError(f"cannot reach the database DATABASE_URL names: {_first_line(exc)}") from None
        if version < _MIN_SERVER_VERSION:
            raise StackError(f"DATABASE_URL points at PostgreSQL {version // 10000}; version 15 or newer is needed")

    def _migrate_and_seed(self) -> None:
        from services.core.db import build_engine  # noqa: PLC0415
        from services.core.schema import upgrade_to_head  # noqa: PLC0415
        from services.local.seed import seed  # noqa: PLC0415

        self.engine = build_engine(self.database_url, on_lambda=False, application_name="local-stack")
        before, after = upgrade_to_head(self.database_url)
        _say(f"database: migrated {before or 'empty'} -> {after}" if before != after else f"database: at {after}")
        result = seed(self.engine, count=self.options.plates)
        if result.plates_inserted:
            _say(f"database: seeded {result.plates_inserted} listed plates")

    def _start_auction_import(self) -> None:
        path = self.options.auction_csv
        if path is None or not path.is_file():
            _say(f"sales: no auction results at {path}; skipping the import")
            return
        # A child process: parsing every mark takes seconds of CPU that the stack's threads need.
        self.importer = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "services.scraper",
                "import",
                str(path),
                "--database-url",
                self._service_url("scraper"),
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the stack, which then stops the import itself
        )

    def _start_standins(self) -> None:
        from services.local.standins.dvla import start_dvla  # noqa: PLC0415
        from services.local.standins.resend import start_resend  # noqa: PLC0415
        from services.local.standins.stripe import start_stripe  # noqa: PLC0415

        o = self.options
        webhook = f"{self.api_url}/api/v1/webhooks/stripe"
        self.standins = [
            start_stripe(host=o.host, port=o.stripe_port, webhook_url=webhook),
            start_resend(host=o.host, port=o.resend_port),
            start_dvla(host=o.host, port=o.dvla_port),
        ]

    def _start_worker(self) -> None:
        """The worker's run every 2 s in a thread: what the deployed schedule does every minute."""
        from services.core.db import build_engine  # noqa: PLC0415
        from services.core.external.email import Mailer  # noqa: PLC0415
        from services.worker.jobs import run_once  # noqa: PLC0415
        from services.worker.settings import resend_settings  # noqa: PLC0415

        engine = self.worker_engine = build_engine(
            self._service_url("worker"), on_lambda=False, application_name="worker"
        )
        mailer = Mailer(resend_settings({**os.environ, **self.api_environment()}))

        def loop() -> None:
            while not self.worker_stop.wait(2.0):
                try:
                    run_once(engine, mailer)
                except Exception as exc:  # a bad run is reported; the next one tries again
                    _say(f"worker: {_first_line(exc)}")

        self.worker = threading.Thread(target=loop, name="worker", daemon=True)
        self.worker.start()

    def _start_issuer(self) -> None:
        from services.local.issuer import LocalIssuer  # noqa: PLC0415

        issuer = LocalIssuer(self.options.state_dir / "issuer", issuer_url=self.issuer_url)
        self.issuer_server = issuer.serve(self.options.host, self.options.issuer_port)
        issuer.record_issuer_url()

    def _start_r2(self, failures: list[BaseException]) -> None:
        try:
            self.r2.start(bucket=LOCAL_BUCKET, allowed_origins=ALLOWED_ORIGINS)
        except Exception as exc:  # reported by start() on the main thread
            failures.append(exc)

    def api_environment(self) -> dict[str, str]:
        """What the API process sees: the Lambda environment contract, pointed at the local parts."""
        from services.local.standins import dvla, resend, stripe  # noqa: PLC0415 - their keys; stripe loads httpx

        return {
            contract.STAGE: "local",
            contract.SERVICE_NAME: "api",
            contract.LOG_LEVEL: os.environ.get(contract.LOG_LEVEL, "INFO"),
            contract.DATABASE_URL: self._service_url("api"),
            contract.ALLOWED_ORIGINS: ",".join(ALLOWED_ORIGINS),
            contract.CLERK_ISSUER: self.issuer_url,
            contract.CLERK_JWKS_URL: contract.clerk_jwks_url(self.issuer_url),
            contract.BUCKET_NAME: LOCAL_BUCKET,
            contract.BUCKET_ENDPOINT: self.r2.endpoint,
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            contract.secret_value_variable("r2_access_key_id"): LOCAL_ACCESS_KEY_ID,
            contract.secret_value_variable("r2_secret_access_key"): LOCAL_SECRET_ACCESS_KEY,
            "LOCAL_ISSUER_DIR": str(self.options.state_dir / "issuer"),
            STARTING_FILE_VARIABLE: str(self.starting_marker),
            "API_PUBLIC_URL": self.api_url,
            contract.STRIPE_API_BASE: self.stripe_url,
            contract.RESEND_API_URL: self.resend_url,
            contract.DVLA_API_URL: self.dvla_url,
            contract.EMAIL_SENDER: LOCAL_EMAIL_SENDER,
            contract.secret_value_variable("stripe_secret_key"): stripe.DEFAULT_SECRET_KEY,
            contract.secret_value_variable("stripe_webhook_secret"): stripe.DEFAULT_WEBHOOK_SECRET,
            contract.secret_value_variable("resend_api_key"): resend.DEFAULT_API_KEY,
            contract.secret_value_variable("dvla_api_key"): dvla.DEFAULT_API_KEY,
        }

    def _start_api(self) -> None:
        o = self.options
        if not (REPO_ROOT / "services" / "local" / "api.py").is_file():
            raise StackError("services/local/api.py is missing: the API cannot start")
        environment = {**os.environ, **self.api_environment()}
        environment.pop("AWS_PROFILE", None)  # the local credentials above must win
        self.api = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "uvicorn",
                LOCAL_API,
                "--host",
                o.host,
                "--port",
                str(o.api_port),
                "--no-server-header",
            ],
            cwd=REPO_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the stack only, which stops the API with SIGTERM
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 - spawned first, before the stack starts any thread
        )

    def _wait_healthy(self) -> None:
        assert self.api is not None
        url = f"{self.api_url}/api/v1/health/deep"
        deadline = time.monotonic() + _HEALTH_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            code = self.api.poll()
            if code is not None:
                raise StackError(f"the API exited with code {code} while starting (its output is above)")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as answer:
                last = f"{answer.code} {answer.read(300).decode(errors='replace')}"
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise StackError(f"the API did not report healthy at {url} within {_HEALTH_TIMEOUT_S:.0f} s (last: {last})")

    # -- run and stop ----------------------------------------------------------------------------

    def banner(self) -> str:
        o = self.options
        api = self.api_url
        database = self.database_url.replace("postgresql+psycopg://", "postgresql://")
        where = f"data in {self.postgres.data}" if self.postgres is not None else "from DATABASE_URL"
        mint = (
            '.venv/bin/python -c "from services.local.issuer import mint_token; '
            "print(mint_token(subject='user_local_seller'))\""
        )
        if o.state_dir != Options.state_dir:
            mint = f"LOCAL_ISSUER_DIR={o.state_dir / 'issuer'} {mint}"
        return "\n".join(
            [
                f"Reggie local stack is up in {time.monotonic() - self.started_at:.1f} s (Ctrl-C stops everything)",
                f"  API           {api}/api/v1   OpenAPI docs: {api}/api/v1/schema",
                f"  PostgreSQL    {database}   ({where})",
                f"  R2 stand-in   {self.r2.endpoint}   bucket {LOCAL_BUCKET}",
                f"  token issuer  {self.issuer_url}   JWKS: {self.issuer_url}/.well-known/jwks.json",
                f"  stand-ins     Stripe {self.stripe_url}   Resend {self.resend_url}   DVLA {self.dvla_url}",
                f"  emails sent   {api}/api/v1/dev/emails",
                "Try:",
                f"  curl -s {api}/api/v1/health/deep",
                f'  TOKEN=$({mint}) && curl -s -H "Authorization: Bearer $TOKEN" {api}/api/v1/offers',
            ]
        )

    def wait(self) -> int:
        """Block until Ctrl-C / SIGTERM (returns 0) or the API dies (returns its exit code)."""
        assert self.api is not None
        while True:
            code = self.api.poll()
            if code is not None:
                _say(f"the API exited with code {code}; stopping the stack")
                return code or 1
            time.sleep(0.2)

    def stop(self) -> None:
        self.worker_stop.set()
        if self.worker is not None:
            self.worker.join(10)
        for child in (self.api, self.importer):
            if child is not None and child.poll() is None:
                child.terminate()  # SIGTERM: uvicorn shuts down gracefully; the import rolls back
        for child in (self.api, self.importer):
            if child is not None:
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        self.api = self.importer = None
        self.r2.stop()
        for standin in self.standins:
            standin.stop()
        if self.issuer_server is not None:
            self.issuer_server.shutdown()
            self.issuer_server.server_close()
        for engine in (self.engine, self.worker_engine):
            if engine is not None:
                engine.dispose()
        if self.postgres is not None:
            self.postgres.stop()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


def _known_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean bad input or state, printed as one line (imported late, like everything heavy)."""
    import psycopg  # noqa: PLC0415
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from services.local.issuer import IssuerStateError  # noqa: PLC0415
    from services.local.postgres import PostgresStartError  # noqa: PLC0415

    return (StackError, PostgresStartError, IssuerStateError, SettingsError, SQLAlchemyError, psycopg.Error)


def main(argv: list[str] | None = None) -> int:
    """Run the stack until interrupted; returns the process exit code."""
    options = _parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # A shell starting us in the background (`make dev &`, CI) leaves SIGINT ignored, and Python
    # keeps an inherited "ignore"; Ctrl-C and `kill -INT` must stop the stack regardless.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = LocalStack(options)
    code = 0
    try:
        stack.start()
        _say(stack.banner())
        code = stack.wait()
    except KeyboardInterrupt:
        _say("\nstopping the local stack")
    except Exception as exc:
        if isinstance(exc, _known_errors()):
            print(f"make dev: {_first_line(exc)}", file=sys.stderr, flush=True)
        elif os.environ.get("REGGIE_DEBUG"):
            raise
        else:
            print(
                f"make dev: unexpected {type(exc).__name__}: {_first_line(exc)} (REGGIE_DEBUG=1 shows the traceback)",
                file=sys.stderr,
            )
        code = 1
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            stack.stop()
    return code
