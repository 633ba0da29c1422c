"""A monthly cost estimate of a stage in eu-west-2, from the resources its plan declares.

:func:`estimate` turns a list of :class:`~infra.planned.PlannedResource` (what the offline plan captures
under mocks) and a :class:`LoadProfile` into one :class:`CostLine` per billable item, each priced from
:data:`PRICES`: eu-west-2 on-demand list prices, each naming the public page it comes from and the month
the figure was taken from it (re-check against the page, Europe (London) selected, when updating).
:func:`report` prints the idle and the loaded estimate one after the other.

Deliberate simplifications, so the figures are an honest upper-ish bound rather than a bill:
- no free tier (Lambda's, API Gateway's first year, R2's monthly allowance, CloudWatch's 5 GB): those are
  per account, and a personal stage shares its account with the others;
- a month is 730 hours; taxes, support plans and data transfer out of AWS are not included;
- CloudWatch Logs storage is the uncompressed steady state (ingest x retention), which AWS bills
  compressed, so the real figure is lower;
- KMS request charges (cents at this scale) and backup storage within the free allowance (one cluster
  size) are left out;
- SnapStart is priced as one cached version of each SnapStart function all month; a replaced version
  keeps its cache until Lambda retires it (after 14 days without invocations), and restores (per GB,
  once per new execution environment) are not modelled;
- alarms are priced per metric they read (a metric math alarm reads several), each custom metric an alarm
  watches once (the platform publishes exactly those, ``services/core/metrics.py``), a dashboard at its
  monthly price (an account's first three are free, not counted here); SNS email notifications (USD 2 per
  100,000) and the health probe's invocations (about 8,640 a month) are cents and left out;
- a NAT Auto Scaling group is priced as its desired capacity of its launch template's instance, all month;
- anything the table cannot price is listed in :attr:`Estimate.unpriced`, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.planned import PlannedResource

HOURS_PER_MONTH = 730
REGION = "eu-west-2"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


class CostError(ValueError):
    """A declared resource the model cannot price as configured (the message names it and why)."""


@dataclass(frozen=True, slots=True)
class Price:
    usd: float
    unit: str
    source: str
    """The public pricing page the figure comes from (eu-west-2 / Europe (London) selected)."""
    as_of: str
    """When the figure was read from that page (YYYY-MM)."""


_EC2 = "https://aws.amazon.com/ec2/pricing/on-demand/"
_EBS = "https://aws.amazon.com/ebs/pricing/"
_VPC = "https://aws.amazon.com/vpc/pricing/"
_AURORA = "https://aws.amazon.com/rds/aurora/pricing/"
_KMS = "https://aws.amazon.com/kms/pricing/"
_SECRETS = "https://aws.amazon.com/secrets-manager/pricing/"
_LAMBDA = "https://aws.amazon.com/lambda/pricing/"
_APIGW = "https://aws.amazon.com/api-gateway/pricing/"
_LOGS = "https://aws.amazon.com/cloudwatch/pricing/"
_SSM = "https://aws.amazon.com/systems-manager/pricing/"
_ECR = "https://aws.amazon.com/ecr/pricing/"
_XRAY = "https://aws.amazon.com/xray/pricing/"
_R2 = "https://developers.cloudflare.com/r2/pricing/"
_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
_CLOUDFRONT = "https://aws.amazon.com/cloudfront/pricing/"
_S3 = "https://aws.amazon.com/s3/pricing/"
_AS_OF = "2025-01"

PRICES: Mapping[str, Price] = {
    "ec2.t4g.nano": Price(0.0047, "instance-hour", _EC2, _AS_OF),
    "ec2.t4g.micro": Price(0.0094, "instance-hour", _EC2, _AS_OF),
    "ec2.t4g.small": Price(0.0188, "instance-hour", _EC2, _AS_OF),
    "ebs.gp3": Price(0.0928, "GB-month", _EBS, _AS_OF),
    "ebs.gp2": Price(0.116, "GB-month", _EBS, _AS_OF),
    "vpc.public_ipv4": Price(0.005, "IP-hour", _VPC, _AS_OF),
    "vpc.nat_gateway": Price(0.05, "gateway-hour", _VPC, _AS_OF),
    "vpc.nat_gateway_data": Price(0.05, "GB processed", _VPC, _AS_OF),
    "vpc.interface_endpoint": Price(0.011, "endpoint-AZ-hour", _VPC, _AS_OF),
    "aurora.acu": Price(0.14, "ACU-hour", _AURORA, _AS_OF),
    "aurora.storage": Price(0.11, "GB-month", _AURORA, _AS_OF),
    "aurora.io": Price(0.22, "million I/O requests", _AURORA, _AS_OF),
    "kms.key": Price(1.00, "key-month", _KMS, _AS_OF),
    "secretsmanager.secret": Price(0.40, "secret-month", _SECRETS, _AS_OF),
    "lambda.requests": Price(0.20, "million requests", _LAMBDA, _AS_OF),
    "lambda.arm64": Price(0.0000133334, "GB-second", _LAMBDA, _AS_OF),
    "lambda.x86_64": Price(0.0000166667, "GB-second", _LAMBDA, _AS_OF),
    # The SnapStart cache price is the US East (N. Virginia) list figure; London's was not on hand.
    "lambda.snapstart_cache": Price(0.0000015046, "GB-second cached", _LAMBDA, _AS_OF),
    "apigw.http": Price(1.04, "million requests", _APIGW, _AS_OF),
    "logs.ingest": Price(0.5985, "GB ingested", _LOGS, _AS_OF),
    "logs.vended": Price(0.5985, "GB ingested (vended)", _LOGS, _AS_OF),
    "logs.storage": Price(0.0315, "GB-month", _LOGS, _AS_OF),
    "cloudwatch.alarm": Price(0.10, "alarm metric-month", _CLOUDWATCH, _AS_OF),
    "cloudwatch.custom_metric": Price(0.30, "metric-month", _CLOUDWATCH, _AS_OF),
    "cloudwatch.dashboard": Price(3.00, "dashboard-month", _CLOUDWATCH, _AS_OF),
    "ssm.advanced": Price(0.05, "parameter-month", _SSM, _AS_OF),
    "ecr.storage": Price(0.10, "GB-month", _ECR, _AS_OF),
    "xray.traces": Price(5.00, "million traces", _XRAY, _AS_OF),
    "r2.storage": Price(0.015, "GB-month", _R2, _AS_OF),
    "r2.class_a": Price(4.50, "million Class A operations", _R2, _AS_OF),
    "r2.class_b": Price(0.36, "million Class B operations", _R2, _AS_OF),
    # CloudFront's Europe prices (where Reggie's visitors are served from with PriceClass_100).
    "cloudfront.https_requests": Price(1.20, "million HTTPS requests", _CLOUDFRONT, _AS_OF),
    "cloudfront.transfer_out": Price(0.085, "GB to the internet", _CLOUDFRONT, _AS_OF),
    "cloudfront.functions": Price(0.10, "million function invocations", _CLOUDFRONT, _AS_OF),
    "s3.storage": Price(0.024, "GB-month", _S3, _AS_OF),
    "s3.get": Price(0.42, "million GET requests", _S3, _AS_OF),
    # Standard logging v2 is configured in us-east-1, so its delivery is billed at that region's vended-logs price.
    "logs.vended_s3": Price(0.25, "GB delivered to S3 (vended)", _LOGS, _AS_OF),
}


@dataclass(frozen=True, slots=True)
class FunctionLoad:
    invocations: float
    """Invocations per month."""
    mean_ms: float
    """Mean billed duration of one invocation."""


def _no_functions() -> dict[str, FunctionLoad]:
    return {}


@dataclass(frozen=True, slots=True)
class LoadProfile:
    """What a month of use looks like. Every figure is per month and per stage."""

    name: str
    http_requests: float = 0
    functions: Mapping[str, FunctionLoad] = field(default_factory=_no_functions)
    """Per service (the function's name ends with ``-<service>``); others get ``default_function``."""
    default_function: FunctionLoad = FunctionLoad(0, 0)
    db_average_acu: float = 0
    """Mean Aurora capacity over the month; never below the cluster's minimum nor above its maximum."""
    db_storage_gb: float = 1
    db_io_millions: float = 0
    log_bytes_per_request: float = 0
    """API access log plus the function's own log lines, per HTTP request."""
    log_bytes_per_invocation: float = 0
    """Log lines of a non-HTTP invocation (platform START/END/REPORT lines and the app's)."""
    flow_log_gb: float = 0
    nat_gateway_gb: float = 0
    ecr_gb_per_repository: float = 1
    """Images kept (the lifecycle policy keeps the last 10; layers are shared between them)."""
    r2_storage_gb: float = 0
    r2_class_a: float = 0
    r2_class_b: float = 0
    site_requests: float = 0
    """Requests reaching CloudFront, all static sites together (what Cloudflare's cache does not answer)."""
    site_transfer_gb: float = 0
    """Bytes CloudFront sends out for them (to Cloudflare's edge, billed as transfer to the internet)."""
    site_miss_ratio: float = 0.05
    """Share of those requests CloudFront fetches from S3 (a cache miss)."""
    site_storage_gb: float = 0.1
    """Per content bucket: one build and the replaced versions kept for 30 days."""
    site_log_bytes_per_request: float = 0
    """One access-log record (JSON, standard logging v2)."""


IDLE = LoadProfile(name="idle")
"""No traffic at all: only what is billed by the hour or by the stored gigabyte."""

LAUNCH = LoadProfile(
    name="launch load",
    http_requests=1_000_000,
    functions={
        "api": FunctionLoad(1_000_000, 120),
        "valuation": FunctionLoad(100_000, 400),
        "migrator": FunctionLoad(30, 20_000),
        "scraper": FunctionLoad(5, 60_000),
        "invalidate": FunctionLoad(30, 500),  # one CloudFront invalidation per deploy
    },
    default_function=FunctionLoad(1_000, 1_000),
    db_average_acu=1.0,
    db_storage_gb=10,
    db_io_millions=20,
    log_bytes_per_request=2_000,
    log_bytes_per_invocation=1_000,
    flow_log_gb=2,
    nat_gateway_gb=5,
    r2_storage_gb=5,
    r2_class_a=20_000,
    r2_class_b=200_000,
    site_requests=3_000_000,
    site_transfer_gb=30,
    site_log_bytes_per_request=800,
)
"""A stated load: one million API requests a month (about 0.4 per second on average), each invoking the API
function for 120 ms; 100k valuations of 400 ms; the database at 1 ACU on average; 5 GB of documents; three
million requests to the web and admin sites reaching CloudFront (30 GB), 5% of them fetched from S3."""


@dataclass(frozen=True, slots=True)
class CostLine:
    resource: str
    """The resource's logical name (or a summary for lines that cover several)."""
    item: str
    quantity: float
    price_key: str
    monthly_usd: float


@dataclass(frozen=True, slots=True)
class Estimate:
    profile: str
    lines: tuple[CostLine, ...]
    unpriced: tuple[str, ...]
    """Types declared in the plan that the model has no price for (shown, never dropped)."""

    @property
    def total_usd(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)


FREE_TYPES = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:iam/role:Role",
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:kms/alias:Alias",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/clusterParameterGroup:ClusterParameterGroup",
        "aws:lambda/permission:Permission",
        "aws:lambda/alias:Alias",
        "aws:lambda/invocation:Invocation",
        "aws:apigatewayv2/route:Route",
        "aws:apigatewayv2/integration:Integration",
        "aws:apigatewayv2/domainName:DomainName",
        "aws:apigatewayv2/apiMapping:ApiMapping",
        "aws:acm/certificate:Certificate",
        "aws:acm/certificateValidation:CertificateValidation",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:ec2/networkInterface:NetworkInterface",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:sns/topic:Topic",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:scheduler/schedule:Schedule",
        "docker:index/image:Image",
        "docker-build:index:Image",
        "cloudflare:index/dnsRecord:DnsRecord",
        "cloudflare:index/record:Record",
        "cloudflare:index/r2BucketCors:R2BucketCors",
        "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle",  # R2 charges no operation for deletes
        "cloudflare:index/zoneLockdown:ZoneLockdown",  # part of the Cloudflare plan
        "cloudflare:index/ruleset:Ruleset",  # rate-limiting rules: part of the Cloudflare plan
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "aws:cloudfront/cachePolicy:CachePolicy",
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketObjectv2:BucketObjectv2",  # a few PUTs per deploy: fractions of a cent
        "aws:cloudwatch/logDeliverySource:LogDeliverySource",  # delivery is priced on the distribution
        "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
        "aws:cloudwatch/logDelivery:LogDelivery",
        "random:index/randomPassword:RandomPassword",
    }
)
"""Declared but never billed (or billed only through another resource priced here)."""


