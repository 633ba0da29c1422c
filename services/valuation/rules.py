"""The rules engine: a price from a handful of multipliers anyone can read.

    price = base[format] x length[format, characters] x product(pattern multipliers) x product(word multipliers)

Every constant is fitted from training auctions by :meth:`Rules.fit` and stored in the artifact
(``rules`` in ``metadata.json``), so the numbers are data, not folklore:

* ``base[format]``: the median hammer price of the format (current, prefix, suffix, dateless,
  Northern Ireland).
* ``length[format:n]``: the median price of that format's n-character marks over the base: short
  marks are scarce (a two-character dateless mark fetches many times a six-character one).
* pattern multipliers (see :attr:`features.Mark.flags`): ``number_one`` (a dateless mark numbered 1),
  ``single_digit``, ``repeated_digits`` (11, 777), ``digit_run`` (123), ``round_number`` (500),
  ``single_letter``, ``repeated_letters`` (AAA), ``letter_run`` (ABC), ``palindrome``. Each is the
  shrunk median price ratio of marks with the pattern after the multipliers before it, refined by
  a few backfitting passes: ``exp(median(log ratio) * n / (n + shrink))`` so a rare pattern moves
  the price only as far as its evidence allows.
* word multipliers: ``names``, ``fun``, ``cars``: marks that read as something the auctioneer
  filed under that category in training (``JAM 35`` reads JAMES), fitted the same way.

The engine needs no model and is usable alone (``Rules.price``); the ensemble weighs it against the
model per format (weights learned in training) and alone values marks of a kind training never saw.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.valuation.features import FLAG_NAMES, LABELS, Mark

SHRINK = 20.0
"""Pseudo-count pulling a multiplier towards 1: a pattern seen 20 times keeps half its measured effect."""
PASSES = 3

_HUMAN = {
    "number_one": "the number 1",
    "single_digit": "a single-digit number",
    "repeated_digits": "repeated digits",
    "digit_run": "a run of digits",
    "round_number": "a round number",
    "single_letter": "a single letter",
    "repeated_letters": "repeated letters",
    "letter_run": "a run of letters",
    "palindrome": "reading the same both ways",
    "names": "reading as a name",
    "fun": "reading as a word",
    "cars": "reading as a car make or model",
}


def _dicts() -> dict[str, float]:
    return {}


def _lexicons() -> dict[str, set[str]]:
    return {}


@dataclass(slots=True)
class Rules:
    base: dict[str, float] = field(default_factory=_dicts)
    length: dict[str, float] = field(default_factory=_dicts)
    multipliers: dict[str, float] = field(default_factory=_dicts)
    lexicons: dict[str, set[str]] = field(default_factory=_lexicons)
    """reads-as strings filed under each label in training."""
    overall: float = 1000.0

    def fit(self, marks: Sequence[Mark], prices: Sequence[float], labels: Sequence[tuple[bool, ...]]) -> Rules:
        logs = [math.log(p) for p in prices]
        self.overall = math.exp(statistics.median(logs))
        by_format: dict[str, list[float]] = defaultdict(list)
        by_length: dict[str, list[float]] = defaultdict(list)
        for m, lp in zip(marks, logs, strict=True):
            by_format[m.fmt].append(lp)
            by_length[_length_key(m)].append(lp)
        self.base = {k: round(math.exp(statistics.median(v)), 2) for k, v in by_format.items()}
        self.length = {
            k: round(math.exp(_shrunk_median([lp - math.log(self.base[k.split(":")[0]]) for lp in v])), 4)
            for k, v in by_length.items()
        }
        self.lexicons = {label: set() for label in LABELS}
        for m, lab in zip(marks, labels, strict=True):
            for label, hit in zip(LABELS, lab, strict=True):
                if hit:
                    self.lexicons[label].add(m.reads_as)
        flags = [self.flags(m) for m in marks]
        residual = [lp - math.log(self.segment_price(m)) for m, lp in zip(marks, logs, strict=True)]
        self.multipliers = dict.fromkeys((*FLAG_NAMES, *LABELS), 1.0)
        for _ in range(PASSES):
            for name in self.multipliers:
                old = math.log(self.multipliers[name])
                hits = [i for i, f in enumerate(flags) if f[name]]
                effect = _shrunk_median([residual[i] + old for i in hits]) if hits else 0.0
                for i in hits:
                    residual[i] += old - effect
                self.multipliers[name] = round(math.exp(effect), 4)
        return self

    def flags(self, mark: Mark) -> dict[str, bool]:
        flags = dict(zip(FLAG_NAMES, mark.flags, strict=True))
        for label in LABELS:
            flags[label] = mark.reads_as in self.lexicons[label]
        return flags

    def segment_price(self, mark: Mark) -> float:
        base = self.base.get(mark.fmt, self.overall)
        factor = self.length.get(_length_key(mark))
        return base * (factor if factor is not None else self._nearest_length(mark))

    def _nearest_length(self, mark: Mark) -> float:
        """A length never seen in training (no two-character dateless mark was auctioned) takes the
        multiplier of the nearest length of its format, the shorter one on a tie; 1 if none."""
        n = len(mark.registration.normalized)
        known = [
            (abs(int(k.split(":")[1]) - n), int(k.split(":")[1]), v)
            for k, v in self.length.items()
            if k.split(":")[0] == mark.fmt
        ]
        return min(known)[2] if known else 1.0

    def price(self, mark: Mark) -> float:
        """The rules' price in GBP."""
        return self.explain(mark)[0]

    def explain(self, mark: Mark) -> tuple[float, list[tuple[str, float]]]:
        """The price and the multipliers that applied, as (plain-English driver, multiplier)."""
        price = self.segment_price(mark)
        applied: list[tuple[str, float]] = []
        hits = [name for name, hit in zip(FLAG_NAMES, mark.flags, strict=True) if hit]
        hits += [label for label in LABELS if mark.reads_as in self.lexicons[label]]
        for name in hits:
            factor = self.multipliers.get(name, 1.0)
            price *= factor
            applied.append((_HUMAN[name], factor))
        return price, applied

    def to_json(self) -> dict[str, object]:
        return {
            "overall": self.overall,
            "base": self.base,
            "length": self.length,
            "multipliers": self.multipliers,
            "lexicons": {k: sorted(v) for k, v in self.lexicons.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Rules:
        lexicons: dict[str, list[str]] = data["lexicons"]  # type: ignore[assignment]
        return cls(
            base=dict(data["base"]),  # type: ignore[arg-type]
            length=dict(data["length"]),  # type: ignore[arg-type]
            multipliers=dict(data["multipliers"]),  # type: ignore[arg-type]
            lexicons={k: set(v) for k, v in lexicons.items()},
            overall=float(data["overall"]),  # type: ignore[arg-type]
        )


def _length_key(mark: Mark) -> str:
    return f"{mark.fmt}:{len(mark.registration.normalized)}"


def _shrunk_median(values: list[float]) -> float:
    if not values:
        return 0.0
    return statistics.median(values) * len(values) / (len(values) + SHRINK)
