"""What a pluggable service declares about itself: the contract between `services/<name>/deploy.py`
and the wiring in `infra/`.

A service is a folder `services/<name>/` whose `deploy.py` defines one module-level `SPEC`
(a :class:`ServiceSpec`). `infra/` discovers every spec and wires it: an IAM role holding only the
grants its links need, a log group, VPC placement, HTTP routes on the API, a schedule, and for each
link the environment variables, IAM statements and network ingress that `infra/links.py` gives that
kind of link. The variables' names are the environment contract in `services/core/contract.py`.
Adding a service, even one with a secret nobody had before, adds a folder and touches nothing in
`infra/` or `components/`: the stage stores (and, outside personal stages, requires) every secret some
spec links.

Links (``links=("database", "documents", "valuation", Secret("stripe_webhook_secret"))``):

| link | what the function gets |
|---|---|
| ``"database"`` | the Aurora writer's address and secret (read grant), PostgreSQL ingress from the function |
| ``"documents"`` | the R2 bucket's name and endpoint, and the R2 access key pair as linked secrets |
| ``"clerk"`` | the allowed origins, the Clerk issuer and its JWKS URL (to verify session tokens) |
| another service's name | its function name and ``lambda:InvokeFunction`` on exactly that function |
| ``Secret("<name>")`` | its SSM parameter's name (never the value) and read on exactly that parameter |
| ``Setting("<name>")`` | the value of the plain stage setting ``reggie:<camelCaseName>`` as ``<NAME>`` |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

PackageKind = Literal["zip", "image"]
Architecture = Literal["arm64", "x86_64"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
RouteBudget = Literal["standard", "costly", "webhook"]
"""Which limits a route draws on (the stage's numbers: ``infra/config.py``, ``infra/rate_limits.py``):

* ``standard``: the API's default throttle, and the per-client Cloudflare limit every API route has;
* ``costly``: each request costs much (a model invocation, a database write per mark, a check of every
  dependency): a tighter API Gateway throttle of its own and a stricter per-client Cloudflare limit;
* ``webhook``: called by a service (Stripe, Clerk): an API Gateway budget of its own, so a flood of the other
  routes cannot starve it; at Cloudflare it has the per-client limit every API route has (Stripe and Clerk send
  from a few addresses each, far under it, and retry what is refused), so one address cannot drain it either."""
ROUTE_BUDGETS: tuple[RouteBudget, ...] = ("standard", "costly", "webhook")

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
    budget: RouteBudget = "standard"
    """The limits it draws on (:data:`RouteBudget`): ``costly`` for expensive requests, ``webhook`` for a
    service's callbacks."""


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A ``GET`` route of the service that checks its dependencies. Where a stage has alarms, the platform asks
    it every five minutes (a scheduled synthetic request) and alarms when a check fails, so a dependency that
    only some requests reach (document storage, another service) pages someone before its users notice. The
    route must write one ``HealthCheckFailed`` metric line per check (``services/core/metrics.py``)."""

    path: str
    """One of the spec's ``GET`` routes, e.g. ``/api/v1/health/deep``."""
    checks: tuple[str, ...]
    """The dependencies it reports, by the names its metric lines use (``database``, ``storage``...)."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A link to one secret the stage stores as an SSM SecureString (``/reggie/<stage>/<name>``), set per
    stack with ``pulumi config set --secret reggie:<camelCaseName>``."""

    name: str
    """snake_case, e.g. ``stripe_webhook_secret`` (config key ``reggie:stripeWebhookSecret``)."""
    granted: bool = True
    """``False``: the stage stores (and requires) the secret for this service, but the function neither
    gets its parameter's name nor may read it, until its code does. Keeps a secret operators already set
    while nothing reads it yet."""


@dataclass(frozen=True, slots=True)
class Setting:
    """A link to one plain (not secret) stage setting the service reads, e.g. the auction events to fetch:
    set per stack with ``pulumi config set reggie:<camelCaseName> <value>``, given to the function as the
    variable ``<NAME>`` (:func:`services.core.contract.setting_variable`). The stage refuses a configured
    value that ``pattern`` does not match before anything is declared; the service still parses it."""

    name: str
    """snake_case, e.g. ``auction_event_ids``: config key ``reggie:auctionEventIds``, variable ``AUCTION_EVENT_IDS``."""
    default: str = ""
    """The value when the stack does not set the key (the service's own default applies to ``""``)."""
    pattern: str = r"[^\x00]*"
    """A regular expression the whole configured value must match."""
    allowed: str = "any text"
    """What ``pattern`` accepts, in words, for the error that refuses a value."""


Link: TypeAlias = str | Secret | Setting
"""What a service uses: ``"database"``, ``"documents"``, ``"clerk"``, another service's name, a
:class:`Secret` or a :class:`Setting`. ``infra/links.py`` says what each gives the function."""


def _no_environment() -> dict[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class Concurrency:
    """How a service uses the account's Lambda concurrency and the database's connections.

    Where the stage reserves concurrency (production and staging, see the stage matrix), a service with a
    ``share`` reserves the executions whose connections fill that fraction of the database's connection
    budget (``infra/concurrency.py``: Aurora's max_connections at the stage's maximum ACU, less what is held
    back); one with ``fixed`` reserves exactly that. Reserving caps the service too, so a burst can exhaust
    neither the database nor the account's concurrency for the others. A service with neither draws on the
    account's unreserved pool; its ``connections`` are still held back from the budget."""

    share: float = 0.0
    """Fraction (0 to 1) of the database connection budget this service's environments may hold."""
    fixed: int | None = None
    """A fixed reservation instead of a share (a scheduled job that needs one environment)."""
    connections: int = 0
    """Database connections one execution environment holds at most (0 for a service without the database)."""


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A deployable service: how it is packaged, sized, triggered and what it links."""

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
    """Image services: the Dockerfile path relative to the repository root (built with the root as context).
    Beside it, ``<Dockerfile>.dockerignore`` lists what the build may take (an allow-list); the image's tag
    is the hash of exactly that (``infra/image_context.py``)."""
    routes: tuple[HttpRoute, ...] = ()
    schedule: str | None = None
    """An EventBridge schedule expression, e.g. ``rate(7 days)`` or ``cron(0 3 ? * MON *)``."""
    vpc: bool = False
    """Placed in the private subnets (what a ``database`` link needs); the Internet is reached through the NAT."""
    links: tuple[Link, ...] = ()
    """What the function uses; each link brings its environment, its grants and its ingress (``infra/links.py``)."""
    concurrency: Concurrency = Concurrency()
    """Its reservation where the stage reserves, and its database connections per environment."""
    run_on_deploy: bool = False
    """Invoked once during every ``pulumi up`` that changes it (the migrator); routed functions wait for it."""
    run_inputs: tuple[str, ...] = ()
    """Run-on-deploy services: what the run works from besides its code (paths relative to the repository
    root, e.g. the migrations); a change there runs it again."""
    environment: dict[str, str] = field(default_factory=_no_environment)
    """Extra, non-secret environment variables."""
    description: str = ""
    health_check: HealthCheck | None = None
    """A route that checks the service's dependencies, probed and alarmed on where the stage has alarms."""
