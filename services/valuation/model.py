"""The trained valuation: artifact loading, feature rows and the ensemble (runtime code: numpy only).

Ensemble: ``log price = w * log(model) + (1 - w) * log(rules) + shift`` where the model weight
``w = weight[format] * min(1, n / full_segment_lots)`` and ``n`` is how many training lots shared the
mark's segment (format x letter/digit shape x order). The per-format weights, the shift and the 80%
range are learned by training on out-of-fold predictions of the gap validation (models fitted on
earlier auctions valuing auctions about a year later, see ``training/train.py``), and stored in the
artifact: where the model has seen nothing of a mark's kind, the readable rules answer alone. The
point estimate is the median expectation of the hammer price: the shift puts the median of
predicted/actual on validation at the artifact's ``target_bias`` (close to 1). The range is
``price * exp(q10)`` to ``price * exp(q90)`` of the validation log residuals of the mark's format.

Context: besides the mark, the model sees which kind of auction it is valuing for (``AUCTION_KINDS``:
a timed online auction or a live venue sale, known from the catalogue before the sale), because the
same mark fetches more at a venue sale. A valuation without a stated kind is for the artifact's
``default_auction_kind`` (the timed online auction, the channel most lots are sold through).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.valuation.encodings import Encodings
from services.valuation.features import FEATURE_NAMES, Mark
from services.valuation.lexicon import LEXICON_FEATURES, Lexicon
from services.valuation.rules import Rules
from services.valuation.trees import Floats, Forest

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifact"
FULL_SEGMENT = 200
"""Training lots a segment needs before the model gets its format's full weight."""


def model_weight(format_weight: float, segment_count: int, full_segment: int = FULL_SEGMENT) -> float:
    """The model's share of the blend for a mark: its format's learned weight, scaled down where the
    mark's segment had fewer than ``full_segment`` training lots (none: the rules answer alone)."""
    return format_weight * min(1.0, segment_count / full_segment)


AUCTION_KINDS = ("timed", "venue")
"""The two channels: timed online auctions (2,000+ lots, median near GBP 1,100-1,500) and live venue
sales (about 1,000-1,250 lots, median near GBP 3,000)."""
VENUE_MAX_LOTS = 1500
"""A catalogue of fewer lots than this is a live venue sale. The catalogue (and so the kind) is
published before the sale, so the kind is legitimate context for what a plate will fetch there."""


def auction_kind(catalogue_lots: int) -> str:
    return "venue" if catalogue_lots < VENUE_MAX_LOTS else "timed"


CONTEXT_NAMES = ("venue_auction", "early_regime")
"""``early_regime`` is 1 for the training lots of the cheap first auctions of the data (a market about
40% lower) and 0 when valuing: every value is for today's market, and the model learns the early lots'
patterns without their level dragging its answers down."""
MODEL_FEATURES = (*FEATURE_NAMES, *LEXICON_FEATURES, *CONTEXT_NAMES)
"""The model's columns: the mark's features (plain, encoded, read against the word lists), then the auction context."""
DEFAULT_AUCTION_KIND = "timed"


def context_row(kind: str, *, early: bool = False) -> list[float]:
    if kind not in AUCTION_KINDS:
        raise ValueError(f"auction kind must be one of {', '.join(AUCTION_KINDS)}, not {kind!r}")
    return [1.0 if kind == "venue" else 0.0, 1.0 if early else 0.0]


def feature_row(mark: Mark, encodings: Encodings, lexicon: Lexicon, kind: str = DEFAULT_AUCTION_KIND) -> list[float]:
    return [*mark.row, *encodings.row(mark.keys), *lexicon.row(mark), *context_row(kind)]


@dataclass(frozen=True, slots=True)
class Estimate:
    price: float
    low: float
    high: float
    model_weight: float
    model_price: float
    rules_price: float
    drivers: list[tuple[str, float]]


