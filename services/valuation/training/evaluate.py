"""``python -m services.valuation.training evaluate``: score the shipped artifact on the held-out auction blocks.

The held-out blocks are the last five of the auction file, whole auctions the artifact never saw
(``train`` holds them out and selects on earlier blocks only). The report compares the ensemble with
the plain LightGBM baseline (L1 on log price, string features and letter encodings only, fitted on the
same training blocks), the rules engine alone and the median price of the mark's format x length,
overall, by format and by price band, on the held-out blocks and on the gap validation (the
artifact's configuration and the baseline refitted at each origin of the protocol it was chosen on,
valuing auctions about a year later), and draws three plots of the held-out blocks: predicted
against actual (log axes), error by format, and range calibration. Output: ``report.md``,
``report.json`` and PNGs in ``--out`` (``reports/valuation`` by default, git-ignored).

As a measure of the auctions' own noise it also scores each sale of a re-sold plate predicted by
another sale of the very same plate (every ordered pair, all blocks): how far apart two real hammer
prices of one mark are.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from services.valuation.lexicon import Lexicon
from services.valuation.model import Artifact
from services.valuation.training.data import DEFAULT_DATA, Lot, load
from services.valuation.training.metrics import BASELINE_MARGIN, TARGETS, meets, score
from services.valuation.training.train import (
    BASELINE,
    Calibration,
    calibrated_estimates,
    candidate_name,
    fit_candidate,
    gap_folds,
    prepare,
)
from services.valuation.training.validation import Protocol

BANDS = ((0, 500), (500, 1000), (1000, 3000), (3000, 10_000), (10_000, float("inf")))


def _band(price: float) -> str:
    for lo, hi in BANDS:
        if lo <= price < hi:
            return f"GBP {lo:,}+" if hi == float("inf") else f"GBP {lo:,}-{int(hi):,}"
    return "?"


def _length_key(lot: Lot) -> str:
    return f"{lot.mark.fmt}:{len(lot.mark.registration.normalized)}"


def resale_pairs(lots: list[Lot]) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, actual) over every ordered pair of two sales of the same registration."""
    sales: dict[str, list[float]] = defaultdict(list)
    for x in lots:
        sales[x.mark.registration.normalized].append(x.price)
    pairs = [(a, b) for prices in sales.values() for i, a in enumerate(prices) for j, b in enumerate(prices) if i != j]
    return np.array([a for a, _ in pairs], dtype=np.float64), np.array([b for _, b in pairs], dtype=np.float64)


def evaluate(
    data: Path = DEFAULT_DATA,
    out: Path = Path("reports/valuation"),
    artifact: Artifact | None = None,
    *,
    gap: bool = True,
) -> dict[str, Any]:
    """Score the artifact and the plain baseline on the held-out blocks and (``gap``) on the gap
    validation of the artifact's protocol, write ``report.md``, ``report.json`` and plots to ``out``."""
    artifact = artifact or Artifact.load()
    dataset = load(data)
    first_held = int(artifact.metadata["data"]["held_out_blocks"][0])
    training = [x for x in dataset.lots if x.block < first_held]
    held = [x for x in dataset.lots if x.block >= first_held]
    if not held:
        raise SystemExit(f"{data} has no blocks after the artifact's training blocks (held out from {first_held})")
    lexicon = artifact.lexicon
    # Each held-out auction is valued for its own kind (venue or timed), known from its catalogue beforehand.
    estimates = artifact.estimate([x.mark for x in held], [x.kind for x in held])
    actual = np.array([x.price for x in held])
    pred = np.array([e.price for e in estimates])
    low = np.array([e.low for e in estimates])
    high = np.array([e.high for e in estimates])
    # The plain baseline, fitted on the same training blocks as the artifact.
    prepared = prepare(training, held, lexicon)
    plain = np.exp(np.asarray(fit_candidate({BASELINE: True}, prepared.x_fit, training).predict(prepared.x_apply)))
    groups: dict[str, list[float]] = defaultdict(list)
    for x in training:
        groups[_length_key(x)].append(x.price)
    overall_median = statistics.median(x.price for x in training)
    medians = {k: statistics.median(v) for k, v in groups.items()}
    baseline = np.array([medians.get(_length_key(x), overall_median) for x in held])
    rules = np.array([artifact.rules.price(x.mark) for x in held])
    rows = {
        "ensemble": (pred, low, high),
        "plain_lightgbm": (plain, None, None),
        "rules_only": (rules, None, None),
        "median_by_format_length": (baseline, None, None),
    }
    report: dict[str, Any] = {
        "model_version": artifact.version,
        "held_out_blocks": [first_held, dataset.blocks],
        "lots": len(held),
        "held_out": _sections(held, actual, rows),
        "by_block": {
            str(b): score(pred[m], actual[m], low[m], high[m])
            for b in range(first_held, dataset.blocks + 1)
            if (m := np.array([x.block == b for x in held])).any()
        },
    }
    report["held_out"]["targets_met"] = _targets(report["held_out"]["overall"])
    if gap:
        report["gap_validation"] = _gap_validation(artifact, training, lexicon)
    resold, resold_actual = resale_pairs(dataset.lots)
    report["resale_reference"] = score(resold, resold_actual)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(_markdown(report))
    _plots(out, actual, pred, low, high, formats=np.array([x.mark.fmt for x in held]))
    print(_markdown(report))
    return report


