"""HttpApi: an API Gateway v2 HTTP API in front of Lambda functions, optionally on a custom domain.

Routes name explicit methods (never ``ANY``) so API Gateway answers CORS preflight itself; each
function's invoke permission is scoped to this API's execution ARN; access logs are JSON with a
retention; once a custom domain is set, the default execute-api endpoint is disabled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components._common import (
    ComponentArgsError,
    Transforms,
    check_transform_keys,
    child_args,
    child_opts,
    no_tags,
    no_transforms,
)
from components.function import LOG_RETENTION_DAYS

ROLES = ("api", "log_group", "stage", "integration", "route", "certificate", "domain_name", "dns_record")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MAX_ROUTES = 300
"""API Gateway's default quota of routes per HTTP API."""
_SEGMENT = r"(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})"
_PATH = re.compile(rf"^/{_SEGMENT}(?:/{_SEGMENT})*$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "userAgent": "$context.identity.userAgent",
    }
)


@dataclass(frozen=True, slots=True)
class Route:
    """One route: an explicit method and a path (``{param}`` and ``{proxy+}`` allowed)."""

    method: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class LambdaTarget:
    """A function and the routes it serves."""

    label: str
    """Short name used in child names, e.g. the service name."""
    function_arn: pulumi.Input[str]
    """What the integration invokes: the function's ARN, or an alias's (qualified) ARN."""
    function_name: pulumi.Input[str]
    routes: Sequence[Route]
    timeout_ms: int = 30_000
    """Integration timeout (at most 30 000 ms on HTTP APIs)."""
    qualifier: str | None = None
    """The alias in ``function_arn``, which API Gateway's invoke permission must name too."""


@dataclass(frozen=True, slots=True)
class CustomDomain:
    """A custom domain whose DNS lives in Cloudflare."""

    domain_name: str
    """e.g. ``api.reggie.example``."""
    zone_id: str
    """The Cloudflare zone holding the domain."""


@dataclass(frozen=True, slots=True)
class HttpApiArgs:
    """Arguments of :class:`HttpApi`."""

    api_name: str
    """Physical API name (at most 128 characters)."""
    targets: Sequence[LambdaTarget]
    """The functions behind the API and their routes."""
    cors_allowed_origins: Sequence[str]
    """Explicit browser origins (never ``*``)."""
    access_log_retention_days: int
    """Retention of the access-log group (a CloudWatch-accepted value)."""
    access_log_group_name: str | None = None
    """Name of the access-log group; default ``/aws/apigateway/<api_name>``."""
    cors_allowed_headers: Sequence[str] = ("authorization", "content-type", "idempotency-key")
    """Request headers browsers may send."""
    cors_max_age_s: int = 3600
    """How long browsers may cache a preflight answer."""
    throttling_burst_limit: int = 200
    """Default route burst limit (requests)."""
    throttling_rate_limit: float = 100
    """Default route steady-state limit (requests per second)."""
    domain: CustomDomain | None = None
    """Serve on this domain (ACM certificate validated through Cloudflare, proxied CNAME)."""
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every taggable child."""
    transforms: Transforms = field(default_factory=no_transforms)
    """Per-child hooks keyed by role: ``api``, ``log_group``, ``stage``, ``integration``, ``route``,
    ``certificate``, ``domain_name``, ``dns_record``."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.api_name) <= 128:
            raise ComponentArgsError("HttpApiArgs.api_name: must be 1-128 characters")
        if any(origin == "*" or not origin.startswith(("https://", "http://")) for origin in self.cors_allowed_origins):
            raise ComponentArgsError("HttpApiArgs.cors_allowed_origins: give explicit origins like https://example.com")
        if self.access_log_retention_days not in LOG_RETENTION_DAYS:
            raise ComponentArgsError("HttpApiArgs.access_log_retention_days: not a CloudWatch retention value")
        seen: set[str] = set()
        labels: set[str] = set()
        for target in self.targets:
            if target.label in labels:
                raise ComponentArgsError(f"HttpApiArgs.targets: label {target.label!r} is used twice")
            labels.add(target.label)
            if not 50 <= target.timeout_ms <= 30_000:
                raise ComponentArgsError(f"HttpApiArgs.targets[{target.label}].timeout_ms: must be 50-30000")
            for route in target.routes:
                if route.method not in METHODS:
                    raise ComponentArgsError(
                        f"HttpApiArgs route {route.key!r}: method must be one of {', '.join(METHODS)} (not ANY)"
                    )
                if not _PATH.match(route.path):
                    raise ComponentArgsError(f"HttpApiArgs route {route.key!r}: not a valid route path")
                if route.key in seen:
                    raise ComponentArgsError(f"HttpApiArgs route {route.key!r}: declared twice")
                seen.add(route.key)
        if len(seen) > MAX_ROUTES:
            raise ComponentArgsError(f"HttpApiArgs.targets: {len(seen)} routes exceed the quota of {MAX_ROUTES}")
        if self.domain is not None and not _DOMAIN.match(self.domain.domain_name):
            raise ComponentArgsError(f"HttpApiArgs.domain: {self.domain.domain_name!r} is not a domain name")
        check_transform_keys("HttpApi", self.transforms, ROLES)


