"""The API as ``make dev`` serves it (``uvicorn services.local.api:app``): the deployed app, handed
what only this machine has.

* the token minter behind ``GET /dev/info``: the local issuer's key (``LOCAL_ISSUER_DIR``) signs
  Clerk-shaped tokens that the API verifies exactly as it verifies Clerk's;
* the valuation model in process, loaded on the first valuation (numpy and the artifact take a
  moment), or with ``VALUATION_BACKEND=fallback`` the API's documented heuristic;
* the start-up gate (:mod:`services.local.starting`): 503 ``starting`` until the stack's database is
  migrated and seeded.

The deployed API imports nothing from here; this module imports the API, the issuer and, on first
use, the valuation service.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Litestar

from services.api.app import create_app
from services.api.resources import build_resources
from services.api.settings import ApiSettings, get_api_settings
from services.api.valuations.client import InProcessBackend
from services.core.settings import Settings
from services.local.issuer import LocalIssuer, default_issuer_dir
from services.local.starting import STARTING_FILE_VARIABLE, StartingGate

log = logging.getLogger("reggie.local")

__all__ = ["app", "local_app", "mint", "valuation_backend"]

ValueMany = Callable[[list[str]], list[dict[str, Any]]]


def mint(*, subject: str, role: str, azp: str | None, ttl_s: int) -> str:
    """A session token from the running stack's issuer (its key and URL in ``LOCAL_ISSUER_DIR``)."""
    issuer = LocalIssuer(default_issuer_dir())
    if azp is None:
        return issuer.mint(subject=subject, role=role, ttl_s=ttl_s)
    return issuer.mint(subject=subject, role=role, ttl_s=ttl_s, azp=azp)


def _load_model(core: Settings) -> ValueMany | None:
    """The valuation service's ``value_many``, reading comparable sales from the local database as the
    deployed function reads them from Aurora."""
    try:
        # numpy and the model, on first use
        from services.valuation.comparables import SalesReader  # noqa: PLC0415
        from services.valuation.service import value_many  # noqa: PLC0415
    except ImportError:
        log.warning("the valuation service cannot be imported here; valuations use the fallback estimate")
        return None
    sales = SalesReader.for_settings(core)
    return lambda registrations: value_many(registrations, sales=sales)


def valuation_backend(settings: ApiSettings) -> InProcessBackend:
    if settings.valuation_backend == "fallback":
        return InProcessBackend(None)
    return InProcessBackend(None, loader=lambda: _load_model(settings.core))


def local_app(settings: ApiSettings) -> Litestar:
    return create_app(build_resources(settings, valuation_backend=valuation_backend(settings)), mint=mint)


def _starting_marker() -> Path | None:
    marker = os.environ.get(STARTING_FILE_VARIABLE)
    return Path(marker) if marker else None


app = StartingGate(local_app(get_api_settings()), _starting_marker())