Row = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


def _sections(lots: list[Lot], actual: np.ndarray, rows: dict[str, Row]) -> dict[str, Any]:
    """Every row's figures overall, by format and by price band (of the actual price)."""

    def table(mask: np.ndarray) -> dict[str, dict[str, float]]:
        return {
            name: score(p[mask], actual[mask], None if lo is None else lo[mask], None if hi is None else hi[mask])
            for name, (p, lo, hi) in rows.items()
        }

    formats = np.array([x.mark.fmt for x in lots])
    bands = np.array([_band(p) for p in actual])
    return {
        "overall": table(np.ones(len(lots), dtype=bool)),
        "by_format": {f: table(formats == f) for f in sorted(set(formats.tolist()))},
        "by_price_band": {
            b: table(bands == b) for b in dict.fromkeys(_band(lo) for lo, _ in BANDS) if (bands == b).any()
        },
    }


def _targets(overall: dict[str, dict[str, float]]) -> dict[str, bool]:
    met = meets(overall["ensemble"])
    met["beats_plain_by_2_points"] = (
        overall["ensemble"]["median_ape"] <= overall["plain_lightgbm"]["median_ape"] - BASELINE_MARGIN
    )
    return met


def _gap_validation(artifact: Artifact, training: list[Lot], lexicon: Lexicon) -> dict[str, Any]:
    """The artifact's configuration and the plain baseline refitted at every origin of its protocol
    (the same out-of-fold predictions training chose on) and scored on the same validation blocks."""
    meta = artifact.metadata
    protocol = Protocol.from_json(meta["protocol"])
    candidate = meta["candidate"]
    folds = gap_folds(training, protocol, [candidate, {BASELINE: True}], lexicon)
    weights = meta["ensemble"]["weights"]
    calibration = Calibration(weights, meta["ensemble"]["target_bias"], artifact.shift, artifact.intervals)
    lots = [x for fold in folds for x in fold.lots]
    actual = np.concatenate([fold.actual for fold in folds])
    pred, low, high = calibrated_estimates(folds, candidate_name(candidate), calibration)
    rows: dict[str, Row] = {
        "ensemble": (pred, low, high),
        "plain_lightgbm": (np.exp(np.concatenate([fold.model_log[BASELINE] for fold in folds])), None, None),
        "rules_only": (np.exp(np.concatenate([fold.rules_log for fold in folds])), None, None),
    }
    section = _sections(lots, actual, rows)
    section["targets_met"] = _targets(section["overall"])
    start, origins = 0, {}
    for fold in folds:
        end = start + len(fold.lots)
        origins[fold.origin.label] = {
            name: score(
                p[start:end],
                actual[start:end],
                None if lo is None else lo[start:end],
                None if hi is None else hi[start:end],
            )
            for name, (p, lo, hi) in rows.items()
        }
        start = end
    section["origins"] = origins
    return section