@dataclass(slots=True)
class Artifact:
    metadata: dict[str, Any]
    rules: Rules
    encodings: Encodings
    lexicon: Lexicon
    forest: Forest
    segments: dict[str, int]
    shift: float
    intervals: dict[str, list[float]]

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @property
    def blend_weights(self) -> dict[str, float]:
        """The model's weight in the blend per format (``"all"``: any format without its own)."""
        return self.metadata["ensemble"]["weights"]  # type: ignore[no-any-return]

    @property
    def default_kind(self) -> str:
        return str(self.metadata.get("default_auction_kind", DEFAULT_AUCTION_KIND))

    @classmethod
    def load(cls, directory: Path = ARTIFACT_DIR) -> Artifact:
        metadata = json.loads((directory / "metadata.json").read_text())
        learned = json.loads((directory / "learned.json").read_text())
        with np.load(directory / "learned.npz") as arrays:
            learned["encodings"]["tables"] = {
                kind: _unpack(arrays[f"table_{kind}_keys"], arrays[f"table_{kind}_values"])
                for kind in learned["encodings"]["tables"]
            }
            learned["rules"]["lexicons"] = {
                label: _split(arrays[f"lexicon_{label}"]) for label in learned["rules"]["lexicons"]
            }
            words = {kind: _split(arrays[f"words_{kind}"]) for kind in learned["words"]}
        return cls(
            metadata=metadata,
            rules=Rules.from_json(learned["rules"]),
            encodings=Encodings.from_json(learned["encodings"]),
            lexicon=Lexicon.from_json(words),
            forest=Forest.load(directory / "forest.npz"),
            segments=learned["segments"],
            shift=float(metadata["calibration"]["shift"]),
            intervals=metadata["calibration"]["intervals"],
        )

    def save(self, directory: Path) -> None:
        """Write the artifact. The big tables (encodings, lexicons) go to ``learned.npz`` as joined key
        strings and float arrays: loading them takes milliseconds where JSON took a large share of
        the cold start. The rest is readable JSON."""
        directory.mkdir(parents=True, exist_ok=True)
        self.metadata["calibration"] = {"shift": self.shift, "intervals": self.intervals}
        (directory / "metadata.json").write_text(json.dumps(self.metadata, indent=2, sort_keys=True) + "\n")
        encodings, rules = self.encodings.to_json(), self.rules.to_json()
        tables: dict[str, dict[str, list[float]]] = encodings.pop("tables")  # type: ignore[assignment]
        lexicons: dict[str, list[str]] = rules.pop("lexicons")  # type: ignore[assignment]
        arrays: dict[str, np.ndarray] = {}
        for kind, table in tables.items():
            arrays[f"table_{kind}_keys"] = np.array("\n".join(table))
            arrays[f"table_{kind}_values"] = np.array(list(table.values()), dtype=np.float64)
        for label, words in lexicons.items():
            arrays[f"lexicon_{label}"] = np.array("\n".join(words))
        word_lists = self.lexicon.to_json()
        for kind, words in word_lists.items():
            arrays[f"words_{kind}"] = np.array("\n".join(words))
        encodings["tables"] = sorted(tables)
        rules["lexicons"] = sorted(lexicons)
        learned = {"rules": rules, "encodings": encodings, "segments": self.segments, "words": sorted(word_lists)}
        (directory / "learned.json").write_text(json.dumps(learned, indent=1, sort_keys=True) + "\n")
        np.savez_compressed(directory / "learned.npz", **arrays)  # pyright: ignore[reportArgumentType]  # names only
        self.forest.save(directory / "forest.npz")

    def rows(self, marks: list[Mark], kinds: list[str] | None = None) -> Floats:
        """Model rows for ``marks`` valued for auctions of ``kinds`` (default: the artifact's default kind)."""
        kinds = kinds or [self.default_kind] * len(marks)
        enc, lex = self.encodings, self.lexicon
        rows = [feature_row(m, enc, lex, k) for m, k in zip(marks, kinds, strict=True)]
        return np.array(rows, dtype=np.float64)

    def blend(self, marks: list[Mark], model_log: Floats) -> list[Estimate]:
        """Blend model scores with the rules for each mark, then apply the calibrated shift and range."""
        out: list[Estimate] = []
        weights, full = self.blend_weights, int(self.metadata["ensemble"]["full_segment_lots"])
        for mark, mlog in zip(marks, model_log.tolist(), strict=True):
            rules_price, drivers = self.rules.explain(mark)
            w = model_weight(weights.get(mark.fmt, weights["all"]), self.segments.get(mark.segment, 0), full)
            log_price = w * mlog + (1 - w) * math.log(rules_price) + self.shift
            lo, hi = self.intervals.get(mark.fmt) or self.intervals["all"]
            price = math.exp(log_price)
            out.append(
                Estimate(price, price * math.exp(lo), price * math.exp(hi), w, math.exp(mlog), rules_price, drivers)
            )
        return out

    def estimate(self, marks: list[Mark], kinds: list[str] | None = None) -> list[Estimate]:
        """Estimates for ``marks`` in auctions of ``kinds`` (one per mark; default: the artifact's default)."""
        if not marks:
            return []
        if len(marks) == 1:
            kind = kinds[0] if kinds else self.default_kind
            scores = np.array([self.forest.predict_one(feature_row(marks[0], self.encodings, self.lexicon, kind))])
        else:
            scores = self.forest.predict(self.rows(marks, kinds))
        return self.blend(marks, scores)


def _split(joined: np.ndarray) -> list[str]:
    text = str(joined)
    return text.split("\n") if text else []


def _unpack(keys: np.ndarray, values: np.ndarray) -> dict[str, list[float]]:
    return dict(zip(_split(keys), values.tolist(), strict=True))
