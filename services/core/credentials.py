"""Database credentials from an RDS-managed secret, which RDS rotates (every seven days by default).

A deployed process reads the secret once, at init, and keeps the user and password. That goes stale
when the secret rotates under a process that outlives the rotation: a warm Lambda environment, or one
resumed from a SnapStart snapshot taken days before. Connections already open keep working, but every
new one would be refused until the next deploy. So whoever opens connections calls :meth:`reread`
when a connection attempt fails, and tries once more when the password has changed.

Only Lambda deployments use this; locally ``DATABASE_URL`` carries the credentials.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from services.core.settings import SettingsError

REREAD_INTERVAL_S = 30.0
"""At most one extra Secrets Manager call per this many seconds, however many connections fail (a
database that is down fails every attempt, and must not turn into a storm of secret reads)."""


SECRETS_CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": 3,
    "read_timeout": 5,
    "retries": {"total_max_attempts": 2, "mode": "standard"},
}
"""Short attempts: botocore's defaults (60 s to connect, five attempts) would hold a function for minutes
on an endpoint it cannot reach yet (a NAT still booting); whoever reads decides when to try again."""


class QuickSecretsClient:
    """A Secrets Manager client with :data:`SECRETS_CLIENT_CONFIG`, built by its first call (boto3 and
    botocore load then, not at import)."""

    def __init__(self) -> None:
        self._client: Any = None

    def get_secret_value(self, **kwargs: Any) -> Any:
        if self._client is None:
            import boto3  # noqa: PLC0415 - only deployed functions read the secret
            from botocore.config import Config  # noqa: PLC0415

            self._client = boto3.client("secretsmanager", config=Config(**SECRETS_CLIENT_CONFIG))
        return self._client.get_secret_value(**kwargs)


class RotatingCredentials:
    """The ``username`` and ``password`` of one Secrets Manager secret, read on first use and reread on demand."""

    def __init__(
        self,
        secret_arn: str,
        client: Any = None,
        *,
        reread_interval_s: float = REREAD_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret_arn = secret_arn
        self._client = client
        self._interval = reread_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._value: tuple[str, str] | None = None
        self._read_at = 0.0

    def current(self) -> tuple[str, str]:
        """User name and password as last read (reading the secret the first time)."""
        with self._lock:
            if self._value is None:
                self._value = self._read()
            return self._value

    def reread(self) -> bool:
        """Read the secret again; ``True`` when the credentials changed, so a refused connection is
        worth retrying. ``False`` without a call when the last read was under the interval ago."""
        with self._lock:
            if self._value is not None and self._clock() - self._read_at < self._interval:
                return False
            before, self._value = self._value, self._read()
            return self._value != before

    def forget(self) -> None:
        """Drop the credentials and the time they were read: after a SnapStart restore the value may be days
        old and the clock it was timed on is the snapshot's, so the next use reads the secret afresh."""
        with self._lock:
            self._value, self._read_at = None, 0.0

    def _read(self) -> tuple[str, str]:
        if self._client is None:
            import boto3  # noqa: PLC0415 - only Lambda deployments need it, and its import costs ~100 ms

            self._client = boto3.client("secretsmanager")
        self._read_at = self._clock()
        try:
            secret = json.loads(self._client.get_secret_value(SecretId=self.secret_arn)["SecretString"])
            return str(secret["username"]), str(secret["password"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SettingsError(
                f"DB_SECRET_ARN={self.secret_arn!r} does not hold JSON with username and password ({exc!r})"
            ) from None
