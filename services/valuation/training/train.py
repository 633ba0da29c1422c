"""Training: rules, encodings and LightGBM on log price, every setting chosen on the gap validation.

Steps (``python -m services.valuation.training train [--data PATH]``):

1. Load the auction file and hold out its last five blocks (``evaluate`` scores them; nothing here
   reads them).
2. Gap validation (``validation.Protocol``): for each origin, fit rules and encodings on blocks
   1..k (out-of-fold encodings for its own rows) and every candidate model, then value the
   validation blocks about a year later. These out-of-fold predictions are what every choice is
   made on.
3. For each candidate: learn the blend (the model's weight against the rules per format), the shift
   (the point estimate is the median expectation: median predicted/actual at one of
   ``BIAS_TARGETS``) and the 80% range (per-format quantiles of the log residuals). Candidates,
   blend weights and bias targets are chosen by median APE, then the share within 25%.
4. Refit rules, encodings and the chosen model on all training blocks, compile the forest to numpy
   and check it against LightGBM, and write the artifact with the learned blend, shift and range.

Each row carries its auction's kind (timed online or live venue, from the catalogue size) as
context: the same mark fetches more at a venue sale, and the kind is known before any sale.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from rich.console import Console

from services.valuation.encodings import Encodings
from services.valuation.features import BASE_FEATURES, ENCODED_KEYS
from services.valuation.lexicon import Lexicon
from services.valuation.model import (
    ARTIFACT_DIR,
    DEFAULT_AUCTION_KIND,
    FULL_SEGMENT,
    MODEL_FEATURES,
    Artifact,
    context_row,
    feature_row,
    model_weight,
)
from services.valuation.rules import Rules
from services.valuation.training.data import DEFAULT_DATA, HOLDOUT_BLOCKS, Dataset, Lot, load
from services.valuation.training.metrics import score
from services.valuation.training.validation import Origin, Protocol
from services.valuation.trees import Floats, from_lightgbm_dump

FOLDS = 5
EARLY_BLOCKS = 10
"""The first ten auctions are a cheaper regime (median near GBP 500 against 1,100 to 3,000 later)."""
COVERAGE_QUANTILES = (0.10, 0.90)
BIAS_TARGETS = (0.95, 0.97, 1.0)
"""Median predicted/actual the shift may aim for (the target band is 0.92-1.05; a median
expectation sits at 1, and the share within 25% peaks a little below it, since a 25% range is
wider below the price than above it in log terms)."""
BLEND_GRID = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
"""Model weights tried per format against the rules."""

PLAIN_FEATURES: tuple[str, ...] = (
    *BASE_FEATURES,
    *(f"enc_{k}" for k in ENCODED_KEYS),
    *(f"count_{k}" for k in ENCODED_KEYS),
)
"""The plain model's columns: the string features and the smoothed letter encodings, nothing else
(no auctioneer-category shares, no word lists, no auction kind)."""
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "strings": (*PLAIN_FEATURES, "early_regime"),
    "all": MODEL_FEATURES,
}
"""Column sets of the candidates. Both carry ``early_regime`` (see ``model.CONTEXT_NAMES``): without it
a model's level depends on how much of its training comes from the cheap first auctions, so the shift
learned at the gap origins (fitted on 15-21 blocks, ten of them early) would not fit the final model
(fitted on 38): in trials it valued the held-out blocks 18% high."""

MODEL_PARAMS: dict[str, Any] = {
    "objective": "l1",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbosity": -1,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
}
"""L1 on log price: the model's answer is the median of the log price, so the median price."""
ROUNDS = 250
"""Trees of 15 leaves at rate 0.1: about 3,500 splits, which keeps 10,000 valuations under a second
in the numpy scorer (a bigger forest is slower there, see ``trees.py``)."""

