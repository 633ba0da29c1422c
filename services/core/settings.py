"""Typed settings, parsed once per process from the environment.

The variable names are the environment contract in :mod:`services.core.contract`: the infra wiring sets
them on every Lambda function and ``make dev`` sets the same names locally. The only difference
between a laptop and Lambda is how the database is reached:

* locally (and in tests) ``DATABASE_URL`` names any PostgreSQL 15+ server;
* on Lambda ``DB_HOST``, ``DB_PORT`` and ``DB_NAME`` name the Aurora writer, and either ``DB_USER`` the
  service's own role, which logs in with IAM authentication tokens, or (the migrator only)
  ``DB_SECRET_ARN`` the RDS-managed master secret (see :mod:`services.core.credentials`). Either way the
  connection is TLS with ``verify-full`` against the RDS roots of the function's region (``AWS_REGION``,
  set by Lambda), shipped in ``services/core/certs/`` (see :mod:`services.core.tls`).

Every problem is reported as one :class:`SettingsError` naming the variable, never a bare
``KeyError`` or a validation trace, so a misconfigured function fails with a message an operator can
act on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Literal

import msgspec

from services.core import contract
from services.core.tls import missing_bundle, rds_ca_bundle, verify_full

__all__ = [
    "DatabaseLocation",
    "LogLevel",
    "Settings",
    "SettingsError",
    "get_settings",
    "load_settings",
    "number_setting",
]

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_SERVICE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_URL_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


class SettingsError(ValueError):
    """The environment is missing a variable or holds a malformed one; the message names it."""


class DatabaseLocation(msgspec.Struct, frozen=True, kw_only=True):
    """Where the database is: a full URL (local), or the Aurora writer and how to log in to it (Lambda)."""

    url: str | None = None
    """A SQLAlchemy URL with the psycopg 3 driver (``postgresql+psycopg://...``)."""
    host: str | None = None
    port: int = 5432
    name: str | None = None
    user: str | None = None
    """The service's own role, logged in with IAM authentication tokens (``DB_USER``)."""
    secret_arn: str | None = None
    """The master user's Secrets Manager secret (JSON with ``username`` and ``password``): the migrator's."""
    region: str | None = None
    """The AWS region of the function (``AWS_REGION``): where tokens are signed for and whose CAs to trust."""
    ca_file: str | None = None
    """The RDS root CAs the server's certificate must chain to (``sslmode=verify-full``)."""

    def tls(self) -> dict[str, str]:
        """libpq's TLS parameters for this location: ``verify-full`` against :attr:`ca_file` on Lambda;
        nothing for a URL, which says itself how to connect."""
        return {} if self.ca_file is None else verify_full(self.ca_file)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a service reads from its environment; build it with :func:`load_settings`."""

    stage: str
    """``production``, ``staging``, ``dev-<name>``, or ``local`` under ``make dev``."""
    service_name: str
    log_level: LogLevel = "INFO"
    database: DatabaseLocation | None = None
    """``None`` when the service does not link the database."""
    bucket_name: str | None = None
    bucket_endpoint: str | None = None
    allowed_origins: tuple[str, ...] = ()
    clerk_issuer: str | None = None
    clerk_jwks_url: str | None = None
    function_names: dict[str, str] = msgspec.field(default_factory=dict)
    """``VALUATION_FUNCTION_NAME=...`` becomes ``{"valuation": "..."}``."""
    secret_parameters: dict[str, str] = msgspec.field(default_factory=dict)
    """``STRIPE_SECRET_KEY_PARAMETER=...`` becomes ``{"stripe_secret_key": "..."}`` (SSM names, never values)."""
    on_lambda: bool = False
    """True inside AWS Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set): decides the connection pool size."""
    version: str = contract.UNKNOWN_RELEASE
    """The platform version the deploy was made from (``APP_VERSION``)."""
    commit: str = contract.UNKNOWN_RELEASE
    """The newest commit that changed this function's package (``GIT_COMMIT``)."""

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


# Plain string variables, by the Settings field they fill.
_SIMPLE = {
    "stage": contract.STAGE,
    "service_name": contract.SERVICE_NAME,
    "log_level": contract.LOG_LEVEL,
    "bucket_name": contract.BUCKET_NAME,
    "bucket_endpoint": contract.BUCKET_ENDPOINT,
    "clerk_issuer": contract.CLERK_ISSUER,
    "clerk_jwks_url": contract.CLERK_JWKS_URL,
    "version": contract.APP_VERSION,
    "commit": contract.GIT_COMMIT,
}
_FIELD_TO_VARIABLE = {
    **_SIMPLE,
    "database.url": contract.DATABASE_URL,
    "database.host": contract.DB_HOST,
    "database.port": contract.DB_PORT,
    "database.name": contract.DB_NAME,
    "database.secret_arn": contract.DB_SECRET_ARN,
    "database.user": contract.DB_USER,
    "allowed_origins": contract.ALLOWED_ORIGINS,
}
_LAMBDA_DB_VARIABLES = (contract.DB_HOST, contract.DB_NAME)
_LOGINS = (contract.DB_USER, contract.DB_SECRET_ARN)
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse ``environ`` (default: ``os.environ``) into :class:`Settings` or raise :class:`SettingsError`."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, object] = {}
    for field, variable in _SIMPLE.items():
        value = env.get(variable, "").strip()
        if value:
            raw[field] = value.upper() if field == "log_level" else value
    for field, variable in (("stage", contract.STAGE), ("service_name", contract.SERVICE_NAME)):
        if field not in raw:
            raise SettingsError(f"{variable} is not set (the environment contract in services/core/contract.py)")
    if not _STAGE.match(str(raw["stage"])):
        raise SettingsError(
            f"{contract.STAGE}={raw['stage']!r} is malformed: expected lower-case letters, digits and '-'"
        )
    if not _SERVICE.match(str(raw["service_name"])):
        raise SettingsError(
            f"{contract.SERVICE_NAME}={raw['service_name']!r} is malformed: expected a service folder name"
        )
    if origins := env.get(contract.ALLOWED_ORIGINS, "").strip():
        raw["allowed_origins"] = tuple(_origin(part) for part in origins.split(",") if part.strip())
    for url_field in ("bucket_endpoint", "clerk_issuer", "clerk_jwks_url"):
        if url_field in raw:
            _require_http_url(_SIMPLE[url_field], str(raw[url_field]))
    database = _database(env)
    if database is not None:
        raw["database"] = database
    raw["function_names"] = _suffixed(env, contract.FUNCTION_NAME_SUFFIX)
    raw["secret_parameters"] = _suffixed(env, contract.PARAMETER_SUFFIX)
    raw["on_lambda"] = bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(exc)) from None


