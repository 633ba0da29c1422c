"""Load: the API as in production (uvicorn, one worker) on the embedded PostgreSQL, ``GET
/api/v1/plates/{registration}`` at 32 connections, against a bare ASGI endpoint doing the same lookup
with raw psycopg (the ceiling, ``bench/bare_lookup.py``), in the same run.

Prints requests/s, p50 and p99 for both and the ratio API/bare. Goal: ratio >= 0.7, p99 <= 15 ms.
Also the server process's CPU time per request (from /proc), which does not depend on what else the
machine is running, unlike throughput and latency on a shared machine.

At 32 connections that each send the next request as soon as the previous answer is in, the server
is saturated and latency is mostly queueing: by Little's law the mean latency is 32 / throughput, so
a p99 of 15 ms needs more than 32 / 0.015 = 2,133 requests/s from one worker. The script prints that
bound next to what the ceiling achieves, and then measures latency once more at a fixed offered rate
below saturation (the same 32 connections, each request sent on a schedule, latency counted from the
scheduled time so a slow answer is not hidden by delaying the next request): what one request costs
when the server is not overloaded.

The load generator is a minimal HTTP/1.1 keep-alive client on asyncio streams (32 connections, each
sending its next request when the previous answer is in), far cheaper per request than a client
library, so it does not become the bottleneck. Both servers and the generator share this machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.core.registration import parse  # noqa: E402
from services.core.schema import upgrade_to_head  # noqa: E402
from services.local.postgres import EmbeddedPostgres, port_is_free  # noqa: E402

CONNECTIONS = 32
WARMUP_S = 2.0
MEASURE_S = 6.0
ROUNDS = 2
PACED_RATE = 400  # requests/s offered in the paced run: below what either server sustains on 2 CPUs
BARE = "bench.bare_lookup:app"
API = "services.api.app:app"
PLATES = 400


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _marks() -> list[str]:
    marks: list[str] = []
    letters = "ABCDEFGHJKLMNPRSTUVWXY"
    for i in range(PLATES):
        mark = (
            f"{letters[i % 22]}{letters[(i // 22) % 22]}{51 + i % 20} {letters[(i * 7) % 22]}{letters[(i * 3) % 22]}X"
        )
        marks.append(parse(mark).normalized)
    return sorted(set(marks))


def _seed(url: str, marks: list[str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for n, reg in enumerate(marks):
            mark = parse(reg)
            conn.execute(
                text(
                    "INSERT INTO plates (registration, registration_display, format, asking_price_pence) "
                    "VALUES (:r, :d, :f, :p) ON CONFLICT DO NOTHING"
                ),
                {"r": mark.normalized, "d": mark.display, "f": mark.format.value, "p": 50_000 + n * 100},
            )
            conn.execute(
                text(
                    "INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence, "
                    "details) VALUES (:r, 'bench', 60000, 40000, 80000, '{\"explanation\": \"A bench valuation.\"}') "
                    "ON CONFLICT DO NOTHING"
                ),
                {"r": mark.normalized},
            )
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _serve(target: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


async def _connection(
    port: int,
    paths: list[str],
    offset: int,
    window: tuple[float, float],
    sink: tuple[list[float], list[int]],
    *,
    interval: float | None = None,
) -> None:
    """One keep-alive connection. Without ``interval`` it sends each request as soon as the previous
    answer is in; with it, request n is due at ``start + n * interval`` and its latency is counted
    from when it was due."""
    record_from, stop_at = window
    latencies, errors = sink
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    due = time.perf_counter() + (offset % CONNECTIONS) * (interval or 0) / CONNECTIONS
    try:
        while True:
            if interval is not None:
                due += interval
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
            started = time.perf_counter() if interval is None else due
            if started >= stop_at:
                return
            path = paths[i % len(paths)]
            i += 1
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if started >= record_from:
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    port: int, paths: list[str], pid: int, rate: float | None = None
) -> tuple[list[float], list[int], float]:
    """Run the load (closed loop, or ``rate`` requests/s spread over the connections); return the
    measured latencies, non-200 statuses and the server's CPU seconds spent during the measured window."""
    latencies: list[float] = []
    errors: list[int] = []
    now = time.perf_counter()
    record_from, stop_at = now + WARMUP_S, now + WARMUP_S + MEASURE_S

    async def cpu_in_window() -> float:
        await asyncio.sleep(WARMUP_S)
        before = _cpu_seconds(pid)
        await asyncio.sleep(MEASURE_S)
        return _cpu_seconds(pid) - before

    interval = CONNECTIONS / rate if rate else None
    cpu_task = asyncio.create_task(cpu_in_window())
    await asyncio.gather(
        *(
            _connection(port, paths, k * 7, (record_from, stop_at), (latencies, errors), interval=interval)
            for k in range(CONNECTIONS)
        )
    )
    return latencies, errors, await cpu_task


