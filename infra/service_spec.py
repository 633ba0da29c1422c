"""What a pluggable service declares about itself: the contract between `services/<name>/deploy.py`
and the wiring in `infra/`.

A service is a folder `services/<name>/` whose `deploy.py` defines one module-level `SPEC`
(a :class:`ServiceSpec`). `infra/` discovers every spec and wires it: an IAM role holding only the
grants the spec asks for, a log group, VPC placement, the environment below, HTTP routes on the API,
a schedule. Adding a service adds a folder and touches nothing in `infra/` or `components/`.

Environment contract (what the wiring sets on every function, and what `services/core/settings.py`
reads; locally `make dev` sets the same names):

| variable | when | meaning |
|---|---|---|
| `STAGE` | always | the stack name: `production`, `staging`, `dev-<name>` (`local` under `make dev`) |
| `SERVICE_NAME` | always | the service's folder name |
| `LOG_LEVEL` | always | `INFO` unless overridden |
| `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_SECRET_ARN` | `needs_database` | the Aurora writer; credentials come |
|   |   | from the RDS-managed secret at cold start |
| `BUCKET_NAME`, `BUCKET_ENDPOINT` | `needs_bucket` | the R2 bucket and its jurisdiction's S3 endpoint |
| `<NAME>_FUNCTION_NAME` | each name in `invokes` | e.g. `VALUATION_FUNCTION_NAME` |
| `<SECRET>_PARAMETER` | each name in `secrets` | the SSM parameter *name* holding the secret, |
|   |   | e.g. `CLERK_SECRET_KEY_PARAMETER`; never the value |
| `SECRETS_VERSION` | `secrets` non-empty | the parameters' SSM versions (`name:version,...`), read by |
|   |   | nobody: changing a secret changes the function's configuration, so warm environments (and a |
|   |   | SnapStart snapshot) that read the old value at init are replaced |
| `ALLOWED_ORIGINS`, `CLERK_ISSUER`, `CLERK_JWKS_URL` | `routes` non-empty | comma-separated origins, the |
|   |   | Clerk issuer URL and its JWKS URL |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PackageKind = Literal["zip", "image"]
Architecture = Literal["arm64", "x86_64"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

SecretName = Literal[
    "clerk_secret_key",
    "clerk_webhook_secret",
    "stripe_secret_key",
    "stripe_webhook_secret",
    "r2_access_key_id",
    "r2_secret_access_key",
    "resend_api_key",
    "dvla_api_key",
    "app_signing_key",
]
"""The secrets the platform stores in SSM Parameter Store, one SecureString each per stage."""

LAMBDA_MAX_TIMEOUT_S = 900
LAMBDA_MIN_MEMORY_MB = 128
LAMBDA_MAX_MEMORY_MB = 10_240
API_GATEWAY_MAX_INTEGRATION_TIMEOUT_S = 30
"""HTTP API integrations time out at 30 s, so a routed function must finish before that."""


@dataclass(frozen=True, slots=True)
class HttpRoute:
    """One API Gateway route, e.g. ``HttpRoute("GET", "/api/v1/plates/{registration}")``.

    Explicit methods (never ``ANY``) so API Gateway itself answers CORS preflight requests.
    ``{proxy+}`` greedy paths are allowed.
    """

    method: HttpMethod
    path: str


def _no_environment() -> dict[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A deployable service: how it is packaged, sized, triggered and what it may reach."""

    name: str
    """The service's folder name; physical names become ``reggie-<stage>-<name>``."""
    package: PackageKind
    """``zip`` (code plus dependencies, built by the program) or ``image`` (a Dockerfile)."""
    handler: str
    """Zip: the handler's dotted path (``services.api.handler.handler``). Image: the image's CMD."""
    architecture: Architecture = "arm64"
    memory_mb: int = 512
    timeout_s: int = 30
    dockerfile: str | None = None
    """Image services: the Dockerfile path relative to the repository root (built with the root as context)."""
    routes: tuple[HttpRoute, ...] = ()
    schedule: str | None = None
    """An EventBridge schedule expression, e.g. ``rate(7 days)`` or ``cron(0 3 ? * MON *)``."""
    needs_vpc: bool = False
    needs_database: bool = False
    needs_bucket: bool = False
    invokes: tuple[str, ...] = ()
    """Names of other services this one may invoke (lambda:InvokeFunction on exactly those)."""
    secrets: tuple[SecretName, ...] = ()
    reserved_concurrency: int | None = None
    run_on_deploy: bool = False
    """Invoked once during every ``pulumi up`` that changes it (the migrator); the API waits for it."""
    environment: dict[str, str] = field(default_factory=_no_environment)
    """Extra, non-secret environment variables."""
    description: str = ""