def _row(name: str, f: dict[str, float]) -> str:
    cov = f"{f['coverage']:.1%}" if "coverage" in f else "-"
    return (
        f"| {name} | {int(f['n']):,} | {f['mape']:.1%} | {f['median_ape']:.1%} | {f['within_25']:.1%} | "
        f"{f['within_50']:.1%} | {f['bias']:.3f} | {cov} |"
    )


def _markdown(report: dict[str, Any]) -> str:
    head = (
        "| | lots | MAPE | median APE | within 25% | within 50% | bias | 80% range coverage |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"# Valuation: model `{report['model_version']}`",
        "",
        "Targets on both the held-out blocks and the gap validation: "
        + ", ".join(f"{k} {TARGETS[k][0]} {TARGETS[k][1]}" for k in TARGETS)
        + f", median APE at least {BASELINE_MARGIN:.0%} below the plain LightGBM baseline's.",
        "",
    ]
    sections = [("held_out", f"Held-out auction blocks {report['held_out_blocks'][0]}-{report['held_out_blocks'][1]}")]
    if "gap_validation" in report:
        sections.append(("gap_validation", "Gap validation (fitted on blocks 1..k, valuing blocks about a year later)"))
    for key, title in sections:
        section = report[key]
        lines += [f"## {title}", "", head]
        lines += [_row(name, f) for name, f in section["overall"].items()]
        lines += [
            "",
            "Targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in section["targets_met"].items()),
            "",
        ]
        for part, name in (("by_format", "by format"), ("by_price_band", "by price band (actual price)")):
            lines += [f"### {title.split(' (')[0]}, {name}", "", head]
            for group, tables in section[part].items():
                lines += [_row(f"{group}: {row}", f) for row, f in tables.items()]
            lines.append("")
        if "origins" in section:
            lines += ["### Gap validation, by origin", "", head]
            for origin, tables in section["origins"].items():
                lines += [_row(f"{origin}: {row}", f) for row, f in tables.items()]
            lines.append("")
    lines += ["## Held-out blocks, by auction block (ensemble)", "", head]
    lines += [_row(f"block {b}", f) for b, f in report["by_block"].items()]
    resale = report["resale_reference"]
    if resale["n"]:
        lines += [
            "",
            "## Reference: a re-sold plate's price predicted by its own other sale (all blocks)",
            "",
            "How far apart two real hammer prices of one mark are: the auctions' own noise. Here the lots "
            "column counts ordered pairs of sales.",
            "",
            head,
            _row("its other sale", resale),
            "",
            "Targets against that reference: "
            + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in meets(resale).items()),
        ]
    return "\n".join(lines) + "\n"


def _plots(
    out: Path, actual: np.ndarray, pred: np.ndarray, low: np.ndarray, high: np.ndarray, *, formats: np.ndarray
) -> None:
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(actual, pred, s=3, alpha=0.3)
    lim = [min(actual.min(), pred.min()), max(actual.max(), pred.max())]
    ax.plot(lim, lim, color="black", linewidth=1)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="hammer price (GBP)",
        ylabel="predicted (GBP)",
        title="Predicted against actual, held-out blocks",
    )
    fig.savefig(out / "predicted_vs_actual.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    ape = np.abs(pred - actual) / actual
    names = sorted(set(formats.tolist()))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot([ape[formats == f] for f in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set(ylabel="absolute percentage error", title="Error by format (whiskers 1.5 IQR, no outliers)")
    fig.savefig(out / "error_by_format.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    order = np.argsort(pred)
    deciles = np.array_split(order, 10)
    coverage = [float(((actual[d] >= low[d]) & (actual[d] <= high[d])).mean()) for d in deciles]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(range(1, 11), coverage)
    ax.axhline(0.8, color="black", linestyle="--", label="nominal 80%")
    ax.set(xlabel="decile of predicted price", ylabel="share inside the range", ylim=(0, 1), title="Range calibration")
    ax.legend()
    fig.savefig(out / "range_calibration.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