def _measure(
    name: str, target: str, path_prefix: str, marks: list[str], env: dict[str, str], *, rate: float | None = None
) -> dict[str, float]:
    port = _free_port()
    process = _serve(target, port, env)
    try:
        _wait(f"http://127.0.0.1:{port}{path_prefix}{marks[0]}", process)
        latencies, errors, cpu_s = asyncio.run(_load(port, [path_prefix + m for m in marks], process.pid, rate))
    finally:
        process.terminate()
        process.wait(timeout=10)
    if errors:
        raise SystemExit(f"{name}: {len(errors)} non-200 answers, e.g. {errors[:5]}")
    latencies.sort()
    result = {
        "rps": len(latencies) / MEASURE_S,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "n": len(latencies),
        "cpu_ms": cpu_s * 1000 / len(latencies),
    }
    print(f"{name:<34} {result['rps']:>6.0f} req/s   p50 {result['p50_ms']:6.2f} ms   p99 {result['p99_ms']:6.2f} ms"
          f"   server CPU {result['cpu_ms']:.2f} ms/request   ({result['n']} requests)")  # fmt: skip
    return result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="reggie-bench-") as folder:
        port = _free_port()
        assert port_is_free("127.0.0.1", port)
        server = EmbeddedPostgres(Path(folder) / "pg", port=port, durable=False)
        server.start()
        try:
            server.create_database("bench")
            url = server.url("bench")
            upgrade_to_head(url)
            marks = _marks()
            _seed(url, marks)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VALUATION_"))}
            env.update(STAGE="bench", SERVICE_NAME="api", DATABASE_URL=url, VALUATION_BACKEND="fallback")
            print(
                f"{len(marks)} listed plates; {CONNECTIONS} connections; {WARMUP_S:.0f} s warm-up, {MEASURE_S:.0f} s "
                f"measured; uvicorn, one worker; {os.cpu_count()} CPUs shared with the client; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            # Two alternating rounds, so a burst of load from elsewhere on the machine hits both sides.
            bares: list[dict[str, float]] = []
            apis: list[dict[str, float]] = []
            for _ in range(ROUNDS):
                bares.append(_measure("bare ASGI + raw psycopg (ceiling)", BARE, "/bare/plates/", marks, env))
                apis.append(_measure("API GET /api/v1/plates/{reg}", API, "/api/v1/plates/", marks, env))
            bare_rps = statistics.median(b["rps"] for b in bares)
            api_rps = statistics.median(a["rps"] for a in apis)
            api_p50 = statistics.median(a["p50_ms"] for a in apis)
            api_p99 = statistics.median(a["p99_ms"] for a in apis)
            bare_cpu = statistics.median(b["cpu_ms"] for b in bares)
            api_cpu = statistics.median(a["cpu_ms"] for a in apis)
            print(
                f"median of {ROUNDS} rounds: bare {bare_rps:.0f} req/s, API {api_rps:.0f} req/s, "
                f"API p50 {api_p50:.2f} ms"
            )
            print(
                f"ratio API/bare: {api_rps / bare_rps:.2f} (goal >= 0.70)   API p99: {api_p99:.2f} ms (goal <= 15 ms)"
            )
            print(
                f"server CPU per request: bare {bare_cpu:.2f} ms, API {api_cpu:.2f} ms; CPU ratio bare/API "
                f"{bare_cpu / api_cpu:.2f}, so at most {1000 / api_cpu:.0f} API req/s per core (independent of load)"
            )
            needed = CONNECTIONS / 0.015
            bare_p99 = statistics.median(b["p99_ms"] for b in bares)
            print(
                f"Little's law: {CONNECTIONS} busy connections at p99 <= 15 ms need more than {needed:.0f} req/s; "
                f"the ceiling served {bare_rps:.0f} req/s here, at p99 {bare_p99:.2f} ms"
            )
            print(f"paced: {PACED_RATE} req/s offered over the same {CONNECTIONS} connections, below saturation")
            _measure("bare, paced", BARE, "/bare/plates/", marks, env, rate=PACED_RATE)
            _measure("API, paced", API, "/api/v1/plates/", marks, env, rate=PACED_RATE)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
