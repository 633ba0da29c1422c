"""Training and evaluation end to end on a tiny auction file the test writes (no retraining of the shipped model)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from services.valuation.features import describe
from services.valuation.model import Artifact
from services.valuation.training.data import Lot, load
from services.valuation.training.evaluate import evaluate, resale_pairs
from services.valuation.training.train import BLEND_GRID, Calibration, Fold, calibrate, calibrated_estimates, train
from services.valuation.training.validation import Origin, Protocol

LETTERS = "ABCDEFGHJKLMNPRSTUVWXY"
BLOCKS = 12
LOTS = 70
TINY = [{"features": "all", "early_weight": 1.0}]
SMALL = Protocol(gap=1, width=2, origins=2, stride=1)
"""Training blocks 1-7 of the tiny file: fit 1-4 and value 6-7, fit 1-3 and value 5-6."""


def _auction_file(path: Path, *, seed: int, held_out_scale: float = 1.0) -> Path:
    """Blocks of lots whose prices follow simple rules (short dateless marks dear, suffix marks cheap)."""
    rng = random.Random(seed)
    lines = [",Unnamed: 0,lot_no,reg,starting_price,current_price,length,category"]
    row = 0
    for block in range(1, BLOCKS + 1):
        scale = held_out_scale if block > BLOCKS - 5 else 1.0
        for lot in range(1, LOTS + 1):
            kind = rng.random()
            if kind < 0.3:
                reg = f"{rng.choice(LETTERS)} {rng.randint(1, 99)}"
                price = 8000 / len(reg)
            elif kind < 0.6:
                reg = f"{''.join(rng.choices(LETTERS, k=3))} {rng.randint(1, 999)}{rng.choice('ABCDEFGH')}"
                price = 400
            else:
                reg = f"{rng.choice('ABCDEFGH')}{rng.randint(1, 999)} {''.join(rng.choices(LETTERS, k=3))}"
                price = 900
            price = round(price * scale * rng.uniform(0.7, 1.3))
            lines.append(f"{row},{row},[{lot}],{reg},100,{price},{len(reg)},")
            row += 1
    path.write_text("\n".join(lines) + "\n")
    return path


def _quiet() -> Console:
    return Console(file=io.StringIO())


@pytest.mark.slow
def test_train_writes_an_artifact_that_evaluate_scores(tmp_path: Path) -> None:
    data = _auction_file(tmp_path / "auctions.csv", seed=1)
    trained = train(data, tmp_path / "artifact", candidates=TINY, protocol=SMALL, console=_quiet())
    loaded = Artifact.load(tmp_path / "artifact")
    meta = json.loads((tmp_path / "artifact" / "metadata.json").read_text())
    assert meta["version"] == trained.version == loaded.version
    assert meta["data"]["held_out_blocks"] == [BLOCKS - 4, BLOCKS]
    assert meta["data"]["training_blocks"] == [1, BLOCKS - 5]
    assert len(meta["data"]["sha256"]) == 64
    assert "enc_letters" in meta["features"]
    assert meta["protocol"]["origin_blocks"] == [[4, 6, 7], [3, 5, 6]]
    assert set(meta["ensemble"]["weights"]) >= {"all", "dateless", "prefix", "suffix"}
    assert meta["metrics"]["gap_validation"]["n"] > 0
    assert meta["compiled_forest_max_abs_gap"] <= 1e-9
    assert (tmp_path / "artifact" / "model.txt").stat().st_size > 0

    report = evaluate(data, tmp_path / "report", artifact=loaded)
    ensemble = report["held_out"]["overall"]["ensemble"]
    assert ensemble["n"] == 5 * LOTS
    # Prices follow format and length with +-30% noise: a working pipeline lands near that noise.
    assert ensemble["mape"] < 0.25
    assert 0.6 <= ensemble["coverage"] <= 0.95
    assert report["held_out"]["overall"]["plain_lightgbm"]["n"] == 5 * LOTS
    assert set(report["held_out"]["by_format"]) == {"dateless", "prefix", "suffix"}
    gap = report["gap_validation"]
    assert (
        gap["overall"]["ensemble"]["n"] == gap["overall"]["plain_lightgbm"]["n"] == 2 * 2 * LOTS
    )  # two origins of two blocks each
    # The gap validation reproduces what training measured on the same origins.
    assert gap["overall"]["ensemble"]["median_ape"] == pytest.approx(meta["metrics"]["gap_validation"]["median_ape"])
    assert list(gap["origins"]) == ["fit 1-4, value 6-7", "fit 1-3, value 5-6"]
    assert "beats_plain_by_2_points" in gap["targets_met"]
    assert report["resale_reference"]["n"] == resale_pairs(load(data).lots)[0].size
    for name in ("report.md", "report.json", "predicted_vs_actual.png", "error_by_format.png", "range_calibration.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert "MAPE" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.slow
def test_held_out_blocks_never_influence_training(tmp_path: Path) -> None:
    """Same file except the held-out blocks' prices: the trained model must be identical."""
    a = train(
        _auction_file(tmp_path / "a.csv", seed=2), tmp_path / "a", candidates=TINY, protocol=SMALL, console=_quiet()
    )
    b = train(
        _auction_file(tmp_path / "b.csv", seed=2, held_out_scale=3.0),
        tmp_path / "b",
        candidates=TINY,
        protocol=SMALL,
        console=_quiet(),
    )
    np.testing.assert_array_equal(a.forest.value, b.forest.value)
    assert a.shift == b.shift
    assert a.intervals == b.intervals
    assert a.rules.to_json() == b.rules.to_json()


