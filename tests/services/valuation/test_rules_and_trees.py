"""The rules engine fitted on a small known set, and the numpy forest against LightGBM itself."""

from __future__ import annotations

import math

import lightgbm as lgb
import numpy as np
import pytest

from services.valuation.features import describe
from services.valuation.rules import SHRINK, Rules
from services.valuation.service import artifact
from services.valuation.trees import Forest, from_lightgbm_dump


def _fit() -> Rules:
    marks, prices = [], []
    for i in range(2, 42):
        marks.append(describe(f"ABC {i}D"))
        prices.append(400.0)
        marks.append(describe(f"{i} AB"))
        prices.append(4000.0)
    for letter in "ABCDEFGHJKLMNPRSTUVW":
        marks.append(describe(f"1 A{letter}"))
        prices.append(12_000.0)
    return Rules().fit(marks, prices, [(False, False, False)] * len(marks))


def test_rules_base_and_multipliers_follow_the_data() -> None:
    rules = _fit()
    assert rules.base["suffix"] == pytest.approx(400)
    # Dateless: 40 marks at 4,000 and 20 marked "number one" at 12,000; the base is their median.
    assert rules.base["dateless"] == pytest.approx(4000)
    # 20 lots at three times the base: the effect is shrunk towards 1 (at most half of x3 with 20 lots).
    combined = rules.multipliers["number_one"] * rules.multipliers["single_digit"]
    assert 1.2 < combined <= math.exp(math.log(3) * 20 / (20 + SHRINK)) + 1e-6
    assert rules.price(describe("1 AX")) > rules.price(describe("55 AX")) > rules.price(describe("ABC 55D"))


def test_rules_round_trip_through_json() -> None:
    rules = _fit()
    again = Rules.from_json(rules.to_json())
    assert again.price(describe("7 AB")) == pytest.approx(rules.price(describe("7 AB")))


def test_shipped_rules_say_short_dateless_marks_cost_more() -> None:
    rules = artifact().rules
    assert rules.length["dateless:3"] > rules.length["dateless:5"] > rules.length["dateless:6"]
    assert rules.multipliers["number_one"] > 1


@pytest.mark.parametrize(("leaves", "padded"), [(7, True), (15, True), (40, False)])
def test_compiled_forest_matches_lightgbm(leaves: int, padded: bool) -> None:
    """Up to 16 leaves the batch path pads every tree's splits to one count; beyond, it reduces by segments."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(700, 5))
    y = x[:, 0] * 2 + np.sin(x[:, 1] * 3) + (x[:, 2] > 0.5) + rng.normal(scale=0.1, size=700)
    params = {
        "objective": "regression",
        "num_leaves": leaves,
        "min_data_in_leaf": 5,
        "verbosity": -1,
        "seed": 1,
        "num_threads": 1,
    }
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=30)
    forest = from_lightgbm_dump(booster.dump_model())
    assert (forest.padded_tests is not None) is padded
    assert (forest.max_leaves <= 16) is padded
    expected = np.asarray(booster.predict(x))
    np.testing.assert_allclose(forest.predict(x), expected, rtol=0, atol=1e-9)
    assert forest.predict_one(x[7].tolist()) == pytest.approx(float(expected[7]), abs=1e-9)
    with pytest.raises(ValueError, match="features"):
        forest.predict(x[:, :3])


def test_forest_saves_and_loads(tmp_path) -> None:
    forest = artifact().forest
    forest.save(tmp_path / "f.npz")
    again = Forest.load(tmp_path / "f.npz")
    x = artifact().rows([describe("AB12 CDE"), describe("1 A")])
    np.testing.assert_array_equal(again.predict(x), forest.predict(x))


def test_unseen_length_takes_the_nearest_known_length() -> None:
    rules = _fit()  # dateless marks of 3 and 4 characters only
    assert "dateless:2" not in rules.length
    expected = rules.base["dateless"] * rules.length["dateless:3"]
    assert rules.segment_price(describe("1 A")) == pytest.approx(expected)
    four = rules.base["dateless"] * rules.length["dateless:4"]
    assert rules.segment_price(describe("1234 AB")) == pytest.approx(four)
