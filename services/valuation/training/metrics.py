"""Accuracy figures shared by training (validation) and evaluation (held-out blocks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TARGETS = {
    "mape": ("<=", 0.40),
    "median_ape": ("<=", 0.30),
    "within_25": (">=", 0.45),
    "bias": ("between", (0.92, 1.05)),
    "coverage": ("between", (0.75, 0.85)),
}
BASELINE_MARGIN = 0.02
"""The ensemble's median APE must be at least this much (2 points) below the plain baseline's."""


def score(
    predicted: Sequence[float] | np.ndarray,
    actual: Sequence[float] | np.ndarray,
    low: Sequence[float] | np.ndarray | None = None,
    high: Sequence[float] | np.ndarray | None = None,
) -> dict[str, float]:
    """MAPE, median APE, shares within 25% and 50%, bias (median predicted/actual) and range coverage."""
    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if p.size == 0:
        return {"n": 0.0}
    ape = np.abs(p - a) / a
    out = {
        "n": float(p.size),
        "mape": float(ape.mean()),
        "median_ape": float(np.median(ape)),
        "within_25": float((ape <= 0.25).mean()),
        "within_50": float((ape <= 0.50).mean()),
        "bias": float(np.median(p / a)),
    }
    if low is not None and high is not None:
        lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        out["coverage"] = float(((a >= lo) & (a <= hi)).mean())
    return out


def meets(figures: dict[str, float]) -> dict[str, bool]:
    """Which targets ``figures`` meets (only those it has)."""
    result: dict[str, bool] = {}
    for name, (op, bound) in TARGETS.items():
        if name not in figures:
            continue
        v = figures[name]
        if op == "<=":
            result[name] = v <= bound  # type: ignore[operator]
        elif op == ">=":
            result[name] = v >= bound  # type: ignore[operator]
        else:
            lo, hi = bound  # type: ignore[misc]
            result[name] = lo <= v <= hi
    return result
