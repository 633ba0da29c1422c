"""Reading marks against the name and word lists."""

from __future__ import annotations

from services.valuation.features import describe
from services.valuation.lexicon import LEXICON_FEATURES, Lexicon
from services.valuation.model import Artifact

SMALL = Lexicon(
    names=frozenset({"RON", "SIMON", "BEN"}), surnames=frozenset({"SMITH"}), words=frozenset({"BOSS", "ACE"})
)


def _row(lexicon: Lexicon, mark: str) -> dict[str, float]:
    return dict(zip(LEXICON_FEATURES, lexicon.row(describe(mark)), strict=True))


def test_serial_and_whole_readings() -> None:
    ron = _row(SMALL, "AA70 RON")
    assert ron["serial_name"]
    assert not ron["serial_word"]
    assert not ron["reads_name"]
    assert (ron["longest_word"], ron["longest_name"]) == (3, 3)
    simon = _row(SMALL, "S1 MON")  # reads SIMON
    assert simon["reads_name"]
    assert not simon["serial_name"]
    assert (simon["longest_word"], simon["longest_name"], simon["word_share"]) == (5, 5, 1.0)


def test_words_inside_the_reading() -> None:
    boss = _row(SMALL, "BO55 XYZ")  # reads BOSSXYZ: a word, no name
    assert (boss["longest_word"], boss["longest_name"]) == (4, 0)
    assert boss["word_share"] == 4 / 7
    both = _row(SMALL, "ACE 1N")  # reads ACEIN: the word ACE, no name
    assert both["serial_word"]
    assert (both["longest_word"], both["longest_name"]) == (3, 0)


def test_nothing_listed_reads_as_zeros() -> None:
    assert set(SMALL.row(describe("XK12 ZZK"))) == {0}


def test_round_trip_and_faker_lists() -> None:
    faker = Lexicon.from_faker()
    assert {"DAVID", "SARAH"} <= faker.names
    assert "SMITH" in faker.surnames
    assert "ABOUT" in faker.words
    assert Lexicon.from_json(faker.to_json()) == faker
    shipped = Artifact.load().lexicon
    assert _row(shipped, "AA70 ROY")["serial_name"]
