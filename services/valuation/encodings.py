"""Smoothed target encodings of letter groups, learned from training prices.

For each key kind (the mark's letters, what it reads as, its serial letters, its tag, its number)
we store, per key seen at least ``min_count`` times, the smoothed mean of the log-price residual
against the segment's base price: ``sum(residual) / (n + smoothing)``. Unseen keys encode as 0 (the
segment's base). For ``LABEL_KEYS`` we also keep the smoothed share of lots the auctioneer filed as
names, fun or cars: the platform never has a category for an arbitrary mark, but a letter group
that was filed as a name before is likely read as one again.

Training rows get out-of-fold encodings (fitted on the other auction blocks) so the model never
sees a lot's own price through its encoding; the artifact stores encodings fitted on every
training row for inference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.valuation.features import ENCODED_KEYS, LABEL_KEYS, LABELS

Table = dict[str, list[float]]
"""key -> [encoding, log1p(count), *label shares]"""


_LABEL_INDEXES = tuple(ENCODED_KEYS.index(k) for k in LABEL_KEYS)


def _tables() -> dict[str, Table]:
    return {}


@dataclass(slots=True)
class Encodings:
    smoothing: float = 10.0
    label_smoothing: float = 5.0
    min_count: int = 2
    priors: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """Overall share of lots filed under each label: what an unseen key encodes as."""
    tables: dict[str, Table] = field(default_factory=_tables)
    ordered: list[Table] = field(default_factory=list, repr=False, compare=False)
    """Cache of :meth:`_ordered`."""

    def fit(
        self,
        keys: Sequence[tuple[str, ...]],
        residuals: Sequence[float],
        labels: Sequence[tuple[bool, bool, bool]],
    ) -> Encodings:
        n = max(len(residuals), 1)
        self.priors = [sum(lab[i] for lab in labels) / n for i in range(len(LABELS))]
        for index, kind in enumerate(ENCODED_KEYS):
            sums: dict[str, list[float]] = {}
            for k, r, lab in zip(keys, residuals, labels, strict=True):
                acc = sums.setdefault(k[index], [0.0, 0.0, 0.0, 0.0, 0.0])
                acc[0] += r
                acc[1] += 1
                acc[2] += lab[0]
                acc[3] += lab[1]
                acc[4] += lab[2]
            table: Table = {}
            for key, (total, count, *hits) in sums.items():
                if count < self.min_count:
                    continue
                row = [round(total / (count + self.smoothing), 4), round(math.log1p(count), 4)]
                if kind in LABEL_KEYS:
                    m = self.label_smoothing
                    row += [round((h + m * p) / (count + m), 4) for h, p in zip(hits, self.priors, strict=True)]
                table[key] = row
            self.tables[kind] = table
        self.ordered = []
        return self

    def row(self, keys: tuple[str, ...]) -> list[float]:
        """Encoded features in ``FEATURE_NAMES`` order: encodings, counts, then label shares.

        ``keys`` is :attr:`Mark.keys` (``ENCODED_KEYS`` order). Runs for every valued mark, so it
        builds one list in place rather than several joined ones."""
        hits = [table.get(key) for table, key in zip(self._ordered(), keys)]  # noqa: B905  (same length by construction)
        out = [h[0] if h else 0.0 for h in hits]
        out += [h[1] if h else 0.0 for h in hits]
        for index in _LABEL_INDEXES:
            hit = hits[index]
            out += hit[2:] if hit else self.priors
        return out

    def _ordered(self) -> list[Table]:
        """The tables in ``ENCODED_KEYS`` order, looked up once and kept (tables never change after fit/load)."""
        if len(self.ordered) != len(ENCODED_KEYS):
            self.ordered = [self.tables[kind] for kind in ENCODED_KEYS]
        return self.ordered

    def to_json(self) -> dict[str, object]:
        return {
            "smoothing": self.smoothing,
            "label_smoothing": self.label_smoothing,
            "min_count": self.min_count,
            "priors": self.priors,
            "tables": self.tables,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Encodings:
        return cls(
            smoothing=float(data["smoothing"]),  # type: ignore[arg-type]
            label_smoothing=float(data["label_smoothing"]),  # type: ignore[arg-type]
            min_count=int(data["min_count"]),  # type: ignore[arg-type]
            priors=list(data["priors"]),  # type: ignore[arg-type]
            tables=dict(data["tables"]),  # type: ignore[arg-type]
        )
