"""A LightGBM forest compiled to flat numpy arrays, evaluated without LightGBM.

Importing LightGBM costs over a second (it pulls in scipy and, when present, pandas), which alone
would break the valuation Lambda's cold-start budget, and its per-call overhead dominates a
single-row prediction. The trained forest is small, so we evaluate it ourselves, two ways:

* one row (:meth:`Forest.predict_one`): every tree advances one level per step, all trees at once;
  leaves point to themselves (threshold +inf), so after ``depth`` steps every walk is at its leaf.
* many rows (:meth:`Forest.predict`): the QuickScorer method (Lucchese et al., SIGIR 2015). Leaves
  are numbered left to right and each split carries a bit mask that clears the leaves of its left
  subtree. A row's exit leaf in a tree is the lowest bit left set after AND-ing the masks of every
  split whose test is false for the row, so a whole batch is a few large vectorised operations
  (compare, select, AND-reduce per tree, lowest set bit by table lookup) with no per-level loop.
  Forests of trees with at most 16 leaves (the shipped one) pad every tree to the same number of
  splits, so the per-tree AND is a plain reduction over one axis (about twice as fast as a
  segmented ``reduceat``).

:func:`from_lightgbm_dump` converts the model; training checks both paths against LightGBM to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]

_CHUNK = 256
"""Rows scored together: keeps the (rows x splits) temporaries inside the CPU cache (measured best)."""
MAX_LEAVES = 64
"""Leaf masks are at most 64-bit words (narrower when every tree has fewer leaves)."""


def _lowest_bit_table() -> npt.NDArray[np.intp]:
    """Index of the lowest set bit of every 16-bit word (0 for 0, which never occurs: a row always
    reaches a leaf). 512 KB, built in about a millisecond at import."""
    words = np.arange(1 << 16, dtype=np.int64)
    return np.log2(np.maximum(words & -words, 1)).astype(np.intp)


_LOWEST_BIT = _lowest_bit_table()


@dataclass(frozen=True, slots=True)
class Forest:
    feature: Ints
    threshold: Floats
    children: Ints
    """Flattened pairs: ``children[2 * node]`` is the left child, ``children[2 * node + 1]`` the right."""
    value: Floats
    roots: Ints
    depth: int
    n_features: int
    split_feature: Ints
    """QuickScorer view: one entry per split, grouped by tree."""
    split_threshold: Floats
    split_mask: npt.NDArray[np.uint64]
    test_feature: Ints
    """The distinct (feature, threshold) tests, each compared once per row, and each split's test."""
    test_threshold: Floats
    split_test: Ints
    tree_start: npt.NDArray[np.int64]
    """Index of each tree's first split (trees without splits are folded into ``constant``)."""
    leaf_value: Floats
    """(trees with splits) x MAX_LEAVES, leaf values in left-to-right order."""
    constant: float
    max_leaves: int
    padded_tests: Ints | None = field(default=None, init=False, repr=False, compare=False)
    """Fast path for forests of trees with at most 16 leaves (derived at construction, not stored):
    every tree's splits padded to the same count, so AND-ing a tree's masks is a reduction over one
    axis of a (trees, splits, rows) array instead of a segmented ``reduceat``. ``padded_tests`` is
    each padded split's test, ``padded_masks`` its narrow mask (all ones for padding)."""
    padded_masks: npt.NDArray[np.unsignedinteger[Any]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        splits = np.diff(np.append(self.tree_start, self.split_feature.size))
        if self.max_leaves > 16 or splits.size == 0:
            return
        width = int(splits.max())
        slot = np.arange(self.split_feature.size) - np.repeat(self.tree_start, splits)
        where = np.repeat(np.arange(splits.size), splits) * width + slot
        narrow = self._narrow_masks()
        tests = np.zeros(splits.size * width, dtype=np.int32)
        masks = np.full(splits.size * width, np.iinfo(narrow.dtype).max, dtype=narrow.dtype)
        tests[where] = self.split_test
        masks[where] = narrow
        object.__setattr__(self, "padded_tests", tests)
        object.__setattr__(self, "padded_masks", masks[:, None])

    def predict(self, x: Floats) -> Floats:
        """Raw scores (log price) for rows ``x`` of shape (n, n_features)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        out = np.empty(x.shape[0], dtype=np.float64)
        tests, padded = self.padded_tests, self.padded_masks
        if tests is not None and padded is not None:
            for start in range(0, x.shape[0], _CHUNK):
                out[start : start + _CHUNK] = self._score_padded(x[start : start + _CHUNK], tests, padded)
            return out
        masks = self._narrow_masks()
        for start in range(0, x.shape[0], _CHUNK):
            out[start : start + _CHUNK] = self._score(x[start : start + _CHUNK], masks)
        return out

    def predict_one(self, row: list[float]) -> float:
        """One row; the same walk over all trees at once, without the 2-D bookkeeping."""
        x = np.asarray(row, dtype=np.float64)
        node = self.roots
        for _ in range(self.depth):
            right = x[self.feature[node]] > self.threshold[node]
            node = self.children[2 * node + right]
        return float(self.value[node].sum())

    def _score(self, x: Floats, masks: npt.NDArray[np.unsignedinteger[Any]]) -> Floats:
        if self.tree_start.size == 0:
            return np.full(x.shape[0], self.constant)
        everything = masks.dtype.type(-1 & np.iinfo(masks.dtype).max)
        false = (x[:, self.test_feature] > self.test_threshold)[:, self.split_test]
        alive = np.bitwise_and.reduceat(np.where(false, masks, everything), self.tree_start, axis=1)
        trees = self.tree_start.size
        if alive.dtype.itemsize <= 2:  # lowest set bit by table lookup: one pass instead of four
            leaf = _LOWEST_BIT[alive]
        else:
            leaf = np.log2((alive & (~alive + masks.dtype.type(1))).astype(np.float64)).astype(np.intp)
        leaf += np.arange(0, trees * MAX_LEAVES, MAX_LEAVES, dtype=np.intp)
        return self.leaf_value.reshape(-1)[leaf].sum(axis=1) + self.constant

    def _score_padded(self, x: Floats, tests: Ints, masks: npt.NDArray[np.unsignedinteger[Any]]) -> Floats:
        """``_score`` on the padded splits (see ``padded_tests``), worked as (splits, rows): fancy
        indexing along the feature axis leaves rows contiguous, so the transposes cost nothing."""
        everything = masks.dtype.type(np.iinfo(masks.dtype).max)
        false = (x[:, self.test_feature] > self.test_threshold)[:, tests].T  # (splits, rows)
        trees = self.tree_start.size
        words = np.where(false, masks, everything).reshape(trees, -1, x.shape[0])
        leaf = _LOWEST_BIT[np.bitwise_and.reduce(words, axis=1)]  # (trees, rows)
        leaf += np.arange(0, trees * MAX_LEAVES, MAX_LEAVES, dtype=np.intp)[:, None]
        return self.leaf_value.reshape(-1)[leaf].sum(axis=0) + self.constant

    def _narrow_masks(self) -> npt.NDArray[np.unsignedinteger[Any]]:
        """The split masks in the narrowest word that holds every tree's leaves (less memory to move)."""
        for dtype, bits in ((np.uint8, 8), (np.uint16, 16), (np.uint32, 32)):
            if self.max_leaves <= bits:
                return (self.split_mask & np.uint64((1 << bits) - 1)).astype(dtype)
        return self.split_mask

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            feature=self.feature,
            threshold=self.threshold,
            children=self.children,
            value=self.value,
            roots=self.roots,
            meta=np.array([self.depth, self.n_features, self.max_leaves], dtype=np.int64),
            split_feature=self.split_feature,
            split_threshold=self.split_threshold,
            split_mask=self.split_mask,
            test_feature=self.test_feature,
            test_threshold=self.test_threshold,
            split_test=self.split_test,
            tree_start=self.tree_start,
            leaf_value=self.leaf_value,
            constant=np.array([self.constant]),
        )

    @classmethod
    def load(cls, path: Path) -> Forest:
        with np.load(path) as data:
            depth, n_features, max_leaves = (int(v) for v in data["meta"])
            return cls(
                feature=data["feature"],
                threshold=data["threshold"],
                children=data["children"],
                value=data["value"],
                roots=data["roots"],
                depth=depth,
                n_features=n_features,
                split_feature=data["split_feature"],
                split_threshold=data["split_threshold"],
                split_mask=data["split_mask"],
                test_feature=data["test_feature"],
                test_threshold=data["test_threshold"],
                split_test=data["split_test"],
                tree_start=data["tree_start"],
                leaf_value=data["leaf_value"],
                constant=float(data["constant"][0]),
                max_leaves=max_leaves,
            )


