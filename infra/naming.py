"""Physical names: ``reggie-<stage>-<name>``, fitted to each AWS limit.

A name longer than its limit keeps its start and ends with a short hash of the whole name, so two
long names never collide after truncation and the same input always gives the same name.
"""

from __future__ import annotations

import hashlib
import re

from infra.config import PROJECT

LIMITS: dict[str, int] = {
    "lambda": 64,
    "iam_role": 64,
    "rds_cluster": 63,
    "log_group": 512,
    "ecr_repository": 256,
    "api": 128,
    "r2_bucket": 63,
    "event_rule": 64,
    "static_site": 48,
    "default": 63,
}
"""The maximum length of each kind of physical name."""
_HASH_LENGTH = 7


def physical_name(stage: str, name: str, kind: str = "default") -> str:
    """``reggie-<stage>-<name>`` in lowercase letters, digits and single hyphens, at most the kind's limit."""
    if kind not in LIMITS:
        raise ValueError(f"unknown name kind {kind!r}; known: {', '.join(sorted(LIMITS))}")
    limit = LIMITS[kind]
    full = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", f"{PROJECT}-{stage}-{name}".lower())).strip("-")
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    head = full[: limit - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}"
