"""The validation protocol that looks like deployment: rolling origins with a year's gap.

A deployed model values auctions held months after the last auction it learned from, so every
setting is chosen on that situation: fit on blocks 1..k, skip ``gap`` blocks (about a year of
auctions: the file holds about 13 a year), and value the next ``width`` whole blocks. Several origins
(k, k - stride, ...) average out the luck of one stretch of auctions. The origins are placed inside
the training blocks, so the held-out blocks ``evaluate`` scores are never looked at.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Origin:
    train_end: int
    """The last block the origin's model learns from (blocks 1..train_end)."""
    first: int
    last: int
    """The validation blocks, first..last."""

    @property
    def label(self) -> str:
        return f"fit 1-{self.train_end}, value {self.first}-{self.last}"


@dataclass(frozen=True, slots=True)
class Protocol:
    gap: int = 12
    """Blocks skipped between an origin's training and its validation (about a year of auctions)."""
    width: int = 5
    """Validation blocks per origin."""
    origins: int = 3
    stride: int = 3
    """Blocks between consecutive origins."""

    def origins_before(self, last_block: int) -> list[Origin]:
        """The origins whose validation ends at ``last_block``, ``last_block - stride``, ..."""
        out: list[Origin] = []
        for i in range(self.origins):
            last = last_block - i * self.stride
            first = last - self.width + 1
            train_end = first - self.gap - 1
            if train_end < 2:
                raise ValueError(
                    f"{last_block} training blocks are too few for {self.origins} origins with a gap of {self.gap} "
                    f"and {self.width} validation blocks every {self.stride}"
                )
            out.append(Origin(train_end, first, last))
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Protocol:
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})
