"""The marketplace's settings: how long things last and where the external services are.

Read by the API and the worker from the variables in :mod:`services.core.contract` (the table there),
each with a default, so a deployed stage needs none of them; the local stack points the three
service URLs at its stand-ins. A bad value is one :class:`~services.core.settings.SettingsError`
naming the variable. Standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.core import contract
from services.core.settings import SettingsError, number_setting

__all__ = ["QUOTA_PATTERN", "MarketSettings", "load_market_settings"]

DEFAULT_SENDER = "Reggie <notifications@reggie.co.uk>"
_SENDER = re.compile(r"^([^<>@]*<[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+)$")
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")


@dataclass(frozen=True, slots=True)
class MarketSettings:
    offer_lapse: timedelta = timedelta(days=3)
    valuation_max_age: timedelta = timedelta(days=30)
    email_sender: str = DEFAULT_SENDER
    checkout_return_url: str | None = None
    """``None``: the caller's first allowed origin (the web app)."""
    stripe_api_base: str = "https://api.stripe.com"
    resend_api_url: str = "https://api.resend.com"
    dvla_api_url: str = "https://driver-vehicle-licensing.api.gov.uk"
    max_open_claims: int = 5
    """Pending ownership claims one user may have at once."""
    max_claim_documents: int = 5
    """Documents one claim may hold, rejected uploads included (each is an upload URL handed out)."""


def load_market_settings(
    environ: Mapping[str, str] | None = None, *, allowed_origins: Sequence[str] = ()
) -> MarketSettings:
    """Parse the marketplace variables (default ``os.environ``); the return URL defaults to the first origin."""
    env = os.environ if environ is None else environ
    defaults = MarketSettings()
    sender = env.get(contract.EMAIL_SENDER, "").strip() or defaults.email_sender
    if not _SENDER.match(sender):
        raise SettingsError(f"{contract.EMAIL_SENDER}={sender!r} is malformed: expected 'Name <address>' or an address")
    return_url = env.get(contract.CHECKOUT_RETURN_URL, "").strip() or (allowed_origins[0] if allowed_origins else None)
    return MarketSettings(
        offer_lapse=timedelta(days=number_setting(env, contract.OFFER_LAPSE_DAYS, 3, 0.001, 30)),
        valuation_max_age=timedelta(days=number_setting(env, contract.VALUATION_MAX_AGE_DAYS, 30, 0.001, 365)),
        email_sender=sender,
        checkout_return_url=_url(contract.CHECKOUT_RETURN_URL, return_url) if return_url else None,
        stripe_api_base=_url(contract.STRIPE_API_BASE, env.get(contract.STRIPE_API_BASE) or defaults.stripe_api_base),
        resend_api_url=_url(contract.RESEND_API_URL, env.get(contract.RESEND_API_URL) or defaults.resend_api_url),
        dvla_api_url=_url(contract.DVLA_API_URL, env.get(contract.DVLA_API_URL) or defaults.dvla_api_url),
        max_open_claims=_count(env, contract.MAX_OPEN_CLAIMS, defaults.max_open_claims),
        max_claim_documents=_count(env, contract.MAX_CLAIM_DOCUMENTS, defaults.max_claim_documents),
    )


QUOTA_PATTERN = r"[1-9][0-9]?"
"""A quota: a whole number from 1 to 99 (the pattern the API's spec gives the stage config, which refuses
anything else before a deploy)."""


def _count(env: Mapping[str, str], variable: str, default: int) -> int:
    """A quota: a whole number from 1 to 99 (:data:`QUOTA_PATTERN`), ``default`` when unset."""
    text = env.get(variable, "").strip()
    if not text:
        return default
    if not re.fullmatch(QUOTA_PATTERN, text):
        raise SettingsError(f"{variable} must be a whole number from 1 to 99, got {text!r}")
    return int(text)


def _url(variable: str, value: str) -> str:
    """An https URL, or plain http to this machine only (the stand-ins)."""
    url = value.strip().rstrip("/")
    if not (re.match(r"^https://[^/\s]+", url) or _LOOPBACK.match(url)):
        raise SettingsError(f"{variable}={value!r} must be an https URL (http only to this machine)")
    return url
