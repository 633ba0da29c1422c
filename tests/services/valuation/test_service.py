"""The valuation interface on the shipped artifact: answers, errors, and behaviour over sets of marks."""

from __future__ import annotations

import random
import statistics

import pytest

from services.valuation.features import describe
from services.valuation.model import model_weight
from services.valuation.service import artifact, value, value_many

_LETTERS = "ABCDEFGHJKLMNPRSTUVWXY"


def test_answer_shape() -> None:
    answer = value("ab12cde")
    assert answer["registration"] == "AB12 CDE"
    assert answer["currency"] == "GBP"
    assert isinstance(answer["price"], int)
    assert answer["price"] > 0
    assert answer["low"] <= answer["price"] <= answer["high"]
    assert answer["weights"]["model"] + answer["weights"]["rules"] == pytest.approx(1)
    assert 0 <= answer["weights"]["model"] <= 1
    assert answer["model_version"].startswith("lgbm-")
    assert "AB12 CDE" in answer["explanation"]
    assert answer["explanation"].endswith(".")


@pytest.mark.parametrize("bad", ["", "HELLO", "AB12 CDEF", "QQ1", "!!"])
def test_invalid_marks_answer_an_error(bad: str) -> None:
    answer = value(bad)
    assert answer["registration"] == bad
    assert answer["error"]["code"] == "invalid_registration"
    assert answer["error"]["message"]


def test_non_text_is_an_error_not_a_crash() -> None:
    answer = value(123)  # type: ignore[arg-type]
    assert answer["error"]["code"] == "invalid_registration"


def test_value_many_keeps_order_and_matches_value() -> None:
    marks = ["1 A", "bad!", "AB12 CDE", "JAM 35"]
    answers = value_many(marks)
    assert [a["registration"] for a in answers] == ["1 A", "bad!", "AB12 CDE", "JAM 35"]
    assert "error" in answers[1]
    assert answers[2] == value("AB12 CDE")
    assert value_many([]) == []


def test_number_one_drives_the_explanation() -> None:
    answer = value("1 A")
    assert "the number 1" in answer["explanation"]
    assert any(d["driver"] == "the number 1" for d in answer["drivers"])


def _median_price(marks: list[str]) -> float:
    return statistics.median(a["price"] for a in value_many(marks))


def test_two_character_dateless_marks_beat_six_character_ones() -> None:
    rng = random.Random(5)
    two = [f"{rng.randint(1, 9)} {rng.choice(_LETTERS)}" for _ in range(60)]
    six = ["".join(rng.choices(_LETTERS, k=3)) + f" {rng.randint(100, 999)}" for _ in range(60)]
    assert _median_price(two) > 3 * _median_price(six)


def test_number_one_marks_beat_four_digit_marks() -> None:
    rng = random.Random(6)
    ones = [f"1 {rng.choice(_LETTERS)}" for _ in range(40)]
    long = [f"{rng.randint(1000, 9999)} {rng.choice(_LETTERS)}{rng.choice(_LETTERS)}" for _ in range(60)]
    assert _median_price(ones) > 3 * _median_price(long)


def test_range_widens_with_price_not_shape() -> None:
    for mark in ["1 A", "A123 BCD", "AB12 CDE", "ABC 123D"]:
        answer = value(mark)
        assert answer["low"] < answer["price"] < answer["high"]


def test_venue_auctions_value_the_same_marks_higher() -> None:
    """The auction's kind is context the model learned: live venue sales fetch more than timed online ones."""
    rng = random.Random(7)
    marks = [f"{rng.choice(_LETTERS)}{rng.randint(1, 99)} {''.join(rng.choices(_LETTERS, k=3))}" for _ in range(40)]
    marks += ["".join(rng.choices(_LETTERS, k=3)) + f" {rng.randint(1, 999)}" for _ in range(40)]
    marks = [m for m, a in zip(marks, value_many(marks), strict=True) if "price" in a]
    assert len(marks) >= 40
    timed = [a["price"] for a in value_many(marks, auction_kind="timed")]
    venue = [a["price"] for a in value_many(marks, auction_kind="venue")]
    assert value_many(marks) == value_many(marks, auction_kind="timed")
    assert statistics.median(v / t for v, t in zip(venue, timed, strict=True)) > 1.05


def test_unknown_auction_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="auction_kind"):
        value("AB12 CDE", auction_kind="car boot")


def test_the_blend_follows_the_learned_format_weights_and_the_evidence() -> None:
    """The model's share is its format's learned weight scaled by how many training lots shared the
    mark's segment; a segment training never saw is valued by the rules alone."""
    model = artifact()
    weights, full = model.blend_weights, model.metadata["ensemble"]["full_segment_lots"]
    for mark in ("AB12 CDE", "A123 BCD", "ABC 123D", "JAM 35", "1 A", "ABZ 1234"):
        m = describe(mark)
        expected = model_weight(weights.get(m.fmt, weights["all"]), model.segments.get(m.segment, 0), full)
        assert value(mark)["weights"]["model"] == pytest.approx(expected, abs=1e-3)
    unseen = describe("AB 1")  # no two letters then one digit was auctioned in the training blocks
    assert model.segments.get(unseen.segment, 0) == 0
    assert value("AB 1")["weights"] == {"model": 0.0, "rules": 1.0}
