"""Whole-process time of ``make dev`` (``python -m services.local``) from spawn to a healthy API.

Cold: an empty state folder (initdb, a new RSA key, migrations from empty, seed data).
Warm: the same folder again (PostgreSQL data, key and rows already there).
Healthy means ``GET /api/v1/health/deep`` answers 200, polled by this script from outside the
process, so the figure includes interpreter start-up and every import. Also reported: how long
after spawn the DVLA auction results (87,250 lots, when ``../shared/data`` has them) are in
``sales`` on the cold run; that import runs in the background after the API is healthy.

Run: ``.venv/bin/python bench/bench_local_stack.py [--warm-runs N]``. Prints the figures; asserts nothing.
The environment passes through to the stack (``VALUATION_BACKEND=fallback`` takes the valuation
model out of the API's deep health check).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CSV = REPO_ROOT.parent / "shared" / "data" / "dvla-auctions-2021-2024" / "combined_auction_results.csv"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def run_once(state: Path, ports: list[int], *, wait_for_import: bool) -> tuple[float, float | None]:
    """Seconds from spawn to healthy, and (optionally) to the end of the auction import."""
    api, pg, r2, issuer = ports
    log = (state.parent / "stack.log").open("a+")
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.local",
            "--state-dir",
            str(state),
            "--api-port",
            str(api),
            "--postgres-port",
            str(pg),
            "--r2-port",
            str(r2),
            "--issuer-port",
            str(issuer),
            "--auction-csv",
            str(CSV),
        ],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    healthy = imported = None
    try:
        url = f"http://127.0.0.1:{api}/api/v1/health/deep"
        while healthy is None:
            if process.poll() is not None:
                log.seek(0)
                tail = "\n".join(log.read().splitlines()[-15:])
                raise SystemExit(f"the stack exited:\n{tail}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        healthy = time.perf_counter() - started
            except (urllib.error.URLError, OSError):
                time.sleep(0.02)
        if wait_for_import and CSV.is_file():
            deadline = time.monotonic() + 300
            while imported is None and time.monotonic() < deadline:
                log.seek(0)
                text = log.read()
                if "sales: imported" in text or "already imported" in text:
                    imported = time.perf_counter() - started
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        log.close()
    return healthy, imported


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reggie-bench-") as folder:
        state = Path(folder) / "state"
        ports = _free_ports(4)
        cold, imported = run_once(state, ports, wait_for_import=True)
        warm = [run_once(state, ports, wait_for_import=False)[0] for _ in range(args.warm_runs)]
    print(f"make dev, spawn to healthy API (whole process, {os.cpu_count()} CPUs):")
    print(f"  cold (empty state): {cold:.2f} s")
    print(f"  warm (rerun)      : median {statistics.median(warm):.2f} s, runs {', '.join(f'{w:.2f}' for w in warm)}")
    if imported is not None:
        print(f"  cold, until the DVLA auction results are in sales: {imported:.2f} s")
    else:
        print(f"  auction import not measured ({CSV} absent)")


if __name__ == "__main__":
    main()