@cache
def get_settings() -> Settings:
    """The process's settings, parsed from ``os.environ`` on first call and reused afterwards."""
    return load_settings()


def _database(env: Mapping[str, str]) -> dict[str, object] | None:
    url = env.get(contract.DATABASE_URL, "").strip()
    if url:
        if not url.startswith(_URL_SCHEMES):
            raise SettingsError(
                f"{contract.DATABASE_URL} is malformed: expected postgresql://user:password@host:port/database, "
                f"got a URL starting {url.split(':', 1)[0]!r}"
            )
        return {"url": "postgresql+psycopg://" + url.split("://", 1)[1]}
    present = [name for name in (*_LAMBDA_DB_VARIABLES, *_LOGINS, contract.DB_PORT) if env.get(name, "").strip()]
    if not present:
        return None
    missing = [name for name in _LAMBDA_DB_VARIABLES if not env.get(name, "").strip()]
    logins = [name for name in _LOGINS if env.get(name, "").strip()]
    if len(logins) != 1:
        missing.append(" or ".join(_LOGINS) if not logins else f"not both {' and '.join(_LOGINS)}")
    if missing:
        raise SettingsError(f"{', '.join(missing)} not set (needed with {', '.join(present)}, or set DATABASE_URL)")
    database: dict[str, object] = {"host": env[contract.DB_HOST].strip(), "name": env[contract.DB_NAME].strip()}
    if port := env.get(contract.DB_PORT, "").strip():
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"{contract.DB_PORT}={port!r} is malformed: expected a TCP port number")
        database["port"] = int(port)
    return database | _login(env) | _region_and_roots(env)


def _login(env: Mapping[str, str]) -> dict[str, object]:
    """The service's own role (``DB_USER``), or the master secret (``DB_SECRET_ARN``): exactly one is set."""
    if user := env.get(contract.DB_USER, "").strip():
        if not _ROLE.match(user):
            raise SettingsError(f"{contract.DB_USER}={user!r} is malformed: expected a role name like reggie_api")
        return {"user": user}
    arn = env[contract.DB_SECRET_ARN].strip()
    if not arn.startswith("arn:"):
        raise SettingsError(f"{contract.DB_SECRET_ARN}={arn!r} is malformed: expected a Secrets Manager ARN")
    return {"secret_arn": arn}


def _region_and_roots(env: Mapping[str, str]) -> dict[str, object]:
    """The function's region and the RDS root CAs shipped for it."""
    region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()
    if not region:
        raise SettingsError(
            "AWS_REGION is not set (Lambda sets it): the database's certificate authorities and IAM tokens are "
            "per region"
        )
    ca_file = rds_ca_bundle(region)
    if ca_file is None:
        raise SettingsError(missing_bundle(region))
    return {"region": region, "ca_file": str(ca_file)}


def _origin(value: str) -> str:
    origin = value.strip().rstrip("/")
    _require_http_url(contract.ALLOWED_ORIGINS, origin)
    return origin


def _require_http_url(variable: str, value: str) -> None:
    if not re.match(r"^https?://[^/\s]+", value):
        raise SettingsError(f"{variable}={value!r} is malformed: expected an http(s) URL")


def _suffixed(env: Mapping[str, str], suffix: str) -> dict[str, str]:
    return {
        name[: -len(suffix)].lower(): value
        for name, value in env.items()
        if name.endswith(suffix) and len(name) > len(suffix) and name.isupper() and value
    }


def _explain(exc: msgspec.ValidationError) -> str:
    """Turn msgspec's ``... - at `$.database.port``` into a message naming the environment variable."""
    message = str(exc)
    match = re.search(r"at `\$\.([a-z_.]+)", message)
    if match is None:
        return f"invalid settings: {message}"
    path = match.group(1)
    variable = _FIELD_TO_VARIABLE.get(path, path.upper())
    reason = message.split(" - at ", 1)[0]
    return f"{variable} is malformed: {reason}"


def number_setting(env: Mapping[str, str], variable: str, default: float, low: float, high: float) -> float:
    """``variable`` as a number from ``low`` to ``high`` (``default`` when unset), else a :class:`SettingsError`."""
    text = env.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise SettingsError(f"{variable} must be a number from {low:g} to {high:g}, got {text!r}")
    return value
