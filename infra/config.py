"""The stage: every deploy-time setting, read once from `pulumi.Config` into one frozen object.

A stack's name decides its kind (`production`, `staging`, `*-network` a network stack that declares
only the VPC personal stages share, anything else a personal stage) and the kind decides the defaults of
the stage matrix in DESIGN.md; config keys may override them within the
limits AWS and this platform accept. A bad value raises :class:`StageConfigError`, one line naming the
key, the value and what is allowed (a `pulumi.RunError`, so `pulumi up` prints it without a traceback).
Nothing else in the program reads config or the environment.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import pulumi

from components.http_api import ACCOUNT_BURST_LIMIT, ACCOUNT_RATE_LIMIT, Throttle
from components.static_site import lockdown_entry
from infra.cloudflare_plans import (
    DEFAULT_COSTLY_PER_MINUTE,
    DEFAULT_PER_MINUTE,
    PLAN_NAMES,
    PLANS,
    PlanName,
    RateLimits,
    default_period,
    scaled,
)
from infra.links import stored_secrets, stored_settings
from infra.registry import REPO_ROOT, discover
from infra.service_spec import RouteBudget, Setting
from infra.site_registry import discover as discover_sites
from infra.site_spec import RESERVED_LABELS, SiteSpec, site_host
from services.core import contract

PROJECT = "reggie"
StageKind = Literal["production", "staging", "personal", "network"]
"""``network``: a stack named ``*-network`` (``dev-network``) that declares only a VPC for personal stages to share."""
NatMode = Literal["instance", "gateway", "none"]
NatHealing = Literal["replace", "none"]
"""NAT instances: ``replace`` (an Auto Scaling group of one behind a fixed interface, fck-nat's HA mode) or ``none``."""
NetworkMode = Literal["own", "shared"]
"""How a stage gets its network: ``own`` declares a VPC; ``shared`` (personal stages only, their default) reads
another stack's ``vpcId``/``vpcCidr``/``privateSubnetIds``/``natPublicIps`` outputs through a StackReference."""
NAT_MODES: tuple[NatMode, ...] = ("instance", "gateway", "none")
NAT_HEALINGS: tuple[NatHealing, ...] = ("replace", "none")
NETWORK_MODES: tuple[NetworkMode, ...] = ("own", "shared")
DEFAULT_NETWORK_STACK = "dev-network"
"""The stack a personal stage shares the network of, unless ``reggie:networkStack`` names another."""
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
PLACEHOLDER_SECRET = contract.UNSET_SECRET
"""The value a personal stage stores for a secret it was not given (set the real one with
`pulumi config set --secret reggie:<key> ...` when the stage needs that integration); the services treat
it as not configured."""
_STACK = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_STACK_REF = re.compile(r"^([A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}/)?[A-Za-z0-9_.-]{1,100}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_DOMAIN = re.compile(r"^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(
    r"^(?=.{3,254}$)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


class StageConfigError(pulumi.RunError):
    """A config value the platform cannot use; the message is one line naming the key and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        qualified = key if ":" in key else f"{PROJECT}:{key}"
        super().__init__(f"config {qualified}={value}: not allowed; {allowed}")


class ConfigSource(Protocol):
    """What the stage reads: `pulumi.Config("reggie")` satisfies it."""

    def get(self, key: str) -> str | None: ...

    def get_secret(self, key: str) -> pulumi.Output[str] | None: ...


@dataclass(frozen=True, slots=True)
class Stage:
    """Everything that differs between stacks, decided once."""

    name: str
    """The stack name, also the ``<stage>`` of physical names."""
    kind: StageKind
    region: str
    availability_zones: tuple[str, ...]
    domain: str
    """The apex domain (its zone is in Cloudflare)."""
    api_domain: str | None
    """The API's custom domain, or ``None`` for the execute-api URL."""
    cloudflare_zone_id: str
    cloudflare_account_id: str
    allowed_origins: tuple[str, ...]
    clerk_issuer: str
    aurora_min_acu: float
    aurora_max_acu: float
    backup_retention_days: int
    deletion_protection: bool
    skip_final_snapshot: bool
    retain_on_delete: bool
    network_mode: NetworkMode
    network_stack: str | None
    """The StackReference name (``<stack>`` or ``<org>/<project>/<stack>``) when ``network_mode`` is ``shared``."""
    nat_mode: NatMode
    nat_count: int
    nat_instance_type: str
    nat_ami: str | None
    nat_healing: NatHealing
    flow_logs: bool
    snap_start: bool
    """Routed zip functions (the API) publish versions with Lambda SnapStart behind a ``live`` alias."""
    reserve_concurrency: bool
    """Services reserve concurrency sized against the database's connections (``infra/concurrency.py``)."""
    log_retention_days: int
    aurora_failover_reader: bool
    """A reader in the other AZ at promotion tier 1, promoted if the writer fails."""
    alarms: bool
    """CloudWatch alarms (to an SNS topic), the stage's dashboard and the health probe."""
    alarm_email: str | None
    """Who the alarms' topic emails (required in production)."""
    secrets: Mapping[str, pulumi.Input[str]]
    """The value of every secret a service links (``infra/links.py``), by its snake_case name."""
    settings: Mapping[str, str]
    """The value of every plain setting a service links (``Setting(...)``), by its snake_case name."""
    sites: Mapping[str, SiteSettings]
    """The static sites this stage serves, by site name (production and staging serve every site; a personal
    stage those it was given a build folder for)."""
    api_throttles: Mapping[RouteBudget, Throttle]
    """API Gateway's throttle of each route budget (``standard`` is the stage default; the others are route
    settings of their own): the stage matrix, or ``reggie:apiThrottle<Budget>``."""
    rate_limits: RateLimits
    """The per-client limits at Cloudflare, and which stack declares them for the whole zone."""

    @property
    def tags(self) -> dict[str, str]:
        return {"project": PROJECT, "stage": self.name, "managed-by": "pulumi"}


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """What the stage says about one site (``reggie:<site>BuildDir``, ``reggie:<site>AllowedNetworks``)."""

    spec: SiteSpec
    host: str
    """The site's host on this stage (the stage matrix, :func:`infra.site_spec.site_host`)."""
    build_dir: Path
    """The build output folder, checked to exist with an ``index.html`` at its top."""
    allowed_networks: tuple[str, ...]
    """When not empty, only these addresses and ranges reach the site (Cloudflare Zone Lockdown)."""


@dataclass(frozen=True, slots=True)
class _Defaults:
    min_acu: float
    max_acu: float
    backup_days: int
    protect: bool
    retain: bool
    nat_count: int
    log_days: int
    flow_logs: bool
    snap_start: bool
    # Day-2 operations: a failover reader, alarms to a person, NATs that replace themselves.
    reader: bool
    alarms: bool
    nat_healing: NatHealing
    reserve: bool


_MATRIX: dict[StageKind, _Defaults] = {
    "production": _Defaults(
        0.5, 4, 14, protect=True, retain=True, nat_count=2, log_days=90, flow_logs=True, snap_start=True,
        reader=True, alarms=True, nat_healing="replace", reserve=True,
    ),
    "staging": _Defaults(
        0.5, 2, 7, protect=True, retain=False, nat_count=2, log_days=30, flow_logs=False, snap_start=True,
        reader=False, alarms=True, nat_healing="replace", reserve=True,
    ),
    "personal": _Defaults(
        0, 2, 1, protect=False, retain=False, nat_count=1, log_days=7, flow_logs=False, snap_start=False,
        reader=False, alarms=False, nat_healing="none", reserve=False,
    ),
    # Every personal stage's egress goes through this one NAT: it heals itself.
    "network": _Defaults(
        0, 2, 1, protect=False, retain=False, nat_count=1, log_days=7, flow_logs=False, snap_start=False,
        reader=False, alarms=False, nat_healing="replace", reserve=False,
    ),
}  # fmt: skip


_THROTTLES: dict[StageKind, dict[RouteBudget, Throttle]] = {
    # Requests per second and burst. Every route of every API in the account and region shares AWS's own
    # 10,000/s (burst 5,000): production's and staging's routes together stay well under it at these numbers.
    "production": {"standard": Throttle(100, 200), "costly": Throttle(10, 20), "webhook": Throttle(25, 50)},
    "staging": {"standard": Throttle(50, 100), "costly": Throttle(5, 10), "webhook": Throttle(10, 20)},
    "personal": {"standard": Throttle(20, 40), "costly": Throttle(2, 5), "webhook": Throttle(5, 10)},
    "network": {"standard": Throttle(20, 40), "costly": Throttle(2, 5), "webhook": Throttle(5, 10)},
}
"""API Gateway throttles per route budget and stage kind (``infra/service_spec.RouteBudget``)."""
DEFAULT_CLOUDFLARE_PLAN: PlanName = "pro"
"""The zone's plan unless ``reggie:cloudflarePlan`` says otherwise: the sites' Zone Lockdown already needs Pro."""
DEFAULT_RATE_LIMIT_OWNER = "production"
"""The stack that declares the zone's rate-limiting rules unless ``reggie:rateLimitOwner`` names another."""


def stage_kind(stack: str) -> StageKind:
    """The kind a stack name implies."""
    if stack == "production":
        return "production"
    if stack == "staging":
        return "staging"
    if stack.endswith("-network"):
        return "network"
    return "personal"


T = TypeVar("T")


class _Reader:
    """Reads one typed key at a time, with the default of the stage matrix and a clear error."""

    def __init__(self, source: ConfigSource) -> None:
        self._source = source

    def raw(self, key: str) -> str | None:
        """The key's value as set, or ``None`` when it is unset or empty."""
        return self._source.get(key) or None

    def value(self, key: str, default: T, parse: Callable[[str], T], allowed: str) -> T:
        raw = self._source.get(key)
        if raw is None or raw == "":
            return default
        try:
            return parse(raw.strip())
        except ValueError:
            raise StageConfigError(key, raw, allowed) from None


def _acu(raw: str, *, minimum: float) -> float:
    value = float(raw)
    if not (minimum <= value <= 256 and (value * 2).is_integer()):
        raise ValueError(raw)
    return value


def _choice(options: tuple[T, ...]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        for option in options:
            if option == raw:
                return option
        raise ValueError(raw)

    return parse


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse


def _int_of(options: tuple[int, ...]) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if value not in options:
            raise ValueError(raw)
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ValueError(raw)


def _matching(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not pattern.match(raw):
            raise ValueError(raw)
        return raw

    return parse


def _email(raw: str) -> str:
    """One address; the domain is case-insensitive, so it is kept in lowercase."""
    local, at, domain = raw.rpartition("@")
    address = f"{local}{at}{domain.lower()}"
    if not _EMAIL.match(address):
        raise ValueError(raw)
    return address


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*" or not re.match(r"^(https://[a-z0-9.-]+|http://localhost(:\d+)?)$", origin):
            raise ValueError(raw)
    return origins


SETTING_KEYS = frozenset(
    {
        "domain", "personalApiDomain", "cloudflareZoneId", "cloudflareAccountId", "allowedOrigins", "clerkIssuer",
        "auroraMinAcu", "auroraMaxAcu", "backupRetentionDays", "logRetentionDays", "flowLogs",
        "snapStart", "reservedConcurrency",
        "network", "networkStack", "natMode", "natCount", "natInstanceType", "natAmi",
        "natHealing", "auroraReader", "alarms", "alarmEmail",
        "apiThrottleStandard", "apiThrottleCostly", "apiThrottleWebhook",
        "cloudflarePlan", "rateLimitOwner", "rateLimitPeriod", "rateLimitRequests", "rateLimitCostlyRequests",
    }
)  # fmt: skip
"""Every ``reggie:`` key the stage reads (besides the secrets); any other is a typo and is refused."""


def configured_keys() -> list[str]:
    """The ``reggie:`` keys set for the running stack (explicitly, or through the engine's environment)."""
    prefix = f"{PROJECT}:"
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.config.get_config_env())
    return sorted(k.removeprefix(prefix) for k in keys if k.startswith(prefix))


def secret_names() -> tuple[str, ...]:
    """The secrets the discovered services link: what a stage stores, and the config keys it reads for them."""
    return stored_secrets(discover())


def service_settings() -> tuple[Setting, ...]:
    """The plain settings the discovered services link: the other config keys a stage reads for them."""
    return stored_settings(discover())


def secret_key(name: str) -> str:
    """The config key of a secret or a linked setting, without the project: ``stripe_secret_key`` →
    ``stripeSecretKey``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def site_keys(site: str) -> tuple[str, str]:
    """The config keys of a site: its build folder and its allowed networks (``webBuildDir``,
    ``webAllowedNetworks``)."""
    return f"{site}BuildDir", f"{site}AllowedNetworks"


def check_known_keys(
    keys: Iterable[str], secrets: Iterable[str], settings: Iterable[str] = (), sites: Iterable[str] = ()
) -> None:
    """Refuse a key the stage does not read (``reggie:nat`` for ``reggie:natMode``) instead of ignoring it."""
    site_settings = {key for site in sites for key in site_keys(site)}
    known = sorted(SETTING_KEYS | site_settings | {secret_key(name) for name in (*secrets, *settings)})
    for key in keys:
        if key not in known:
            close = [k for k in known if k.lower().startswith(key.lower())] or difflib.get_close_matches(key, known)
            hint = f"did you mean {' or '.join(f'{PROJECT}:{k}' for k in close)}?" if close else ""
            hint = hint or f"the keys are {', '.join(known)}"
            raise StageConfigError(key, "...", f"this program reads no such key; {hint}")


def load_stage(
    source: ConfigSource | None = None,
    stack: str | None = None,
    aws_region: str | None = None,
    *,
    secrets: Iterable[str] | None = None,
    settings: Iterable[Setting] | None = None,
    sites: Iterable[SiteSpec] | None = None,
) -> Stage:
    """Build the :class:`Stage` of ``stack`` (default: the running stack) from ``source`` (default:
    ``pulumi.Config("reggie")``) and the AWS provider's region (default: ``aws:region``), holding the
    ``secrets`` named and the values of the ``settings`` (default: every one the discovered services link),
    and the settings of the ``sites`` given (default: every discovered site when reading the stack's own
    config; none for a given ``source``, so a stage built from a test's config serves no site unless the test
    passes the specs)."""
    names = tuple(secrets) if secrets is not None else secret_names()
    linked_settings = tuple(settings) if settings is not None else service_settings()
    site_specs = tuple(sites) if sites is not None else (tuple(discover_sites()) if source is None else ())
    if source is None:
        check_known_keys(
            configured_keys(), names, (s.name for s in linked_settings), [spec.name for spec in site_specs]
        )
        source = pulumi.Config(PROJECT)
    if aws_region is None:
        aws_region = pulumi.Config("aws").get("region") or "eu-west-2"
    stack = stack if stack is not None else pulumi.get_stack()
    if not _STACK.match(stack):
        raise StageConfigError(
            "stack", stack, "stack names are lowercase letters, digits and hyphens, starting with a letter, ≤ 31 chars"
        )
    kind = stage_kind(stack)
    d = _MATRIX[kind]
    r = _Reader(source)

    region = aws_region
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
        raise StageConfigError("aws:region", region, "an AWS region like eu-west-2")
    domain = r.value("domain", "reggie.co.uk", _matching(_DOMAIN), "a lowercase domain name like reggie.co.uk")
    personal_domain = r.value("personalApiDomain", False, _bool, "true or false")
    api_domain = {
        "production": f"api.{domain}",
        "staging": f"staging-api.{domain}",
        "personal": f"{stack}-api.{domain}" if personal_domain else None,
        "network": None,
    }[kind]
    served = _sites(r, kind, stack, domain, site_specs if kind != "network" else ())
    default_origins = {
        "production": (f"https://{domain}", f"https://admin.{domain}"),
        "staging": (f"https://staging.{domain}", f"https://staging-admin.{domain}"),
        # a personal stage's own sites call its API too
        "personal": ("http://localhost:3000", "http://localhost:5173", *(f"https://{s.host}" for s in served.values())),
        "network": ("http://localhost:3000", "http://localhost:5173"),
    }[kind]

    min_acu = r.value(
        "auroraMinAcu", d.min_acu, lambda v: _acu(v, minimum=0), "a multiple of 0.5 from 0 to 256 (0 = auto-pause)"
    )
    max_acu = r.value("auroraMaxAcu", d.max_acu, lambda v: _acu(v, minimum=1), "a multiple of 0.5 from 1 to 256")
    if max_acu < min_acu:
        raise StageConfigError("auroraMaxAcu", max_acu, f"at least auroraMinAcu ({min_acu})")
    if kind in ("production", "staging") and min_acu == 0:
        raise StageConfigError("auroraMinAcu", min_acu, "auto-pause (0) only in personal stages; use 0.5 or more")

    min_backup = {"production": 14, "staging": 7, "personal": 1, "network": 1}[kind]
    backup_days = r.value(
        "backupRetentionDays", d.backup_days, _int_in(min_backup, 35), f"a whole number of days from {min_backup} to 35"
    )
    nat_mode: NatMode = r.value("natMode", NAT_MODES[0], _choice(NAT_MODES), f"one of {', '.join(NAT_MODES)}")
    nat_count = r.value("natCount", d.nat_count, _int_in(1, 2), "1 (shared) or 2 (one per AZ)")
    network_mode, network_stack = _network(r, kind)
    log_days = r.value(
        "logRetentionDays", d.log_days, _int_of(LOG_RETENTION_DAYS), "a CloudWatch retention (1, 3, 5, 7, 14, 30, ...)"
    )
    nat_healing = _nat_healing(r, kind, d)
    reader = _reader(r, kind, d)
    alarms, alarm_email = _alarms(r, kind, d)
    secret_values = _secrets(source, kind, names if kind != "network" else ())
    setting_values = _settings(r, linked_settings, names)
    zone_id = _cloudflare_id(r, kind, "cloudflareZoneId", "zone id", "the zone's Overview page")

    return Stage(
        name=stack,
        kind=kind,
        region=region,
        availability_zones=(f"{region}a", f"{region}b"),
        domain=domain,
        api_domain=api_domain,
        cloudflare_zone_id=zone_id,
        cloudflare_account_id=_cloudflare_id(r, kind, "cloudflareAccountId", "account id", "the same page"),
        allowed_origins=r.value("allowedOrigins", default_origins, _origins, "comma-separated https origins, no *"),
        clerk_issuer=r.value(
            "clerkIssuer", f"https://clerk.{domain}", _matching(re.compile(r"^https://[a-z0-9.-]+$")), "an https URL"
        ),
        aurora_min_acu=min_acu,
        aurora_max_acu=max_acu,
        backup_retention_days=backup_days,
        deletion_protection=d.protect,
        skip_final_snapshot=not d.protect,
        retain_on_delete=d.retain,
        network_mode=network_mode,
        network_stack=network_stack,
        nat_mode=nat_mode,
        nat_count=nat_count,
        nat_instance_type=r.value(
            "natInstanceType", "t4g.nano", _matching(re.compile(r"^[a-z]+\d+[a-z-]*\.[a-z0-9]+$")), "an instance type"
        ),
        nat_ami=r.value("natAmi", None, _matching(re.compile(r"^ami-[0-9a-f]{8,17}$")), "an AMI id like ami-0123abcd"),
        nat_healing=nat_healing,
        flow_logs=r.value("flowLogs", d.flow_logs, _bool, "true or false"),
        snap_start=r.value("snapStart", d.snap_start, _bool, "true or false"),
        reserve_concurrency=r.value("reservedConcurrency", d.reserve, _bool, "true or false"),
        log_retention_days=log_days,
        aurora_failover_reader=reader,
        alarms=alarms,
        alarm_email=alarm_email,
        secrets=secret_values,
        settings=setting_values,
        sites=served,
        api_throttles=_api_throttles(r, kind),
        rate_limits=_rate_limits(r, stack, zone_id),
    )


_SHARED: tuple[StageKind, ...] = ("production", "staging")


def _throttle(raw: str) -> Throttle:
    rate, slash, burst = raw.partition("/")
    if not slash:
        raise ValueError(raw)
    return Throttle(float(rate), int(burst))  # out of range: the component's refusal, a ValueError too


def _api_throttles(r: _Reader, kind: StageKind) -> dict[RouteBudget, Throttle]:
    """``reggie:apiThrottle{Standard,Costly,Webhook}`` (``rate/burst``, e.g. ``100/200``) over the stage matrix;
    the costly routes' may not be looser than the rest's."""
    allowed = f"requests per second / burst, like 100/200 (at most {ACCOUNT_RATE_LIMIT}/{ACCOUNT_BURST_LIMIT})"
    throttles: dict[RouteBudget, Throttle] = {
        budget: r.value(f"apiThrottle{budget.title()}", default, _throttle, allowed)
        for budget, default in _THROTTLES[kind].items()
    }
    costly, standard = throttles["costly"], throttles["standard"]
    if costly.rate > standard.rate or costly.burst > standard.burst:
        shown = f"{costly.rate:g}/{costly.burst}"
        raise StageConfigError(
            "apiThrottleCostly", shown, f"no looser than the other routes' {standard.rate:g}/{standard.burst}"
        )
    return throttles


def _rate_limits(r: _Reader, stack: str, zone_id: str) -> RateLimits:
    """``reggie:cloudflarePlan``, ``reggie:rateLimitOwner`` and the per-client numbers, checked against what the
    zone's plan allows (``infra/cloudflare_plans.py``). The owner declares the zone's rules, so it needs the real
    zone id. These are facts of the zone, not of a stage: set them in Pulumi.yaml, so every stack agrees."""
    plan: PlanName = r.value(
        "cloudflarePlan", DEFAULT_CLOUDFLARE_PLAN, _choice(PLAN_NAMES), f"one of {', '.join(PLAN_NAMES)}"
    )
    limits = PLANS[plan]
    owner = r.value(
        "rateLimitOwner", DEFAULT_RATE_LIMIT_OWNER, _matching(_STACK), "a stack name like production, or none"
    )
    if owner != "none" and stage_kind(owner) == "network":
        raise StageConfigError("rateLimitOwner", owner, "a stack that deploys the API (a network stack declares a VPC)")
    if owner == stack and zone_id == PLACEHOLDER_CLOUDFLARE_ID:
        raise StageConfigError(
            "rateLimitOwner", owner, f"the owner declares the zone's rate limits: set {PROJECT}:cloudflareZoneId too"
        )
    periods = ", ".join(f"{p} s" for p in limits.periods_s)
    period = r.value(
        "rateLimitPeriod",
        default_period(plan),
        _int_of(limits.periods_s),
        f"the {limits.title} plan counts over {periods} (reggie:cloudflarePlan)",
    )
    requests = r.value(
        "rateLimitRequests", scaled(DEFAULT_PER_MINUTE, period), _int_in(1, 1_000_000), "a whole number from 1"
    )
    costly = r.value(
        "rateLimitCostlyRequests",
        scaled(DEFAULT_COSTLY_PER_MINUTE, period),
        _int_in(1, 1_000_000),
        "a whole number from 1",
    )
    if costly > requests:
        raise StageConfigError("rateLimitCostlyRequests", costly, f"no more than reggie:rateLimitRequests ({requests})")
    return RateLimits(
        owner=None if owner == "none" else owner, plan=plan, period_s=period, requests=requests, costly_requests=costly
    )


def _nat_healing(r: _Reader, kind: StageKind, d: _Defaults) -> NatHealing:
    """``reggie:natHealing``: production and staging always heal their NATs (nobody else would)."""
    healing: NatHealing = r.value(
        "natHealing", d.nat_healing, _choice(NAT_HEALINGS), f"one of {', '.join(NAT_HEALINGS)}"
    )
    if kind in _SHARED and healing != "replace":
        raise StageConfigError("natHealing", healing, f"{kind} NATs always heal themselves (replace)")
    return healing


def _reader(r: _Reader, kind: StageKind, d: _Defaults) -> bool:
    """``reggie:auroraReader``: production always keeps a failover reader."""
    reader = r.value("auroraReader", d.reader, _bool, "true or false")
    if kind == "production" and not reader:
        raise StageConfigError("auroraReader", "false", "production always keeps its failover reader")
    return reader


def _alarms(r: _Reader, kind: StageKind, d: _Defaults) -> tuple[bool, str | None]:
    """``reggie:alarms`` (on in production and staging, off elsewhere unless asked) and ``reggie:alarmEmail``,
    who they reach: required in production, refused where there are no alarms to send."""
    alarms = r.value("alarms", d.alarms, _bool, "true or false")
    if kind == "production" and not alarms:
        raise StageConfigError("alarms", "false", "production always has its alarms")
    email = r.value("alarmEmail", None, _email, "one email address, like ops@reggie.co.uk")
    if kind == "production" and email is None:
        raise StageConfigError(
            "alarmEmail",
            "<unset>",
            f"production's alarms must reach a person: `pulumi config set {PROJECT}:alarmEmail ...`",
        )
    if email is not None and not alarms:
        raise StageConfigError("alarmEmail", email, f"this stage has no alarms; set {PROJECT}:alarms true as well")
    return alarms, email


PLACEHOLDER_CLOUDFLARE_ID = "0" * 32
"""What a personal stage gets for an unset Cloudflare id (an offline plan needs none; R2 and DNS need the real one)."""


def _cloudflare_id(r: _Reader, kind: StageKind, key: str, what: str, where: str) -> str:
    """A 32-hex Cloudflare id. Production and staging refuse a missing or placeholder one up front, before
    anything is created: Cloudflare would refuse it only after the AWS resources exist."""
    value = r.value(key, PLACEHOLDER_CLOUDFLARE_ID, _matching(_HEX32), f"a 32-character hex {what}")
    if kind in ("production", "staging") and value == PLACEHOLDER_CLOUDFLARE_ID:
        shown = "<unset>" if not r.raw(key) else value
        raise StageConfigError(
            key,
            shown,
            f"{kind} needs the real Cloudflare {what} (Cloudflare dashboard, {where}): set it in Pulumi.yaml "
            f"for the account or `pulumi config set {PROJECT}:{key} <id> --stack {kind}`",
        )
    return value


def _secrets(source: ConfigSource, kind: StageKind, names: Iterable[str]) -> dict[str, pulumi.Input[str]]:
    """Each secret's value from the encrypted config; production and staging refuse a missing one, a
    personal stage stores a placeholder instead."""
    values: dict[str, pulumi.Input[str]] = {}
    for name in names:
        key = secret_key(name)
        if key in SETTING_KEYS:
            raise StageConfigError(key, "<secret>", f"a service links Secret({name!r}), whose key is a stage setting")
        value = source.get_secret(key)
        if value is None:
            if kind != "personal":
                raise StageConfigError(key, "<unset>", f"set it with `pulumi config set --secret {PROJECT}:{key} ...`")
            value = pulumi.Output.secret(PLACEHOLDER_SECRET)
        values[name] = value
    return values


def _settings(r: _Reader, settings: Iterable[Setting], secrets: Iterable[str]) -> dict[str, str]:
    """Each linked setting's configured value (or its default), refused unless its pattern matches it whole."""
    taken = SETTING_KEYS | {secret_key(name) for name in secrets}
    values: dict[str, str] = {}
    for setting in settings:
        key = secret_key(setting.name)
        if key in taken:
            raise StageConfigError(key, "...", f"a service links Setting({setting.name!r}), whose key is already taken")

        def parse(raw: str, setting: Setting = setting) -> str:
            if not re.fullmatch(setting.pattern, raw):
                raise ValueError(raw)
            return raw

        values[setting.name] = r.value(key, setting.default, parse, setting.allowed)
    return values


def _sites(r: _Reader, kind: StageKind, stack: str, domain: str, specs: Iterable[SiteSpec]) -> dict[str, SiteSettings]:
    """Each site's settings: production and staging serve every site and refuse a missing build folder; a
    personal stage serves the sites it was given a build folder for."""
    sites: dict[str, SiteSettings] = {}
    labels = {spec.label for spec in specs}
    for spec in specs:
        build_key, networks_key = site_keys(spec.name)
        raw = r.value(build_key, "", str, "a folder")
        if not raw:
            if kind in ("production", "staging"):
                needed = f"{kind} serves the {spec.name} site: set it to the folder of its build output"
                raise StageConfigError(build_key, "<unset>", f"{needed} (index.html at its top)")
            continue
        if kind == "personal" and (stack in RESERVED_LABELS or stack in labels):
            clash = f"a personal stack named {stack!r} would serve another stage's hosts; use a name like dev-<you>"
            raise StageConfigError(build_key, raw, clash)
        sites[spec.name] = SiteSettings(
            spec=spec,
            host=site_host(spec.label, kind, stack, domain),
            build_dir=_build_dir(build_key, raw),
            allowed_networks=r.value(networks_key, (), _networks, NETWORKS_ALLOWED),
        )
    return sites


def _build_dir(key: str, raw: str) -> Path:
    """The build folder ``raw`` names (relative to the project), if it holds a build: a missing one stops a
    preview as well as an update, since deploying without it would delete every file of the live site."""
    path = Path(raw).expanduser()
    folder = path if path.is_absolute() else REPO_ROOT / path
    if not (folder / "index.html").is_file():
        fix = "build the app, or fetch its build output there, before `pulumi preview` or `pulumi up`"
        raise StageConfigError(key, raw, f"{folder} must hold the site's build output (index.html at its top); {fix}")
    return folder


NETWORKS_ALLOWED = (
    "comma-separated IP addresses or ranges (IPv4 /16 or /24, IPv6 /32, /48 or /64), e.g. 203.0.113.0/24,198.51.100.7"
)


def _networks(raw: str) -> tuple[str, ...]:
    networks = tuple(n.strip() for n in raw.split(",") if n.strip())
    for network in networks:
        lockdown_entry(network)  # ValueError when Cloudflare would refuse it
    return networks


def _network(r: _Reader, kind: StageKind) -> tuple[NetworkMode, str | None]:
    """``reggie:network`` (``own`` | ``shared``; personal stages default to ``shared``, every other kind to
    ``own``) and, when shared, ``reggie:networkStack`` (default :data:`DEFAULT_NETWORK_STACK`)."""
    default: NetworkMode = "shared" if kind == "personal" else "own"
    mode: NetworkMode = r.value("network", default, _choice(NETWORK_MODES), f"one of {', '.join(NETWORK_MODES)}")
    if mode == "shared" and kind != "personal":
        raise StageConfigError("network", mode, "shared only in personal stages; other stacks use own")
    if mode == "own":
        return mode, None
    stack = r.value(
        "networkStack",
        DEFAULT_NETWORK_STACK,
        _matching(_STACK_REF),
        "a stack name like dev-network or <org>/reggie/dev-network (a stack exporting vpcId, privateSubnetIds, ...)",
    )
    return mode, stack