def test_the_resale_reference_pairs_every_two_sales_of_one_mark() -> None:
    def lot(reg: str, price: float, block: int) -> Lot:
        return Lot(block=block, lot=1, mark=describe(reg), price=price, labels=(False, False, False))

    lots = [lot("A1", 100, 1), lot("B2", 700, 1), lot("A 1", 150, 2), lot("A1", 300, 3), lot("C3", 50, 3)]
    predicted, actual = resale_pairs(lots)
    pairs = sorted(zip(predicted.tolist(), actual.tolist(), strict=True))
    assert pairs == [(100, 150), (100, 300), (150, 100), (150, 300), (300, 100), (300, 150)]
    assert resale_pairs([lot("B2", 700, 1)])[0].size == 0


def test_origins_skip_the_gap_and_stay_inside_the_training_blocks() -> None:
    assert Protocol().origins_before(38) == [Origin(21, 34, 38), Origin(18, 31, 35), Origin(15, 28, 32)]
    with pytest.raises(ValueError, match="too few"):
        Protocol().origins_before(19)


def _fold(rng: np.random.Generator, fmt_marks: dict[str, str], n: int, *, model_noise: dict[str, float]) -> Fold:
    """Lots whose rules price is right to 10% and whose model price is off by ``model_noise`` per format."""
    lots, model, rules = [], [], []
    for fmt, reg in fmt_marks.items():
        for _ in range(n):
            price = float(rng.uniform(200, 5000))
            lots.append(Lot(block=1, lot=1, mark=describe(reg), price=price, labels=(False, False, False)))
            rules.append(np.log(price) + rng.normal(0, 0.1))
            model.append(np.log(price) + rng.normal(0, model_noise[fmt]))
    return Fold(Origin(1, 2, 2), lots, {"m": np.array(model)}, np.array(rules), np.full(len(lots), 1000.0))


def test_calibration_learns_each_formats_blend_and_centres_the_median() -> None:
    """Where the rules are better the model gets no weight, where the model is better it gets all of
    it; the shift puts the median predicted/actual at the chosen target and the range covers 80%."""
    rng = np.random.default_rng(3)
    marks = {"dateless": "ABC 123", "suffix": "ABC 123D"}
    folds = [_fold(rng, marks, 800, model_noise={"dateless": 1.0, "suffix": 0.01}) for _ in range(2)]
    for fold in folds:  # model and rules both read prices 30% high: the shift must take that out
        fold.model_log["m"] = fold.model_log["m"] + np.log(1.3)
        fold.rules_log = fold.rules_log + np.log(1.3)
    calibration = calibrate(folds, "m")
    assert calibration.weights["dateless"] == BLEND_GRID[0] == 0.0
    assert calibration.weights["suffix"] >= 0.9  # the model carries it (0.9 and 1 tie at this noise)
    pred, low, high = calibrated_estimates(folds, "m", calibration)
    actual = np.concatenate([f.actual for f in folds])
    assert np.median(pred / actual) == pytest.approx(calibration.target_bias, abs=1e-6)
    assert 0.78 <= np.mean((actual >= low) & (actual <= high)) <= 0.82
    plain = Calibration({"all": 1.0}, 1.0, 0.0, {"all": [0.0, 0.0]})
    assert np.median(calibrated_estimates(folds, "m", plain)[0] / actual) > 1.2
