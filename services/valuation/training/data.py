"""Reading auction results for training and evaluation, through the one DVLA results reader.

``services/core/dvla_results.py`` splits the file into auctions (a new one wherever lot 1 comes
again) and parses every mark; this module keeps what valuation learns from. Blocks: the shared file
has no dates and its rows are in auction order, so an auction's place in the file
(``auction.sequence``, 1 = oldest) is the only clock. Unsold lots and rows the reader could not read
(marks it rejects, such as ``Withdrawn``) are left out: they carry no price to learn from. Each lot
keeps its auction's kind (venue or timed, from the catalogue size the reader counts, unsold and
unreadable lots included).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from services.core.dvla_results import read_results
from services.valuation.features import LABELS, Mark, describe
from services.valuation.model import auction_kind

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "dvla-auctions-2021-2024" / "combined_auction_results.csv"
HOLDOUT_BLOCKS = 5
"""The newest blocks, never used for training or selection: ``evaluate`` scores them."""


@dataclass(frozen=True, slots=True)
class Lot:
    block: int
    lot: int
    mark: Mark
    price: float
    labels: tuple[bool, bool, bool]
    """Whether the auctioneer filed it under names, fun, cars (training signal only)."""
    kind: str = "timed"
    """The auction's channel (``model.AUCTION_KINDS``), from its catalogue size."""


@dataclass(frozen=True, slots=True)
class Dataset:
    lots: list[Lot]
    blocks: int
    sha256: str
    skipped: int
    """Rows not learned from: unsold lots and rows the reader reported."""

    def split(self, holdout: int = HOLDOUT_BLOCKS) -> tuple[list[Lot], list[Lot]]:
        """(training lots, held-out lots): the held-out lots are the last ``holdout`` whole blocks."""
        cut = self.blocks - holdout
        return [x for x in self.lots if x.block <= cut], [x for x in self.lots if x.block > cut]


def load(path: Path = DEFAULT_DATA) -> Dataset:
    results = read_results(path)
    lots: list[Lot] = []
    blocks = unsold = 0
    for auction, lot, row in results:
        blocks = max(blocks, auction.sequence)
        if row.hammer_price_pence is None:
            unsold += 1
            continue
        category = row.category or ""
        lots.append(
            Lot(
                block=auction.sequence,
                lot=lot,
                mark=describe(row.listed),
                price=row.hammer_price_pence / 100,
                labels=(LABELS[0] in category, LABELS[1] in category, LABELS[2] in category),
                kind=auction_kind(auction.catalogue_size),
            )
        )
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return Dataset(lots, blocks, sha256, unsold + results.problem_count)