def from_lightgbm_dump(dump: dict[str, Any]) -> Forest:
    """Compile ``Booster.dump_model()``; only numerical ``<=`` splits without missing values occur
    (our features are never NaN and none is categorical), and anything else is refused."""
    feature: list[int] = []
    threshold: list[float] = []
    children: list[int] = []
    value: list[float] = []
    roots: list[int] = []
    max_depth = 0

    def add(node: dict[str, Any], depth: int) -> int:
        nonlocal max_depth
        index = len(feature)
        feature.append(0)
        threshold.append(np.inf)
        children.extend((index, index))
        value.append(0.0)
        if "leaf_value" in node:
            value[index] = float(node["leaf_value"])
            max_depth = max(max_depth, depth)
            return index
        if node.get("decision_type") != "<=" or node.get("missing_type") not in (None, "None"):
            raise ValueError(f"unsupported split {node.get('decision_type')} / missing {node.get('missing_type')}")
        feature[index] = int(node["split_feature"])
        threshold[index] = float(node["threshold"])
        left = add(node["left_child"], depth + 1)
        right = add(node["right_child"], depth + 1)
        children[2 * index : 2 * index + 2] = [left, right]
        return index

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    quick = _quickscorer([tree["tree_structure"] for tree in dump["tree_info"]])
    return Forest(
        feature=np.asarray(feature, dtype=np.int32),
        threshold=np.asarray(threshold, dtype=np.float64),
        children=np.asarray(children, dtype=np.int32),
        value=np.asarray(value, dtype=np.float64),
        roots=np.asarray(roots, dtype=np.int32),
        depth=max_depth,
        n_features=int(dump["max_feature_idx"]) + 1,
        **quick,
    )


