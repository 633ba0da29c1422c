"""Secret values the API needs (webhook signing secrets, R2 keys), read once and cached.

Deployed, the environment names the SSM parameter holding each secret (``STRIPE_WEBHOOK_SECRET_PARAMETER``,
never the value) and the value is read with decryption on first use. Locally and in tests the value
may be given directly (``STRIPE_WEBHOOK_SECRET``), and the local stage falls back to fixed development
secrets so ``make dev`` works with nothing configured. The placeholder a personal stage stores for a secret
nobody set (:data:`~services.core.contract.UNSET_SECRET`) counts as not configured: a webhook "signed" with
it would be forgeable by anyone, so what needs it answers 503 instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from services.api.errors import first_line
from services.core.contract import UNSET_SECRET
from services.core.settings import Settings

_LOCAL_DEFAULTS = {
    "clerk_webhook_secret": "whsec_cmVnZ2llLWxvY2FsLWNsZXJrLXdlYmhvb2s=",  # base64("reggie-local-clerk-webhook")
    "stripe_webhook_secret": "whsec_reggie_local_stripe",
}


class SecretUnavailable(Exception):
    """A secret the request needs is not configured or cannot be read."""


class Secrets:
    """The process's secrets by name (``"stripe_webhook_secret"``), each resolved on first use."""

    def __init__(self, settings: Settings, ssm: Any, *, environ: Mapping[str, str] = os.environ) -> None:
        """``ssm``: an SSM client, called only for a secret the environment names a parameter for."""
        self._settings = settings
        self._ssm = ssm
        self._environ = environ
        self._cache: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> str:
        """The value of ``name``, or :class:`SecretUnavailable`."""
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._resolve(name)
            value = self._cache[name]
        if value is None:
            raise SecretUnavailable(f"the {name} secret is not configured")
        return value

    def forget(self) -> None:
        """Drop every value read so far; each is read again on its next use."""
        with self._lock:
            self._cache.clear()

    def optional(self, name: str) -> str | None:
        try:
            return self.get(name)
        except SecretUnavailable:
            return None

    def _resolve(self, name: str) -> str | None:
        direct = self._environ.get(name.upper())
        if direct:
            return direct
        parameter = self._settings.secret_parameters.get(name)
        if parameter:
            try:
                response = self._ssm.get_parameter(Name=parameter, WithDecryption=True)
                value = str(response["Parameter"]["Value"])
            except Exception as exc:
                # Not cached: the next request tries again, since SSM may only have been slow.
                raise SecretUnavailable(f"cannot read the {name} secret from SSM: {first_line(exc)}") from exc
            return None if value == UNSET_SECRET else value
        if self._settings.is_local:
            return _LOCAL_DEFAULTS.get(name)
        return None