def _slug(route: Route) -> str:
    """A resource-name-safe rendering of a route key: ``GET /a/{b}`` → ``get-a-b``."""
    return re.sub(r"[^a-z0-9]+", "-", route.key.lower()).strip("-")


class HttpApi(pulumi.ComponentResource):
    """An HTTP API with a `$default` auto-deployed stage, Lambda proxy routes and an optional custom domain."""

    api_id: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    url: pulumi.Output[str]
    """The public base URL: ``https://<domain>`` when a domain is set, else the execute-api endpoint."""

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:HttpApi", name, None, opts)
        t = args.transforms
        methods = sorted({route.method for target in args.targets for route in target.routes})
        api = aws.apigatewayv2.Api(
            f"{name}-api",
            child_args(
                t,
                "api",
                aws.apigatewayv2.ApiArgs(
                    name=args.api_name,
                    protocol_type="HTTP",
                    cors_configuration=aws.apigatewayv2.ApiCorsConfigurationArgs(
                        allow_origins=list(args.cors_allowed_origins),
                        allow_methods=[*methods, "OPTIONS"] if methods else ["GET", "OPTIONS"],
                        allow_headers=list(args.cors_allowed_headers),
                        max_age=args.cors_max_age_s,
                    ),
                    disable_execute_api_endpoint=args.domain is not None,
                    tags=args.tags,
                ),
            ),
            opts=child_opts(self),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            child_args(
                t,
                "log_group",
                aws.cloudwatch.LogGroupArgs(
                    name=args.access_log_group_name or f"/aws/apigateway/{args.api_name}",
                    retention_in_days=args.access_log_retention_days,
                    tags=args.tags,
                ),
            ),
            opts=child_opts(self),
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            child_args(
                t,
                "stage",
                aws.apigatewayv2.StageArgs(
                    api_id=api.id,
                    name="$default",
                    auto_deploy=True,
                    access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                        destination_arn=log_group.arn, format=ACCESS_LOG_FORMAT
                    ),
                    default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                        throttling_burst_limit=args.throttling_burst_limit,
                        throttling_rate_limit=args.throttling_rate_limit,
                        detailed_metrics_enabled=True,
                    ),
                    tags=args.tags,
                ),
            ),
            opts=child_opts(self),
        )
        for target in args.targets:
            integration = aws.apigatewayv2.Integration(
                f"{name}-{target.label}",
                child_args(
                    t,
                    "integration",
                    aws.apigatewayv2.IntegrationArgs(
                        api_id=api.id,
                        integration_type="AWS_PROXY",
                        integration_method="POST",
                        integration_uri=target.function_arn,
                        payload_format_version="2.0",
                        timeout_milliseconds=target.timeout_ms,
                    ),
                ),
                opts=child_opts(self),
            )
            aws.lambda_.Permission(
                f"{name}-{target.label}-invoke",
                action="lambda:InvokeFunction",
                function=target.function_name,
                qualifier=target.qualifier,
                principal="apigateway.amazonaws.com",
                source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
                opts=child_opts(self),
            )
            for route in target.routes:
                aws.apigatewayv2.Route(
                    f"{name}-{_slug(route)}",
                    child_args(
                        t,
                        "route",
                        aws.apigatewayv2.RouteArgs(
                            api_id=api.id,
                            route_key=route.key,
                            target=integration.id.apply(lambda i: f"integrations/{i}"),
                        ),
                    ),
                    opts=child_opts(self),
                )

        if args.domain is not None:
            self.url = self._custom_domain(name, args, args.domain, api, stage)
        else:
            self.url = api.api_endpoint
        self.api_id = api.id
        self.api_endpoint = api.api_endpoint
        self.execution_arn = api.execution_arn
        self.register_outputs({"api_id": self.api_id, "url": self.url, "execution_arn": self.execution_arn})

    def _custom_domain(
        self,
        name: str,
        args: HttpApiArgs,
        domain: CustomDomain,
        api: aws.apigatewayv2.Api,
        stage: aws.apigatewayv2.Stage,
    ) -> pulumi.Output[str]:
        t = args.transforms
        certificate = aws.acm.Certificate(
            f"{name}-cert",
            child_args(
                t,
                "certificate",
                aws.acm.CertificateArgs(
                    domain_name=domain.domain_name,
                    validation_method="DNS",
                    key_algorithm="EC_prime256v1",
                    tags=args.tags,
                ),
            ),
            opts=child_opts(self),
        )
        # One domain, no SANs: exactly one validation record, so no resource is created inside an apply.
        option = certificate.domain_validation_options.apply(lambda options: options[0])
        validation_record = cloudflare.DnsRecord(
            f"{name}-cert-validation",
            child_args(
                t,
                "dns_record",
                cloudflare.DnsRecordArgs(
                    zone_id=domain.zone_id,
                    name=option.apply(lambda o: (o.resource_record_name or "").rstrip(".")),
                    type="CNAME",
                    content=option.apply(lambda o: (o.resource_record_value or "").rstrip(".")),
                    ttl=60,
                    proxied=False,  # ACM must see its own CNAME, not Cloudflare's edge
                    comment="ACM validation",
                ),
            ),
            opts=child_opts(self),
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-cert",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_record.name],
            opts=child_opts(self),
        )
        domain_name = aws.apigatewayv2.DomainName(
            f"{name}-domain",
            child_args(
                t,
                "domain_name",
                aws.apigatewayv2.DomainNameArgs(
                    domain_name=domain.domain_name,
                    domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                        certificate_arn=validation.certificate_arn,
                        endpoint_type="REGIONAL",
                        security_policy="TLS_1_2",
                    ),
                    tags=args.tags,
                ),
            ),
            opts=child_opts(self),
        )
        aws.apigatewayv2.ApiMapping(
            f"{name}-mapping",
            api_id=api.id,
            domain_name=domain_name.id,
            stage=stage.id,
            opts=child_opts(self),
        )
        cloudflare.DnsRecord(
            f"{name}-cname",
            child_args(
                t,
                "dns_record",
                cloudflare.DnsRecordArgs(
                    zone_id=domain.zone_id,
                    name=domain.domain_name,
                    type="CNAME",
                    content=domain_name.domain_name_configuration.apply(lambda c: c.target_domain_name or ""),
                    ttl=1,  # automatic: required for proxied records
                    proxied=True,
                    comment="API Gateway custom domain",
                ),
            ),
            opts=child_opts(self),
        )
        return pulumi.Output.concat("https://", domain_name.domain_name)
