"""Valuation speed: one warm valuation, 10,000 through ``value_many``, and the handler's cold start.

Run: ``.venv/bin/python bench/bench_valuation.py``. Every mark is distinct and new to the process
(the parse cache is cleared between phases), so no figure is a cache hit. Cold start is the wall
time of a fresh interpreter that imports the handler (which loads the artifact) and answers once.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LETTERS = "ABCDEFGHJKLMNPRSTUVWXY"
COLD_RUNS = 7
COLD_SCRIPT = "from services.valuation.handler import handler; handler({'registration': 'AB12 CDE'})"


def marks(n: int, seed: int) -> list[str]:
    """``n`` distinct valid marks across the formats (invalid candidates are drawn again)."""
    from services.core.registration import is_valid

    rng = random.Random(seed)
    makers = [
        lambda: (
            f"{''.join(rng.choices(LETTERS, k=2))}{rng.choice(['12', '15', '19', '21', '66', '70'])} "
            f"{''.join(rng.choices(LETTERS, k=3))}"
        ),
        lambda: f"{rng.choice(LETTERS)}{rng.randint(1, 999)} {''.join(rng.choices(LETTERS, k=3))}",
        lambda: f"{''.join(rng.choices(LETTERS, k=3))} {rng.randint(1, 999)}{rng.choice(LETTERS)}",
        lambda: f"{''.join(rng.choices(LETTERS, k=rng.randint(1, 3)))} {rng.randint(1, 9999)}",
        lambda: f"{rng.randint(1, 9999)} {''.join(rng.choices(LETTERS, k=rng.randint(1, 3)))}",
    ]
    out: dict[str, None] = {}
    while len(out) < n:
        mark = rng.choice(makers)()
        if is_valid(mark):
            out[mark] = None
    return list(out)


def main() -> None:
    from services.valuation.features import describe

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (wall times rise with load)")
    from services.valuation.service import artifact, value, value_many

    artifact()
    value("AB12 CDE")  # warm: artifact loaded, code paths exercised
    singles = marks(2000, seed=1)
    describe.cache_clear()
    times = []
    for mark in singles:
        start = time.perf_counter()
        value(mark)
        times.append(time.perf_counter() - start)
    print(
        f"single valuation, warm: median {statistics.median(times) * 1e3:.3f} ms, "
        f"p95 {statistics.quantiles(times, n=20)[-1] * 1e3:.3f} ms over {len(times)} distinct marks"
    )

    batches, cpu = [], []
    for seed in (2, 3, 4, 5, 6):
        many = marks(10_000, seed=seed)
        describe.cache_clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        answers = value_many(many)
        batches.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert len(answers) == 10_000
    print(
        f"value_many(10,000 distinct marks): median {statistics.median(batches):.3f} s "
        f"(runs: {', '.join(f'{b:.3f}' for b in batches)}); CPU time median {statistics.median(cpu):.3f} s"
    )

    colds = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD_SCRIPT], cwd=REPO, check=True)
        colds.append(time.perf_counter() - start)
    print(f"load average now {os.getloadavg()[0]:.2f}")
    print(
        f"handler cold start (fresh interpreter: import, load artifact, first answer): median "
        f"{statistics.median(colds):.3f} s (runs: {', '.join(f'{c:.3f}' for c in colds)})"
    )


if __name__ == "__main__":
    main()
