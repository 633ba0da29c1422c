"""Cold start: a fresh Python process imports the API's Lambda handler and serves its first API
Gateway v2 event (``GET /api/v1/plates/{registration}``, a real lookup on the embedded PostgreSQL);
median of 10. Goal: at most 500 ms on this machine.

The environment is the deployed one (``AWS_LAMBDA_FUNCTION_NAME`` set, so the one-connection pool;
the bucket, the valuation function and sign-in configured). The read path builds none of their
clients: SQLAlchemy, botocore and PyJWT load with the first request that needs them, and each run
checks that the lookup left them unimported. Figures per run: import + first event measured inside
the process (what Lambda bills as init plus the first invocation), its CPU time (less sensitive to
other load on a shared machine than wall time), and the whole process from spawn to exit (adds the
interpreter).

Two interpreters are measured: the development `.venv` and a runtime virtualenv holding exactly the
Lambda zip's dependencies (`services/api/requirements.txt`, built once under `build/`). The second is
the honest figure: the dev set also has pydantic and attrs installed, whose Litestar plugins load at
import and which the deployed function never sees.

Last, the floor: a fresh process in the runtime virtualenv that only imports the libraries the read
path is built from (Litestar, Mangum, msgspec, psycopg), none of the API's own code. Whatever the API
does, a lookup's cold start cannot be shorter than that; the difference is building the app (its
routes, signature models and OpenAPI plugin) and serving the event.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.core.schema import upgrade_to_head  # noqa: E402
from services.local.postgres import EmbeddedPostgres  # noqa: E402

RUNS = 10

CHILD = """
import json, sys, time
c0 = time.process_time()
t0 = time.perf_counter()
from services.api.handler import handler
t1 = time.perf_counter()
from tests.services.api.apigw_events import LambdaContext, http_api_event
event = http_api_event("GET", "/api/v1/plates/CS51ABC", route_key="GET /api/v1/plates/{registration}")
response = handler(event, LambdaContext())
t2 = time.perf_counter()
c2 = time.process_time()
assert response["statusCode"] == 200, response
heavy = [name for name in ("sqlalchemy", "botocore", "jwt") if name in sys.modules]
assert not heavy, f"the read path imported {heavy}"
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_event_ms": (t2 - t1) * 1000, "total_ms": (t2 - t0) * 1000,
                  "cpu_ms": (c2 - c0) * 1000}))
"""


FLOOR = """
import json, time
c0 = time.process_time()
t0 = time.perf_counter()
import litestar, mangum, msgspec, psycopg
from litestar import Litestar
t1 = time.perf_counter()
print(json.dumps({"total_ms": (t1 - t0) * 1000, "cpu_ms": (time.process_time() - c0) * 1000}))
"""

RUNTIME_VENV = REPO / "build" / "bench-api-runtime"


def _runtime_python() -> str:
    """A virtualenv with only the API's pinned runtime dependencies, as the zip ships them."""
    python = RUNTIME_VENV / "bin" / "python"
    stamp = RUNTIME_VENV / ".requirements"
    requirements = (REPO / "services/api/requirements.txt").read_text()
    if not python.exists() or not stamp.exists() or stamp.read_text() != requirements:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(RUNTIME_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
             "--no-deps", "-r", str(REPO / "services/api/requirements.txt")],
            check=True,
        )  # fmt: skip
        stamp.write_text(requirements)
    return str(python)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="reggie-cold-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", port=_free_port(), durable=False)
        server.start()
        try:
            server.create_database("bench")
            url = server.url("bench")
            upgrade_to_head(url)
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO plates (registration, registration_display, format, asking_price_pence) "
                        "VALUES ('CS51ABC', 'CS51 ABC', 'current', 99900)"
                    )
                )
                # A fresh cached valuation: the lookup answers from it (a mark without one is valued on the
                # spot, which invokes the valuation function and so loads botocore: not the read path).
                conn.execute(
                    text(
                        "INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence, "
                        "details) VALUES ('CS51ABC', 'bench', 90000, 60000, 120000, '{}')"
                    )
                )
            engine.dispose()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VALUATION_"))}
            env.update(
                STAGE="bench",
                SERVICE_NAME="api",
                DATABASE_URL=url,
                AWS_LAMBDA_FUNCTION_NAME="reggie-bench-api",
                AWS_REGION="eu-west-2",
                AWS_DEFAULT_REGION="eu-west-2",
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench",
                BUCKET_NAME="reggie-bench-claims",
                BUCKET_ENDPOINT="https://account.eu.r2.cloudflarestorage.com",
                R2_ACCESS_KEY_ID="bench",
                R2_SECRET_ACCESS_KEY="bench",
                VALUATION_FUNCTION_NAME="reggie-bench-valuation",
                ALLOWED_ORIGINS="https://app.reggie.example",
                CLERK_ISSUER="https://clerk.reggie.example",
                CLERK_JWKS_URL="https://clerk.reggie.example/.well-known/jwks.json",
            )
            measured = {
                "runtime dependencies only (as the Lambda zip)": _measure(_runtime_python(), env),
                "development .venv": _measure(sys.executable, env),
            }
            floor = _measure(_runtime_python(), env, FLOOR)
        finally:
            server.stop()
    load = os.getloadavg()[0]
    for interpreter, runs in measured.items():
        print(f"cold start of the API Lambda handler, {interpreter}, median of {RUNS} (load average {load:.1f}):")
        _report(runs)
    print(f"floor: importing the libraries the read path is built from, median of {RUNS}:")
    _report(floor, keys=(("total_ms", "Litestar, Mangum, msgspec, psycopg"), ("cpu_ms", "CPU time")))


def _measure(python: str, env: dict[str, str], child: str = CHILD) -> list[dict[str, float]]:
    # The Lambda zip ships compiled bytecode; here the first, unmeasured run writes it (under build/,
    # not beside the sources) and the measured runs read it, as Lambda would.
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(REPO / "build" / "pycache-bench")
    subprocess.run([python, "-c", child], cwd=REPO, env=env, capture_output=True, check=True)
    runs: list[dict[str, float]] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = subprocess.run([python, "-c", child], cwd=REPO, env=env, capture_output=True, text=True, check=False)
        wall_ms = (time.perf_counter() - started) * 1000
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        runs.append({**json.loads(done.stdout), "process_ms": wall_ms})
    return runs


HANDLER_FIGURES = (
    ("import_ms", "import services.api.handler"),
    ("first_event_ms", "first API Gateway v2 event (DB lookup)"),
    ("total_ms", "import + first event (goal <= 500 ms)"),
    ("cpu_ms", "CPU time of import + first event"),
    ("process_ms", "whole process incl. interpreter start"),
)


def _report(runs: list[dict[str, float]], keys: tuple[tuple[str, str], ...] = HANDLER_FIGURES) -> None:
    for key, label in keys:
        values = sorted(r[key] for r in runs)
        print(
            f"  {label:<42} median {statistics.median(values):7.1f} ms   min {values[0]:7.1f}   max {values[-1]:7.1f}"
        )


if __name__ == "__main__":
    main()