def _quickscorer(trees: list[dict[str, Any]]) -> dict[str, Any]:
    """Split arrays, masks and left-to-right leaf values of every tree (see the module docstring)."""
    features: list[int] = []
    thresholds: list[float] = []
    masks: list[int] = []
    starts: list[int] = []
    leaves: list[list[float]] = []
    constant = 0.0
    max_leaves = 1
    for root in trees:
        if "leaf_value" in root:
            constant += float(root["leaf_value"])
            continue
        values: list[float] = []

        def visit(node: dict[str, Any], values: list[float] = values) -> tuple[int, int]:
            """Number the leaves under ``node`` left to right; returns their (first, end) range."""
            if "leaf_value" in node:
                values.append(float(node["leaf_value"]))
                return len(values) - 1, len(values)
            index = len(features)
            features.append(int(node["split_feature"]))
            thresholds.append(float(node["threshold"]))
            masks.append(0)
            first, middle = visit(node["left_child"])
            _, end = visit(node["right_child"])
            left_bits = ((1 << (middle - first)) - 1) << first
            masks[index] = ~left_bits & ((1 << MAX_LEAVES) - 1)
            return first, end

        starts.append(len(features))
        visit(root)
        if len(values) > MAX_LEAVES:
            raise ValueError(f"a tree has {len(values)} leaves; at most {MAX_LEAVES} are supported")
        max_leaves = max(max_leaves, len(values))
        leaves.append(values + [0.0] * (MAX_LEAVES - len(values)))
    tests: dict[tuple[int, float], int] = {}
    split_test = [tests.setdefault(pair, len(tests)) for pair in zip(features, thresholds, strict=True)]
    return {
        "split_feature": np.asarray(features, dtype=np.int32),
        "split_threshold": np.asarray(thresholds, dtype=np.float64),
        "test_feature": np.asarray([f for f, _ in tests], dtype=np.int32),
        "test_threshold": np.asarray([t for _, t in tests], dtype=np.float64),
        "split_test": np.asarray(split_test, dtype=np.int32),
        "split_mask": np.asarray(masks, dtype=np.uint64),
        "tree_start": np.asarray(starts, dtype=np.int64),
        "leaf_value": np.asarray(leaves, dtype=np.float64).reshape(len(leaves), MAX_LEAVES),
        "constant": constant,
        "max_leaves": max_leaves,
    }
