"""Reading the auction file through the core DVLA results reader: blocks, prices, labels and each
auction's kind from its catalogue size, the same blocks as the old "lot 1 starts a block" reading."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from services.valuation.model import VENUE_MAX_LOTS, auction_kind
from services.valuation.training.data import DEFAULT_DATA, load

HEADER = ",Unnamed: 0,lot_no,reg,starting_price,current_price,length,category"


def test_kind_follows_catalogue_size() -> None:
    assert auction_kind(1000) == "venue"
    assert auction_kind(VENUE_MAX_LOTS - 1) == "venue"
    assert auction_kind(VENUE_MAX_LOTS) == "timed"
    assert auction_kind(2480) == "timed"


def test_load_counts_every_catalogue_lot_including_unsold(tmp_path: Path) -> None:
    """A block's kind counts all its lots (unsold and unreadable ones too), not only the priced ones."""
    lines = [HEADER]
    sizes = (VENUE_MAX_LOTS, 3)
    for block, size in enumerate(sizes):
        for lot in range(1, size + 1):
            price = 0 if lot % 2 else 500  # half unsold: the priced lots alone would look like a venue sale
            lines.append(f"{block},{lot},[{lot}],A{lot % 999 + 1} BCD,100,{price},7,")
    path = tmp_path / "auctions.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load(path)
    assert data.blocks == 2
    assert {x.kind for x in data.lots if x.block == 1} == {"timed"}
    assert {x.kind for x in data.lots if x.block == 2} == {"venue"}


def _old_blocks(path: Path) -> list[tuple[int, int, str, float]]:
    """The reading training used before the core reader: a block starts at every ``[1]``; every row
    counts, and only the sold, parseable ones are kept (as block, lot, mark, price)."""
    from services.core.registration import InvalidRegistration, parse

    kept: list[tuple[int, int, str, float]] = []
    block = 0
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lot = int(row["lot_no"].strip("[] "))
            block += lot == 1
            try:
                mark = parse(row["reg"]).normalized
            except InvalidRegistration:
                continue
            if float(row["current_price"] or 0) > 0:
                kept.append((block, lot, mark, float(row["current_price"])))
    return kept


def _new_blocks(path: Path) -> list[tuple[int, int, str, float]]:
    return [(x.block, x.lot, x.mark.registration.normalized, x.price) for x in load(path).lots]


def test_the_same_blocks_as_the_lot_one_rule_on_awkward_rows(tmp_path: Path) -> None:
    """A withdrawn or unsold lot 1 still starts its auction, and a bad row inside one does not split it."""
    rows = [
        (1, "AB12 CDE", 900, "names"),
        (2, "Withdrawn", 0, ""),
        (3, "1 A", 250000, "number-ones"),
        (1, "Withdrawn", 0, ""),  # auction 2 starts at a lot that is not a mark
        (2, "KIT 1", 4000, '"names, fun"'),
        (3, "ABC 123D", 0, ""),  # unsold
        (1, "A1 BCD", 0, ""),  # auction 3 starts at an unsold lot
        (2, "S1 MON", 12000, "names"),
    ]
    path = tmp_path / "awkward.csv"
    path.write_text(
        "\n".join(
            [HEADER, *(f"{i},{i},[{lot}],{reg},100,{price},7,{cat}" for i, (lot, reg, price, cat) in enumerate(rows))]
        )
        + "\n"
    )
    data = load(path)
    assert (
        _new_blocks(path)
        == _old_blocks(path)
        == [
            (1, 1, "AB12CDE", 900.0),
            (1, 3, "1A", 250000.0),
            (2, 2, "KIT1", 4000.0),
            (3, 2, "S1MON", 12000.0),
        ]
    )
    assert data.blocks == 3
    assert data.skipped == 4  # two withdrawn rows, two unsold lots
    assert [x.labels for x in data.lots] == [
        (True, False, False),
        (False, False, False),
        (True, True, False),
        (True, False, False),
    ]


@pytest.mark.skipif(not DEFAULT_DATA.exists(), reason="the shared DVLA auction data is not beside this checkout")
def test_the_shared_file_reads_into_the_same_43_blocks_as_before() -> None:
    new, old = _new_blocks(DEFAULT_DATA), _old_blocks(DEFAULT_DATA)
    assert len(new) == len(old) > 85_000
    assert new == old
    assert {block for block, *_ in new} == set(range(1, 44))
    data = load(DEFAULT_DATA)
    assert data.blocks == 43
    assert data.skipped == 87_250 - len(new)
    venue = sorted({x.block for x in data.lots if x.kind == "venue"})
    assert venue == [11, 13, 15, 17, 20, 23, 26, 29, 32, 35, 38, 41]
