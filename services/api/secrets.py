"""Secret values the API needs (webhook signing secrets, R2 keys), read once and cached.

Deployed, the environment names the SSM parameter holding each secret (``STRIPE_WEBHOOK_SECRET_PARAMETER``,
never the value) and the value is read with decryption on first use. Locally and in tests the value
may be given directly (``STRIPE_WEBHOOK_SECRET``), and the local stage falls back to fixed development
secrets so ``make dev`` works with nothing configured.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from services.api import aws
from services.api.settings import get_api_settings

_LOCAL_DEFAULTS = {
    "clerk_webhook_secret": "whsec_cmVnZ2llLWxvY2FsLWNsZXJrLXdlYmhvb2s=",  # base64("reggie-local-clerk-webhook")
    "stripe_webhook_secret": "whsec_reggie_local_stripe",
}

_cache: dict[str, str | None] = {}
_lock = threading.Lock()
_ssm: list[Any] = []


class SecretUnavailable(Exception):
    """A secret the request needs is not configured or cannot be read."""


def secret(name: str) -> str:
    """The value of ``name`` (e.g. ``"stripe_webhook_secret"``) or :class:`SecretUnavailable`."""
    with _lock:
        if name not in _cache:
            _cache[name] = _resolve(name)
        value = _cache[name]
    if value is None:
        raise SecretUnavailable(f"the {name} secret is not configured")
    return value


def _resolve(name: str) -> str | None:
    direct = os.environ.get(name.upper())
    if direct:
        return direct
    parameter = get_api_settings().core.secret_parameters.get(name)
    if parameter:
        try:
            response = _ssm_client().get_parameter(Name=parameter, WithDecryption=True)
            return str(response["Parameter"]["Value"])
        except Exception as exc:
            raise SecretUnavailable(f"cannot read the {name} secret from SSM: {type(exc).__name__}") from exc
    if get_api_settings().is_local:
        return _LOCAL_DEFAULTS.get(name)
    return None


def _ssm_client() -> Any:
    # Built on first use: only deployed stages name SSM parameters, and then at cold start.
    if not _ssm:
        _ssm.append(aws.ssm_client())
    return _ssm[0]
