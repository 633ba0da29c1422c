"""Reading the auction file: blocks and each auction's kind from its catalogue size."""

from __future__ import annotations

from pathlib import Path

from services.valuation.model import VENUE_MAX_LOTS, auction_kind
from services.valuation.training.data import load


def test_kind_follows_catalogue_size() -> None:
    assert auction_kind(1000) == "venue"
    assert auction_kind(VENUE_MAX_LOTS - 1) == "venue"
    assert auction_kind(VENUE_MAX_LOTS) == "timed"
    assert auction_kind(2480) == "timed"


def test_load_counts_every_catalogue_lot_including_unsold(tmp_path: Path) -> None:
    """A block's kind counts all its lots (unsold and unreadable ones too), not only the priced ones."""
    lines = [",Unnamed: 0,lot_no,reg,starting_price,current_price,length,category"]
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