# ------------------------------------------------------------------------------------------- helpers


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _get(inputs: Mapping[str, Any] | None, *path: str, default: Any = None) -> Any:
    """``inputs[a][b]...`` by camelCase key (the engine's form), falling back to snake_case."""
    value: Any = inputs
    for key in path:
        if not isinstance(value, Mapping):
            return default
        mapping: Mapping[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        value = mapping.get(_camel(key), mapping.get(key))
        if value is None:
            return default
    return value


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)  # pyright: ignore[reportUnknownArgumentType]
    return []


def _line(resource: str, item: str, quantity: float, price_key: str) -> CostLine:
    return CostLine(resource, item, quantity, price_key, quantity * PRICES[price_key].usd)


def _service_of(resource: PlannedResource, services: Iterable[str]) -> str | None:
    names = [str(n) for n in (_get(resource.inputs, "name"), resource.name) if n]
    for service in services:
        if any(n == service or n.endswith(f"-{service}") or n.startswith(f"{service}-") for n in names):
            return service
    return None


# ------------------------------------------------------------------------------------------- pricers

_Pricer = Callable[[PlannedResource, Sequence[PlannedResource], LoadProfile], list[CostLine]]


def _instance_lines(name: str, instance_type: str, size: float, volume: str, count: float = 1) -> list[CostLine]:
    """``count`` on-demand instances all month, each with its root volume."""
    key = f"ec2.{instance_type}"
    if key not in PRICES:
        raise CostError(f"{name}: no eu-west-2 price for instance type {instance_type!r}; add it to PRICES")
    if f"ebs.{volume}" not in PRICES:
        raise CostError(f"{name}: no price for EBS volume type {volume!r}")
    each = "" if count == 1 else f" x {count:g}"
    return [
        _line(name, f"{instance_type} on-demand{each}", count * HOURS_PER_MONTH, key),
        _line(name, f"{size:g} GB {volume} root volume{each}", count * size, f"ebs.{volume}"),
    ]


