"""API settings, read once from the environment (the contract in ``infra/service_spec.py``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class ApiSettings:
    stage: str
    database_url: str | None
    allowed_origins: tuple[str, ...]
    clerk_issuer: str
    clerk_jwks_url: str

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


@cache
def get_settings() -> ApiSettings:
    env = os.environ
    return ApiSettings(
        stage=env.get("STAGE", "local"),
        database_url=env.get("DATABASE_URL") or None,
        allowed_origins=_csv(env.get("ALLOWED_ORIGINS", "")),
        clerk_issuer=env.get("CLERK_ISSUER", "").rstrip("/"),
        clerk_jwks_url=env.get("CLERK_JWKS_URL", ""),
    )
