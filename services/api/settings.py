"""API settings: the shared core settings plus what only the API reads, parsed once per process.

The environment contract (:mod:`services.core.contract`) is read by :mod:`services.core.settings` (including
the version and commit `/health/version` reports); this module adds the API's own knobs:

| variable | meaning |
|---|---|
| `API_PUBLIC_URL` | local stage only: the URL `/dev/info` prints in its examples |
| `VALUATION_BACKEND` | the local stack's app (`services.local.api`) only: `auto` (the valuation service in |
|   | process when importable, else the fallback estimate) or `fallback` (always the documented heuristic); |
|   | the deployed app invokes `VALUATION_FUNCTION_NAME`, or without one answers with the heuristic |

``SERVICE_NAME`` defaults to ``api`` here because this module only ever runs as the API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from services.core import contract
from services.core.market_settings import MarketSettings, load_market_settings
from services.core.settings import Settings, SettingsError, get_settings


@dataclass(frozen=True, slots=True)
class ApiSettings:
    core: Settings
    public_url: str
    valuation_backend: Literal["auto", "fallback"] = "auto"
    market: MarketSettings = field(default_factory=MarketSettings)
    """Offer lapse, valuation freshness, the checkout return URL, where Stripe and the DVLA are."""

    @property
    def stage(self) -> str:
        return self.core.stage

    @property
    def version(self) -> str:
        return self.core.version

    @property
    def commit(self) -> str:
        return self.core.commit

    @property
    def is_local(self) -> bool:
        return self.core.is_local


@cache
def get_api_settings() -> ApiSettings:
    """The API's settings (raises :class:`services.core.settings.SettingsError` naming a bad variable)."""
    os.environ.setdefault(contract.SERVICE_NAME, "api")
    env = os.environ
    core = get_settings()
    return ApiSettings(
        core=core,
        public_url=env.get("API_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        valuation_backend=_valuation_backend(env.get("VALUATION_BACKEND", "auto")),
        market=load_market_settings(env, allowed_origins=core.allowed_origins),
    )


def _valuation_backend(value: str) -> Literal["auto", "fallback"]:
    if value == "auto":
        return "auto"
    if value == "fallback":
        return "fallback"
    raise SettingsError(f"VALUATION_BACKEND={value!r} is malformed: expected 'auto' or 'fallback'")