def _ec2_instance(r: PlannedResource, _all: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    return _instance_lines(
        r.name,
        str(_get(r.inputs, "instance_type", default="")),
        float(_get(r.inputs, "root_block_device", "volume_size", default=8)),
        str(_get(r.inputs, "root_block_device", "volume_type", default="gp3")),
    )


def _auto_scaling_group(r: PlannedResource, everything: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    """The group's desired capacity of its launch template's instance (the template of the same name beside it,
    as the Network component declares them)."""
    templates = [x for x in everything if x.type == "aws:ec2/launchTemplate:LaunchTemplate" and x.parent == r.parent]
    named = [t for t in templates if t.name == r.name]
    template = (named or templates)[0] if len(named) == 1 or len(templates) == 1 else None
    if template is None:
        raise CostError(f"{r.name}: cannot tell which launch template this Auto Scaling group launches")
    count = float(_get(r.inputs, "desired_capacity", default=_get(r.inputs, "min_size", default=1)))
    device = (_as_list(_get(template.inputs, "block_device_mappings")) or [{}])[0]
    return _instance_lines(
        r.name,
        str(_get(template.inputs, "instance_type", default="")),
        float(_get(device, "ebs", "volume_size", default=8)),
        str(_get(device, "ebs", "volume_type", default="gp3")),
        count,
    )


def _eip(r: PlannedResource, _all: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    return [_line(r.name, "public IPv4 address", HOURS_PER_MONTH, "vpc.public_ipv4")]


def _nat_gateway(r: PlannedResource, everything: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    gateways = sum(1 for x in everything if x.type == r.type)
    lines = [_line(r.name, "NAT gateway", HOURS_PER_MONTH, "vpc.nat_gateway")]
    if p.nat_gateway_gb:
        lines.append(_line(r.name, "data processed", p.nat_gateway_gb / gateways, "vpc.nat_gateway_data"))
    return lines


def _vpc_endpoint(r: PlannedResource, _all: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    if str(_get(r.inputs, "vpc_endpoint_type", default="Gateway")) != "Interface":
        return []  # gateway endpoints (S3, DynamoDB) are free
    zones = max(1, len(_as_list(_get(r.inputs, "subnet_ids"))))
    return [_line(r.name, f"interface endpoint in {zones} AZ", zones * HOURS_PER_MONTH, "vpc.interface_endpoint")]


def _cluster_of(r: PlannedResource, everything: Sequence[PlannedResource]) -> PlannedResource:
    clusters = [x for x in everything if x.type == "aws:rds/cluster:Cluster"]
    siblings = [c for c in clusters if c.parent is not None and c.parent == r.parent]
    if len(siblings) == 1:
        return siblings[0]
    if len(clusters) == 1:
        return clusters[0]
    raise CostError(f"{r.name}: cannot tell which of {len(clusters)} Aurora clusters this instance belongs to")


def _cluster_instance(r: PlannedResource, everything: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    instance_class = _get(r.inputs, "instance_class")
    if instance_class != "db.serverless":
        raise CostError(f"{r.name}: only Aurora Serverless v2 (db.serverless) is priced, not {instance_class!r}")
    scaling = _get(_cluster_of(r, everything).inputs, "serverlessv2_scaling_configuration")
    low = float(_get(scaling, "min_capacity", default=0.5))
    high = float(_get(scaling, "max_capacity", default=max(low, 1.0)))
    acu = min(max(low, p.db_average_acu), high)
    paused = " (auto-pause: 0 while idle)" if low == 0 else ""
    tier = _get(r.inputs, "promotion_tier")
    # A Serverless v2 reader in promotion tier 0 or 1 follows the writer's capacity (ready to take over).
    if isinstance(tier, int | float):
        return [
            _line(r.name, f"{acu:g} ACU mean, failover reader (tier {tier:g})", acu * HOURS_PER_MONTH, "aurora.acu")
        ]
    return [_line(r.name, f"{acu:g} ACU mean capacity{paused}", acu * HOURS_PER_MONTH, "aurora.acu")]


def _cluster(r: PlannedResource, _all: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    storage_type = _get(r.inputs, "storage_type", default="aurora")
    if storage_type not in ("aurora", ""):
        raise CostError(f"{r.name}: storage type {storage_type!r} is not priced (Aurora Standard only)")
    lines = [_line(r.name, "storage", p.db_storage_gb, "aurora.storage")]
    if p.db_io_millions:
        lines.append(_line(r.name, "I/O requests", p.db_io_millions, "aurora.io"))
    if _get(r.inputs, "manage_master_user_password") is True:
        lines.append(_line(r.name, "RDS-managed master password secret", 1, "secretsmanager.secret"))
    return lines


def _kms_key(r: PlannedResource, _all: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    return [_line(r.name, "customer managed key", 1, "kms.key")]


def _secret(r: PlannedResource, _all: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    return [_line(r.name, "secret", 1, "secretsmanager.secret")]


def _function(r: PlannedResource, _all: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    memory_gb = float(_get(r.inputs, "memory_size", default=128)) / 1024
    lines: list[CostLine] = []
    if _get(r.inputs, "snap_start", "apply_on") == "PublishedVersions":
        cached_s = memory_gb * HOURS_PER_MONTH * 3600
        lines.append(_line(r.name, "SnapStart snapshot cache, 1 version", cached_s, "lambda.snapstart_cache"))
    service = _service_of(r, p.functions)
    load = p.functions[service] if service is not None else p.default_function
    if not load.invocations:
        return lines
    architecture = str((_as_list(_get(r.inputs, "architectures")) or ["x86_64"])[0])
    if f"lambda.{architecture}" not in PRICES:
        raise CostError(f"{r.name}: unknown Lambda architecture {architecture!r}")
    seconds = load.invocations * load.mean_ms / 1000
    lines += [
        _line(r.name, "requests", load.invocations / 1e6, "lambda.requests"),
        _line(r.name, f"{memory_gb * 1024:g} MB x {seconds:,.0f} s", seconds * memory_gb, f"lambda.{architecture}"),
    ]
    if _get(r.inputs, "tracing_config", "mode") == "Active":
        lines.append(_line(r.name, "X-Ray traces", load.invocations / 1e6, "xray.traces"))
    return lines


def _http_api(r: PlannedResource, _all: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    protocol = _get(r.inputs, "protocol_type", default="HTTP")
    if protocol != "HTTP":
        raise CostError(f"{r.name}: only HTTP APIs are priced, not {protocol!r}")
    return [_line(r.name, "HTTP API requests", p.http_requests / 1e6, "apigw.http")] if p.http_requests else []


HTTP_API_ROUTE_METRICS = 6
"""What detailed metrics publish per route: Count, 4xx, 5xx, Latency, IntegrationLatency, DataProcessed."""


def _http_api_stage(r: PlannedResource, everything: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    """Per-route metrics, when the stage turns them on: custom metrics, each billed for the hours it receives
    data, so nothing while idle and, under load, every route all month (an upper bound)."""
    if _get(r.inputs, "default_route_settings", "detailed_metrics_enabled") is not True or not p.http_requests:
        return []
    api = _get(r.inputs, "api_id")
    routes = sum(1 for x in everything if x.type == "aws:apigatewayv2/route:Route" and _get(x.inputs, "api_id") == api)
    item = f"detailed metrics, {routes} routes x {HTTP_API_ROUTE_METRICS}"
    return [_line(r.name, item, routes * HTTP_API_ROUTE_METRICS, "cloudwatch.custom_metric")]


def _flow_log(r: PlannedResource, _all: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    return [_line(r.name, "flow log records", p.flow_log_gb, "logs.vended")] if p.flow_log_gb else []


def _ssm_parameter(r: PlannedResource, _all: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    if _get(r.inputs, "tier", default="Standard") == "Advanced":
        return [_line(r.name, "advanced parameter", 1, "ssm.advanced")]
    return []  # standard parameters and standard throughput are free


def _ecr(r: PlannedResource, _all: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    return [_line(r.name, "image storage", p.ecr_gb_per_repository, "ecr.storage")]


def _r2(r: PlannedResource, _all: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    lines: list[CostLine] = []
    if p.r2_storage_gb:
        lines.append(_line(r.name, "storage", p.r2_storage_gb, "r2.storage"))
    if p.r2_class_a:
        lines.append(_line(r.name, "Class A operations (writes)", p.r2_class_a / 1e6, "r2.class_a"))
    if p.r2_class_b:
        lines.append(_line(r.name, "Class B operations (reads)", p.r2_class_b / 1e6, "r2.class_b"))
    return lines


def _dashboard(r: PlannedResource, _all: Sequence[PlannedResource], _p: LoadProfile) -> list[CostLine]:
    return [_line(r.name, "dashboard", 1, "cloudwatch.dashboard")]


def _site_share(r: PlannedResource, everything: Sequence[PlannedResource], p: LoadProfile) -> float:
    """The requests of one distribution (or its function): the sites' requests split evenly between them."""
    return p.site_requests / max(1, sum(1 for x in everything if x.type == r.type))


def _distribution(r: PlannedResource, everything: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    """Requests, transfer out, origin fetches from S3 and the access logs' delivery (invalidations stay within
    the 1,000 free paths a month: at most 15 per deploy)."""
    requests = _site_share(r, everything, p)
    if not requests:
        return []
    share = requests / p.site_requests
    log_gb = requests * p.site_log_bytes_per_request / 1e9
    lines = [
        _line(r.name, "HTTPS requests", requests / 1e6, "cloudfront.https_requests"),
        _line(r.name, "transfer out", p.site_transfer_gb * share, "cloudfront.transfer_out"),
        _line(r.name, f"origin GETs ({p.site_miss_ratio:.0%} misses)", requests * p.site_miss_ratio / 1e6, "s3.get"),
    ]
    if log_gb:
        lines.append(_line(r.name, "access log delivery", log_gb, "logs.vended_s3"))
    return lines


def _cloudfront_function(r: PlannedResource, everything: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    invocations = _site_share(r, everything, p)  # an upper bound: hashed assets skip the function
    if not invocations:
        return []
    return [_line(r.name, "viewer-request invocations", invocations / 1e6, "cloudfront.functions")]


def _expiry_days(r: PlannedResource, everything: Sequence[PlannedResource]) -> int:
    """The days after which a sibling lifecycle rule expires objects (a site's log retention), else 30."""
    for x in everything:
        if x.type == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration" and x.parent == r.parent:
            for rule in _as_list(_get(x.inputs, "rules")):
                days = _get(rule, "expiration", "days")
                if days:
                    return int(days)
    return 30


def _s3_bucket(r: PlannedResource, everything: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    """A site's content bucket holds its build; a log bucket the access logs kept for its lifecycle's days."""
    if _get(r.inputs, "tags", "purpose") != "access logs":
        return [_line(r.name, "site content", p.site_storage_gb, "s3.storage")]
    log_gb = _site_share(_distribution_of(r, everything), everything, p) * p.site_log_bytes_per_request / 1e9
    days = _expiry_days(r, everything)
    return [_line(r.name, f"access logs ({days} days kept)", log_gb * days / 30, "s3.storage")] if log_gb else []


def _distribution_of(r: PlannedResource, everything: Sequence[PlannedResource]) -> PlannedResource:
    """The distribution beside ``r`` (the same site), or any, for splitting the sites' load."""
    distributions = [x for x in everything if x.type == "aws:cloudfront/distribution:Distribution"]
    return next((x for x in distributions if x.parent == r.parent), distributions[0] if distributions else r)


_PRICERS: Mapping[str, _Pricer] = {
    "aws:ec2/instance:Instance": _ec2_instance,
    "aws:autoscaling/group:Group": _auto_scaling_group,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:rds/cluster:Cluster": _cluster,
    "aws:rds/clusterInstance:ClusterInstance": _cluster_instance,
    "aws:kms/key:Key": _kms_key,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:lambda/function:Function": _function,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/stage:Stage": _http_api_stage,
    "aws:ec2/flowLog:FlowLog": _flow_log,
    "aws:ssm/parameter:Parameter": _ssm_parameter,
    "aws:ecr/repository:Repository": _ecr,
    "cloudflare:index/r2Bucket:R2Bucket": _r2,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:cloudfront/function:Function": _cloudfront_function,
    "aws:s3/bucket:Bucket": _s3_bucket,
}


def _logs(resources: Sequence[PlannedResource], p: LoadProfile) -> list[CostLine]:
    """All log groups together: ingestion follows traffic, storage its steady state under the retention."""
    groups = [r for r in resources if r.type == LOG_GROUP]
    if not groups:
        return []
    routed = p.http_requests
    other = sum(load.invocations for service, load in p.functions.items() if service != "api")
    gb = (routed * p.log_bytes_per_request + other * p.log_bytes_per_invocation) / 1e9
    if not gb:
        return []
    retention_days = max(int(_get(g.inputs, "retention_in_days", default=0) or 365) for g in groups)
    summary = f"{len(groups)} log groups"
    return [
        _line(summary, "log ingestion", gb, "logs.ingest"),
        _line(summary, f"log storage ({retention_days} days kept)", gb * retention_days / 30, "logs.storage"),
    ]


def _alarms(resources: Sequence[PlannedResource]) -> list[CostLine]:
    """All alarms together: each metric an alarm reads (a metric math alarm reads several), and each custom
    metric one watches (the platform publishes exactly those)."""
    alarms = [r for r in resources if r.type == ALARM]
    if not alarms:
        return []
    read: list[Any] = []
    for alarm in alarms:
        queries = [_get(q, "metric") for q in _as_list(_get(alarm.inputs, "metric_queries"))]
        read += [m for m in queries if m is not None] or [alarm.inputs]
    custom = {
        json.dumps([_get(m, "namespace"), _get(m, "metric_name"), _get(m, "dimensions")], sort_keys=True)
        for m in read
        if not str(_get(m, "namespace", default="AWS/")).startswith("AWS/")
    }
    summary = f"{len(alarms)} alarms"
    lines = [_line(summary, f"alarms reading {len(read)} metrics", len(read), "cloudwatch.alarm")]
    if custom:
        lines.append(_line(summary, "custom metrics they watch", len(custom), "cloudwatch.custom_metric"))
    return lines


def estimate(resources: Sequence[PlannedResource], profile: LoadProfile = IDLE) -> Estimate:
    """The monthly estimate of the declared ``resources`` under ``profile``."""
    lines: list[CostLine] = []
    unpriced: set[str] = set()
    for resource in resources:
        if not resource.custom or resource.type.startswith("pulumi:"):
            continue  # components, the stack and providers cost nothing themselves
        pricer = _PRICERS.get(resource.type)
        if pricer is not None:
            lines.extend(pricer(resource, resources, profile))
        elif resource.type not in FREE_TYPES and resource.type not in (LOG_GROUP, ALARM):
            unpriced.add(resource.type)
    lines.extend(_logs(resources, profile))
    lines.extend(_alarms(resources))
    return Estimate(profile.name, tuple(line for line in lines if line.monthly_usd > 0), tuple(sorted(unpriced)))


def _plain(usd: float) -> str:
    """A price without scientific notation (Lambda's GB-second is 0.0000133334)."""
    return f"{usd:.10f}".rstrip("0").rstrip(".")


def report(resources: Sequence[PlannedResource], profiles: Sequence[LoadProfile] = (IDLE, LAUNCH)) -> str:
    """A plain-text table per profile: each line, its quantity and price, and the total."""
    out: list[str] = []
    for profile in profiles:
        result = estimate(resources, profile)
        out.append(f"Monthly cost estimate, {REGION}, {profile.name}: USD {result.total_usd:,.2f}")
        shown = [line for line in result.lines if line.monthly_usd >= 0.005]
        for line in sorted(shown, key=lambda x: -x.monthly_usd):
            price = PRICES[line.price_key]
            out.append(
                f"  {line.monthly_usd:>9.2f}  {line.resource:<28} {line.item:<44} "
                f"{line.quantity:>12,.3f} x {_plain(price.usd)}/{price.unit}"
            )
        if len(shown) < len(result.lines):
            out.append(f"  ({len(result.lines) - len(shown)} more lines under one cent each)")
        if result.unpriced:
            out.append(f"  not priced: {', '.join(result.unpriced)}")
    sources = sorted({(p.source, p.as_of) for p in PRICES.values()})
    out.append("Prices: eu-west-2 on-demand list prices, no free tier; from " + ", ".join(s for s, _ in sources))
    out.append(f"(read {', '.join(sorted({a for _, a in sources}))}).")
    return "\n".join(out)
