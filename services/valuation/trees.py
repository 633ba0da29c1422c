"""A LightGBM forest compiled to flat numpy arrays, evaluated without LightGBM.

Importing LightGBM costs over a second (it pulls in scipy and, when present, pandas), which alone
would break the valuation Lambda's cold-start budget, and its per-call overhead dominates a
single-row prediction. The trained forest is small, so we walk it ourselves: every tree advances
one level per step for all rows at once, and leaves point to themselves (threshold +inf), so after
``depth`` steps every walk has reached its leaf. :func:`from_lightgbm_dump` converts the model and
the training command checks that both agree to 1e-9 on every training row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]

_CHUNK = 2048
"""Rows walked together: keeps the (rows x trees) index arrays inside the CPU cache."""


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

    def predict(self, x: Floats) -> Floats:
        """Raw scores (log price) for rows ``x`` of shape (n, n_features)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        out = np.empty(x.shape[0], dtype=np.float64)
        for start in range(0, x.shape[0], _CHUNK):
            out[start : start + _CHUNK] = self._walk(x[start : start + _CHUNK])
        return out

    def predict_one(self, row: list[float]) -> float:
        """One row; the same walk over all trees at once, without the 2-D bookkeeping."""
        x = np.asarray(row, dtype=np.float64)
        node = self.roots
        for _ in range(self.depth):
            right = x[self.feature[node]] > self.threshold[node]
            node = self.children[2 * node + right]
        return float(self.value[node].sum())

    def _walk(self, x: Floats) -> Floats:
        n = x.shape[0]
        flat = x.ravel()
        offsets = (np.arange(n, dtype=np.int64) * self.n_features)[:, None]
        node = np.broadcast_to(self.roots, (n, self.roots.size))
        for _ in range(self.depth):
            right = flat[offsets + self.feature[node]] > self.threshold[node]
            node = self.children[2 * node + right]
        return self.value[node].sum(axis=1)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            feature=self.feature,
            threshold=self.threshold,
            children=self.children,
            value=self.value,
            roots=self.roots,
            meta=np.array([self.depth, self.n_features], dtype=np.int64),
        )

    @classmethod
    def load(cls, path: Path) -> Forest:
        with np.load(path) as data:
            depth, n_features = (int(v) for v in data["meta"])
            return cls(
                feature=data["feature"],
                threshold=data["threshold"],
                children=data["children"],
                value=data["value"],
                roots=data["roots"],
                depth=depth,
                n_features=n_features,
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
    return Forest(
        feature=np.asarray(feature, dtype=np.int32),
        threshold=np.asarray(threshold, dtype=np.float64),
        children=np.asarray(children, dtype=np.int32),
        value=np.asarray(value, dtype=np.float64),
        roots=np.asarray(roots, dtype=np.int32),
        depth=max_depth,
        n_features=int(dump["max_feature_idx"]) + 1,
    )
