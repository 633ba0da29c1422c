"""Health bodies: liveness, readiness of each dependency, and the running version."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct


class CheckResult(Struct, kw_only=True):
    status: Literal["ok", "fail"]
    latency_ms: float


class DeepHealth(Struct, kw_only=True):
    status: Literal["ok", "fail"]
    checks: dict[str, CheckResult]


class Health(Struct, kw_only=True):
    status: Literal["ok"]


class Version(Struct, kw_only=True):
    version: str
    commit: str
    stage: str