BASELINE_PARAMS: dict[str, Any] = {**MODEL_PARAMS, "learning_rate": 0.05, "num_leaves": 31}
BASELINE_ROUNDS = 400
"""The plain baseline: LightGBM L1 on log price, ``PLAIN_FEATURES`` only, no sample weights, no
blend, no shift (LightGBM's defaults but for the loss, rate 0.05 and 400 trees). Every change is
compared with it on the same splits."""
BASELINE = "baseline"

CANDIDATES: list[dict[str, Any]] = [
    {"features": "all", "early_weight": 1.0},
    {"features": "strings", "early_weight": 1.0},
    {"features": "all", "early_weight": 0.3},
]
"""``features``: a key of ``FEATURE_SETS``; ``early_weight``: the weight of a lot of the cheap first
ten auctions against 1 for the others."""


def candidate_name(candidate: dict[str, Any]) -> str:
    return BASELINE if candidate.get(BASELINE) else f"{candidate['features']}, early weight {candidate['early_weight']}"


@dataclass(slots=True)
class Prepared:
    rules: Rules
    encodings: Encodings
    lexicon: Lexicon
    x_fit: Floats
    x_apply: Floats
    segments: dict[str, int]


def prepare(fit: list[Lot], apply: list[Lot], lexicon: Lexicon | None = None) -> Prepared:
    """Fit rules and encodings on ``fit``; feature rows for ``fit`` (out-of-fold encodings) and ``apply``."""
    lexicon = lexicon or Lexicon.from_faker()
    marks = [x.mark for x in fit]
    rules = Rules().fit(marks, [x.price for x in fit], [x.labels for x in fit])
    residual = [math.log(x.price / rules.segment_price(x.mark)) for x in fit]
    keys = [m.keys for m in marks]
    labels = [x.labels for x in fit]
    fold_of = [x.block % FOLDS for x in fit]
    rows: list[list[float]] = [[] for _ in fit]
    for fold in range(FOLDS):
        inside = [i for i, f in enumerate(fold_of) if f != fold]
        pick = [keys[i] for i in inside], [residual[i] for i in inside], [labels[i] for i in inside]
        enc = Encodings().fit(*pick)
        for i, f in enumerate(fold_of):
            if f == fold:
                rows[i] = [*marks[i].row, *enc.row(keys[i]), *lexicon.row(marks[i]), *_context(fit[i])]
    full = Encodings().fit(keys, residual, labels)
    x_apply = np.array([feature_row(x.mark, full, lexicon, x.kind) for x in apply], dtype=np.float64)
    segments: dict[str, int] = {}
    for m in marks:
        segments[m.segment] = segments.get(m.segment, 0) + 1
    return Prepared(
        rules,
        full,
        lexicon,
        np.array(rows, dtype=np.float64).reshape(len(fit), len(MODEL_FEATURES)),
        x_apply.reshape(len(apply), len(MODEL_FEATURES)),
        segments,
    )


def _context(lot: Lot) -> list[float]:
    return context_row(lot.kind, early=lot.block <= EARLY_BLOCKS)


def only(x: Floats, features: Sequence[str]) -> Floats:
    """``x`` with every column not in ``features`` set to 0. A constant column is never split on, so
    the forest keeps ``MODEL_FEATURES`` indexes and the runtime passes its full rows unchanged."""
    keep = np.array([name in features for name in MODEL_FEATURES])
    return np.where(keep, x, 0.0)


def fit_candidate(candidate: dict[str, Any], x: Floats, lots: list[Lot]) -> lgb.Booster:
    y = np.log([lot.price for lot in lots])
    if candidate.get(BASELINE):
        return lgb.train(BASELINE_PARAMS, lgb.Dataset(only(x, PLAIN_FEATURES), y), num_boost_round=BASELINE_ROUNDS)
    early = float(candidate["early_weight"])
    weight = np.array([early if lot.block <= EARLY_BLOCKS else 1.0 for lot in lots])
    data = lgb.Dataset(only(x, FEATURE_SETS[candidate["features"]]), y, weight=weight)
    return lgb.train(MODEL_PARAMS, data, num_boost_round=ROUNDS)


