"""Reading auction results (the shared CSV layout) for training and evaluation.

Blocks: the file has no dates; a new auction starts wherever ``lot_no`` is ``[1]``, and rows are in
auction order, so block numbers (1 = oldest) are the only clock. Unsold lots (hammer price 0) and
marks the parser rejects are left out: they carry no price to learn from.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from services.core.registration import InvalidRegistration
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

    def split(self, holdout: int = HOLDOUT_BLOCKS) -> tuple[list[Lot], list[Lot]]:
        """(training lots, held-out lots): the held-out lots are the last ``holdout`` whole blocks."""
        cut = self.blocks - holdout
        return [x for x in self.lots if x.block <= cut], [x for x in self.lots if x.block > cut]


def load(path: Path = DEFAULT_DATA) -> Dataset:
    raw = path.read_bytes()
    lots: list[Lot] = []
    catalogue: dict[int, int] = {}
    block = skipped = 0
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lot_no = int(row["lot_no"].strip("[] "))
            if lot_no == 1:
                block += 1
            catalogue[block] = catalogue.get(block, 0) + 1
            price = float(row["current_price"] or 0)
            category = row.get("category") or ""
            try:
                mark = describe(row["reg"])
            except InvalidRegistration:
                skipped += 1
                continue
            if price <= 0:
                skipped += 1
                continue
            labels = (LABELS[0] in category, LABELS[1] in category, LABELS[2] in category)
            lots.append(Lot(block, lot_no, mark, price, labels))
    lots = [replace(x, kind=auction_kind(catalogue[x.block])) for x in lots]
    return Dataset(lots, block, hashlib.sha256(raw).hexdigest(), skipped)
