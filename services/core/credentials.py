"""How a deployed process logs in to the database: a :class:`DatabaseLogin`, asked for a user name and a
password each time a connection is opened.

* :class:`IamAuthToken`, every service but the migrator: the service's own role (``DB_USER``) with an IAM
  database authentication token, which botocore signs locally with the function's AWS credentials (no
  network call). A token admits new connections for 15 minutes and an open connection for as long as it
  stays open, so a fresh one is signed for every new connection: none is ever presented near its expiry.
  The function's role may ``rds-db:connect`` as that one user only (``infra/links.py``).
* :class:`RotatingCredentials`, the migrator: the master user from the RDS-managed secret, which RDS rotates
  (every seven days by default). A process outliving a rotation (a warm environment, or one resumed from a
  SnapStart snapshot taken days before) keeps its open connections, but every new one would be refused; so
  whoever opens connections calls :meth:`DatabaseLogin.reread` when a connection attempt fails, and tries
  once more when the password has changed.

The engine (:func:`services.core.db.build_engine`'s ``do_connect`` hook), the API's read pool and the valuation
function's reader all take either. Locally ``DATABASE_URL`` carries the credentials and none is used.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from services.core.settings import SettingsError

__all__ = [
    "REREAD_INTERVAL_S",
    "SECRETS_CLIENT_CONFIG",
    "DatabaseLogin",
    "IamAuthToken",
    "QuickSecretsClient",
    "RotatingCredentials",
]


class DatabaseLogin(Protocol):
    """What opens a connection asks for a user name and password; see the module's docstring."""

    def current(self) -> tuple[str, str]:
        """The user name and password to log in with now."""
        ...

    def reread(self) -> bool:
        """After a refused login: fetch the credentials again; ``True`` when they changed (worth a retry)."""
        ...

    def forget(self) -> None:
        """Drop what is held (after a SnapStart restore), so the next :meth:`current` starts afresh."""
        ...


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


class IamAuthToken:
    """The service's own role and an IAM authentication token for it, signed afresh for every connection.

    ``client`` is a boto3 ``rds`` client (built on first use otherwise: boto3 loads then, not at import);
    :meth:`~botocore.signers.generate_db_auth_token` presigns ``rds-db:connect`` for ``user`` at
    ``host:port`` with the client's credentials, valid :data:`TOKEN_LIFETIME_S`, without a network call.
    """

    TOKEN_LIFETIME_S = 900
    """What RDS accepts a token for (15 minutes); botocore signs every token for that long."""

    def __init__(self, host: str, port: int, user: str, region: str, client: Any = None) -> None:
        self.host, self.port, self.user, self.region = host, port, user, region
        self._client = client
        self._lock = threading.Lock()

    def current(self) -> tuple[str, str]:
        """The role and a token signed now."""
        with self._lock:
            if self._client is None:
                import boto3  # noqa: PLC0415 - only deployed functions sign tokens

                self._client = boto3.client("rds", region_name=self.region)
            client = self._client
        token = client.generate_db_auth_token(
            DBHostname=self.host, Port=self.port, DBUsername=self.user, Region=self.region
        )
        return self.user, str(token)

    def reread(self) -> bool:
        """Nothing to reread: every login already carries a token signed for it, so a refused one (no
        ``rds_iam`` grant yet, an IAM policy still propagating) is not retried at once."""
        return False

    def forget(self) -> None:
        """Drop the client, and with it any AWS credentials it resolved before a SnapStart snapshot."""
        with self._lock:
            self._client = None