@dataclass(slots=True)
class Fold:
    """One origin's validation: its lots, each candidate's log prices, the rules' and the evidence."""

    origin: Origin
    lots: list[Lot]
    model_log: dict[str, Floats] = field(default_factory=dict[str, Floats])
    rules_log: Floats = field(default_factory=lambda: np.empty(0))
    segment_counts: Floats = field(default_factory=lambda: np.empty(0))

    @property
    def actual(self) -> Floats:
        return np.array([x.price for x in self.lots], dtype=np.float64)

    @property
    def formats(self) -> np.ndarray:
        return np.array([x.mark.fmt for x in self.lots])


def gap_folds(
    training: list[Lot],
    protocol: Protocol,
    candidates: Iterable[dict[str, Any]],
    lexicon: Lexicon,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Fold]:
    """Every origin's out-of-fold predictions of ``candidates`` (fitted on blocks 1..k only)."""
    candidates = list(candidates)
    folds: list[Fold] = []
    for origin in protocol.origins_before(max(x.block for x in training)):
        fit = [x for x in training if x.block <= origin.train_end]
        valid = [x for x in training if origin.first <= x.block <= origin.last]
        progress(f"origin {origin.label}: features")
        prepared = prepare(fit, valid, lexicon)
        fold = Fold(
            origin,
            valid,
            rules_log=np.log([prepared.rules.price(x.mark) for x in valid]),
            segment_counts=np.array([prepared.segments.get(x.mark.segment, 0) for x in valid], dtype=np.float64),
        )
        for candidate in candidates:
            progress(f"origin {origin.label}: {candidate_name(candidate)}")
            booster = fit_candidate(candidate, prepared.x_fit, fit)
            fold.model_log[candidate_name(candidate)] = np.asarray(
                booster.predict(only(prepared.x_apply, MODEL_FEATURES))
            )
        folds.append(fold)
    return folds


@dataclass(frozen=True, slots=True)
class Calibration:
    weights: dict[str, float]
    """The model's blend weight per format, and ``"all"`` for a format validation did not see."""
    target_bias: float
    shift: float
    intervals: dict[str, list[float]]


def blend(folds: list[Fold], name: str, weights: dict[str, float], full: int = FULL_SEGMENT) -> Floats:
    """The blended log prices of every fold's lots, in order (before the shift)."""
    out: list[Floats] = []
    for fold in folds:
        fmt_weight = np.array([weights.get(f, weights["all"]) for f in fold.formats.tolist()])
        w = np.array([model_weight(fw, n, full) for fw, n in zip(fmt_weight, fold.segment_counts, strict=True)])
        out.append(w * fold.model_log[name] + (1 - w) * fold.rules_log)
    return np.concatenate(out)


def _rank(figures: dict[str, float]) -> tuple[float, float]:
    """Smaller is better: median APE first, then the share within 25% (two decimals of a point apart
    count as a tie, validation cannot tell them apart)."""
    return round(figures["median_ape"], 3), -figures["within_25"]


def calibrate(folds: list[Fold], name: str) -> Calibration:
    """Learn the blend per format, the shift and the range from the folds' out-of-fold predictions."""
    actual = np.log(np.concatenate([fold.actual for fold in folds]))
    formats = np.concatenate([fold.formats for fold in folds])
    weights: dict[str, float] = {"all": 1.0}
    # Each format's weight is judged at the shift the model alone would get (one shift for every
    # format, as the artifact applies it), so a weight that moves a format's level counts too.
    common = math.log(0.97) - float(np.median(blend(folds, name, weights) - actual))
    for fmt in sorted(set(formats.tolist())):
        mask = formats == fmt
        ranked = [
            (_rank(score(np.exp(blend(folds, name, {"all": w})[mask] + common), np.exp(actual[mask]))), w)
            for w in BLEND_GRID
        ]
        weights[fmt] = min(ranked)[1]
    log_pred = blend(folds, name, weights)
    middle = float(np.median(log_pred - actual))
    target = min(BIAS_TARGETS, key=lambda t: _rank(score(np.exp(log_pred + math.log(t) - middle), np.exp(actual))))
    shift = math.log(target) - middle
    residual = actual - (log_pred + shift)
    lo_q, hi_q = COVERAGE_QUANTILES
    intervals = {"all": [float(np.quantile(residual, lo_q)), float(np.quantile(residual, hi_q))]}
    for fmt in sorted(set(formats.tolist())):
        r = residual[formats == fmt]
        if r.size >= 100:
            intervals[fmt] = [float(np.quantile(r, lo_q)), float(np.quantile(r, hi_q))]
    rounded = {k: [round(v, 5) for v in pair] for k, pair in intervals.items()}
    return Calibration(weights, target, shift, rounded)


