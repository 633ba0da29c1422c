"""Valuation speed: one warm valuation, 10,000 through ``value_many``, and the handler's cold start.

Run: ``.venv/bin/python bench/bench_valuation.py``. Every mark is distinct and new to the process
(the parse cache is cleared between phases), so no figure is a cache hit. Cold start is the wall
time of a fresh interpreter that imports the handler (which loads the artifact) and answers once.
"""

from __future__ import annotations

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

    batches = []
    for seed in (2, 3, 4):
        many = marks(10_000, seed=seed)
        describe.cache_clear()
        start = time.perf_counter()
        answers = value_many(many)
        batches.append(time.perf_counter() - start)
        assert len(answers) == 10_000
    print(
        f"value_many(10,000 distinct marks): median {statistics.median(batches):.3f} s "
        f"(runs: {', '.join(f'{b:.3f}' for b in batches)})"
    )

    colds = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD_SCRIPT], cwd=REPO, check=True)
        colds.append(time.perf_counter() - start)
    print(
        f"handler cold start (fresh interpreter: import, load artifact, first answer): median "
        f"{statistics.median(colds):.3f} s (runs: {', '.join(f'{c:.3f}' for c in colds)})"
    )


if __name__ == "__main__":
    main()