def calibrated_estimates(folds: list[Fold], name: str, calibration: Calibration) -> tuple[Floats, Floats, Floats]:
    """(price, low, high) of every fold's lots under ``calibration``."""
    pred = np.exp(blend(folds, name, calibration.weights) + calibration.shift)
    formats = np.concatenate([fold.formats for fold in folds])
    intervals = calibration.intervals
    bounds = np.array([intervals.get(f, intervals["all"]) for f in formats.tolist()])
    return pred, pred * np.exp(bounds[:, 0]), pred * np.exp(bounds[:, 1])


def gap_figures(folds: list[Fold], name: str, calibration: Calibration) -> dict[str, Any]:
    pred, low, high = calibrated_estimates(folds, name, calibration)
    actual = np.concatenate([fold.actual for fold in folds])
    figures: dict[str, Any] = score(pred, actual, low, high)
    start = 0
    per_origin: dict[str, dict[str, float]] = {}
    for fold in folds:
        end = start + len(fold.lots)
        per_origin[fold.origin.label] = score(pred[start:end], actual[start:end], low[start:end], high[start:end])
        start = end
    figures["origins"] = per_origin
    return figures


def train(
    data_path: Path = DEFAULT_DATA,
    out_dir: Path = ARTIFACT_DIR,
    *,
    holdout: int = HOLDOUT_BLOCKS,
    protocol: Protocol | None = None,
    candidates: list[dict[str, Any]] | None = None,
    console: Console | None = None,
) -> Artifact:
    console = console or Console(stderr=True)
    protocol = protocol or Protocol()
    candidates = candidates or CANDIDATES
    dataset = load(data_path)
    training, _ = dataset.split(holdout)
    last = max(x.block for x in training)
    console.print(
        f"{len(dataset.lots):,} priced lots in {dataset.blocks} blocks; training on blocks 1-{last} "
        f"({len(training):,} lots), the last {holdout} blocks held out; gap validation: "
        + "; ".join(o.label for o in protocol.origins_before(last))
    )
    lexicon = Lexicon.from_faker()
    folds = gap_folds(training, protocol, [*candidates, {BASELINE: True}], lexicon, lambda s: console.print(f"  {s}"))
    results: list[tuple[tuple[float, float], dict[str, Any], Calibration, dict[str, Any]]] = []
    for candidate in candidates:
        name = candidate_name(candidate)
        calibration = calibrate(folds, name)
        figures = gap_figures(folds, name, calibration)
        results.append((_rank(figures), candidate, calibration, figures))
        console.print(f"  {name}: {_line(figures)}; blend {calibration.weights}, bias target {calibration.target_bias}")
    baseline = _plain_figures(folds)
    console.print(f"  plain baseline: {_line(baseline)}")
    _, best, calibration, valid_figures = min(results, key=lambda r: r[0])
    console.print(f"chosen: {candidate_name(best)}; final model on blocks 1-{last}")
    final = prepare(training, [], lexicon)
    booster = fit_candidate(best, final.x_fit, training)
    forest = from_lightgbm_dump(booster.dump_model())
    x = final.x_fit  # every column: the runtime's rows (the unused ones are never split on)
    expected = np.asarray(booster.predict(x))
    gap = float(np.max(np.abs(forest.predict(x) - expected)))
    sample = range(0, len(expected), max(1, len(expected) // 500))
    gap = max(gap, *(abs(forest.predict_one(x[i].tolist()) - expected[i]) for i in sample))
    if gap > 1e-9:
        raise RuntimeError(f"compiled forest disagrees with LightGBM by {gap}")
    metadata = _metadata(
        dataset, data_path, last, protocol, best, calibration, trees=forest.roots.size, depth=forest.depth
    )
    metadata["metrics"] = {
        "gap_validation": valid_figures,
        "gap_validation_plain_baseline": baseline,
        "candidates": [{"candidate": c, **{k: v for k, v in f.items() if k != "origins"}} for _, c, _, f in results],
    }
    metadata["compiled_forest_max_abs_gap"] = gap
    artifact = Artifact(
        metadata,
        final.rules,
        final.encodings,
        final.lexicon,
        forest,
        final.segments,
        calibration.shift,
        calibration.intervals,
    )
    artifact.save(out_dir)
    booster.save_model(str(out_dir / "model.txt"))
    console.print(f"wrote {out_dir} (version {metadata['version']}, {forest.roots.size} trees, depth {forest.depth})")
    return artifact


def _plain_figures(folds: list[Fold]) -> dict[str, Any]:
    """The plain baseline's figures on the folds: its own prices, no blend and no shift."""
    plain = Calibration({"all": 1.0}, 1.0, 0.0, {"all": [0.0, 0.0]})
    figures = gap_figures([_full_evidence(f) for f in folds], BASELINE, plain)
    figures.pop("coverage", None)
    for f in figures["origins"].values():
        f.pop("coverage", None)
    return figures


def _full_evidence(fold: Fold) -> Fold:
    """``fold`` with every mark counted as well evidenced, so a weight of 1 is the model alone."""
    return Fold(fold.origin, fold.lots, fold.model_log, fold.rules_log, np.full(len(fold.lots), float(FULL_SEGMENT)))


def _line(f: dict[str, Any]) -> str:
    return (
        f"MAPE {f['mape']:.3f}, median APE {f['median_ape']:.3f}, within 25% {f['within_25']:.3f}, "
        f"bias {f['bias']:.3f}" + (f", coverage {f['coverage']:.3f}" if "coverage" in f else "")
    )


def _metadata(  # noqa: PLR0917  (one private call site, every argument named there)
    dataset: Dataset,
    data_path: Path,
    last: int,
    protocol: Protocol,
    best: dict[str, Any],
    calibration: Calibration,
    *,
    trees: int,
    depth: int,
) -> dict[str, Any]:
    config = [MODEL_PARAMS, ROUNDS, best, calibration.weights, calibration.target_bias]
    config_hash = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    return {
        "version": f"lgbm-{dataset.sha256[:8]}-{config_hash[:6]}",
        "data": {
            "file": data_path.name,
            "sha256": dataset.sha256,
            "blocks": dataset.blocks,
            "training_blocks": [1, last],
            "held_out_blocks": [last + 1, dataset.blocks],
            "training_lots": sum(1 for x in dataset.lots if x.block <= last),
            "skipped_rows": dataset.skipped,
        },
        "protocol": {
            **protocol.to_json(),
            "origin_blocks": [[o.train_end, o.first, o.last] for o in protocol.origins_before(last)],
        },
        "candidate": best,
        "params": MODEL_PARAMS,
        "rounds": ROUNDS,
        "trees": trees,
        "depth": depth,
        "features": list(MODEL_FEATURES),
        "used_features": list(FEATURE_SETS[best["features"]]),
        "default_auction_kind": DEFAULT_AUCTION_KIND,
        "ensemble": {
            "weights": calibration.weights,
            "full_segment_lots": FULL_SEGMENT,
            "target_bias": calibration.target_bias,
        },
    }
