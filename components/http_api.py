"""HttpApi: an API Gateway v2 HTTP API in front of Lambda functions, optionally on a custom domain.

Routes name explicit methods (never ``ANY``) so API Gateway answers CORS preflight itself; each
function's invoke permission is scoped to this API's execution ARN; access logs are JSON with a
retention; once a custom domain is set, the default execute-api endpoint is disabled.

Throttling: the stage's default applies to every route; a route given its own :class:`Throttle` gets a route
setting that replaces the default for it, a budget apart (the webhooks', so no other route starves them; the
costly routes', tighter). API Gateway names routes in the stage's route settings by key and refuses a key that
does not exist yet, so the stage waits for the routes. Throttles are API Gateway's targets, not guarantees, and
every API of the account in the region shares the account's own limit on top (:data:`ACCOUNT_RATE_LIMIT`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components._common import (
    Component,
    ComponentArgsError,
    Transform,
    check_transform_keys,
    no_tags,
    roles_of,
)
from components._dns import DOMAIN_NAME, proxied_cname, validated_certificate
from components.function import LOG_RETENTION_DAYS

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MAX_ROUTES = 300
"""API Gateway's default quota of routes per HTTP API."""
ACCOUNT_RATE_LIMIT = 10_000
"""Requests per second API Gateway admits across every API of an account in a region (the default quota, raised
through AWS Support); no route or stage limit may exceed it."""
ACCOUNT_BURST_LIMIT = 5_000
"""The account's burst (bucket size) in a region, across every API; no route or stage burst may exceed it."""
_SEGMENT = r"(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})"
_PATH = re.compile(rf"^/{_SEGMENT}(?:/{_SEGMENT})*$")

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


class HttpApiTransforms(TypedDict, total=False):
    """The roles of :class:`HttpApi`'s children, each with its transform hook's args type."""

    api: Transform[aws.apigatewayv2.ApiArgs]
    """The HTTP API (``<name>-api``)."""
    log_group: Transform[aws.cloudwatch.LogGroupArgs]
    """The access-log group (``<name>-access-logs``)."""
    stage: Transform[aws.apigatewayv2.StageArgs]
    """The auto-deployed ``$default`` stage (``<name>-stage``)."""
    integration: Transform[aws.apigatewayv2.IntegrationArgs]
    """Keyed by target label: the Lambda proxy integration (``<name>-<label>``)."""
    invoke_permission: Transform[aws.lambda_.PermissionArgs]
    """Keyed by target label: API Gateway may invoke the function (``<name>-<label>-invoke``)."""
    route: Transform[aws.apigatewayv2.RouteArgs]
    """Keyed by route key (``GET /plates/{id}``): ``<name>-<slug of the key>``."""
    certificate: Transform[aws.acm.CertificateArgs]
    """With a domain: the ACM certificate (``<name>-cert``)."""
    validation_record: Transform[cloudflare.DnsRecordArgs]
    """With a domain: the unproxied CNAME ACM validates through (``<name>-cert-validation``)."""
    certificate_validation: Transform[aws.acm.CertificateValidationArgs]
    """With a domain: waits for the certificate to be issued (``<name>-cert``)."""
    domain_name: Transform[aws.apigatewayv2.DomainNameArgs]
    """With a domain: the regional custom domain (``<name>-domain``)."""
    api_mapping: Transform[aws.apigatewayv2.ApiMappingArgs]
    """With a domain: the domain to the ``$default`` stage (``<name>-mapping``)."""
    domain_record: Transform[cloudflare.DnsRecordArgs]
    """With a domain: the proxied CNAME the public resolves (``<name>-cname``)."""


ROLES = roles_of(HttpApiTransforms)


@dataclass(frozen=True, slots=True)
class Throttle:
    """API Gateway's token bucket for a stage or a route: ``rate`` requests per second, bursts of ``burst``."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not 0 < self.rate <= ACCOUNT_RATE_LIMIT:
            raise ComponentArgsError(f"Throttle.rate: {self.rate} is outside 0-{ACCOUNT_RATE_LIMIT} requests/s")
        if not 1 <= self.burst <= ACCOUNT_BURST_LIMIT:
            raise ComponentArgsError(f"Throttle.burst: {self.burst} is outside 1-{ACCOUNT_BURST_LIMIT}")


@dataclass(frozen=True, slots=True)
class Route:
    """One route: an explicit method and a path (``{param}`` and ``{proxy+}`` allowed)."""

    method: str
    path: str
    throttle: Throttle | None = None
    """Its own throttle, replacing the stage default for it (a budget apart); ``None`` draws on the default."""

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
    throttle: Throttle = field(default_factory=lambda: Throttle(rate=100, burst=200))
    """The stage's default route throttle (a route's own :attr:`Route.throttle` replaces it)."""
    detailed_metrics: bool = False
    """Per-route CloudWatch metrics: six per route (count, 4xx, 5xx, latency, integration latency, data),
    billed as custom metrics for every hour a route has traffic (``infra/cost.py`` prices them). The API-wide
    metrics are free and always on."""
    domain: CustomDomain | None = None
    """Serve on this domain (ACM certificate validated through Cloudflare, proxied CNAME)."""
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every taggable child."""
    transforms: HttpApiTransforms = field(default_factory=HttpApiTransforms)
    """Per-child hooks keyed by role (see :class:`HttpApiTransforms`)."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.api_name) <= 128:
            raise ComponentArgsError("HttpApiArgs.api_name: must be 1-128 characters")
        if any(origin == "*" or not origin.startswith(("https://", "http://")) for origin in self.cors_allowed_origins):
            raise ComponentArgsError("HttpApiArgs.cors_allowed_origins: give explicit origins like https://example.com")
        if self.access_log_retention_days not in LOG_RETENTION_DAYS:
            raise ComponentArgsError("HttpApiArgs.access_log_retention_days: not a CloudWatch retention value")
        slugs: dict[str, str] = {}
        labels: set[str] = set()
        for target in self.targets:
            if target.label in labels:
                raise ComponentArgsError(f"HttpApiArgs.targets: label {target.label!r} is used twice")
            labels.add(target.label)
            if not 50 <= target.timeout_ms <= 30_000:
                raise ComponentArgsError(f"HttpApiArgs.targets[{target.label}].timeout_ms: must be 50-30000")
            for route in target.routes:
                _check_route(route, slugs)
        if len(slugs) > MAX_ROUTES:
            raise ComponentArgsError(f"HttpApiArgs.targets: {len(slugs)} routes exceed the quota of {MAX_ROUTES}")
        if self.domain is not None and not DOMAIN_NAME.match(self.domain.domain_name):
            raise ComponentArgsError(f"HttpApiArgs.domain: {self.domain.domain_name!r} is not a domain name")
        check_transform_keys("HttpApi", self.transforms, ROLES)


def route_slug(route: Route) -> str:
    """A resource-name-safe rendering of a route key: ``GET /a/{b}`` → ``get-a-b``."""
    return re.sub(r"[^a-z0-9]+", "-", route.key.lower()).strip("-")


def _check_route(route: Route, slugs: dict[str, str]) -> None:
    """One route is valid and distinct from those already seen (``slugs``: route slug -> route key, which this
    extends): its resource is named by its slug, so two keys with one slug would collide."""
    if route.method not in METHODS:
        raise ComponentArgsError(
            f"HttpApiArgs route {route.key!r}: method must be one of {', '.join(METHODS)} (not ANY)"
        )
    if not _PATH.match(route.path):
        raise ComponentArgsError(f"HttpApiArgs route {route.key!r}: not a valid route path")
    slug = route_slug(route)
    other = slugs.get(slug)
    if other == route.key:
        raise ComponentArgsError(f"HttpApiArgs route {route.key!r}: declared twice")
    if other is not None:
        raise ComponentArgsError(f"HttpApiArgs route {route.key!r}: its resource name would be {other!r}'s ({slug})")
    slugs[slug] = route.key


class HttpApi(Component):
    """An HTTP API with a `$default` auto-deployed stage, Lambda proxy routes and an optional custom domain.

    Roles (``nodes`` and ``transforms``, see :class:`HttpApiTransforms`): ``api``, ``log_group``, ``stage``;
    keyed by target label ``integration`` and ``invoke_permission``; ``route`` keyed by route key; with a
    domain ``certificate``, ``validation_record``, ``certificate_validation``, ``domain_name``, ``api_mapping``
    and ``domain_record``.
    """

    api_id: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    url: pulumi.Output[str]
    """The public base URL: ``https://<domain>`` when a domain is set, else the execute-api endpoint."""

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:HttpApi", name, args.transforms, ROLES, opts)
        methods = sorted({route.method for target in args.targets for route in target.routes})
        api = self.child(
            "api",
            aws.apigatewayv2.Api,
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
            "api",
        )
        log_group = self.child(
            "log_group",
            aws.cloudwatch.LogGroup,
            aws.cloudwatch.LogGroupArgs(
                name=args.access_log_group_name or f"/aws/apigateway/{args.api_name}",
                retention_in_days=args.access_log_retention_days,
                tags=args.tags,
            ),
            "access-logs",
        )
        routes = [route for target in args.targets for route in self._target(api, target)]
        throttled = [r for target in args.targets for r in target.routes if r.throttle is not None]
        stage = self.child(
            "stage",
            aws.apigatewayv2.Stage,
            aws.apigatewayv2.StageArgs(
                api_id=api.id,
                name="$default",
                auto_deploy=True,
                access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                    destination_arn=log_group.arn, format=ACCESS_LOG_FORMAT
                ),
                default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                    throttling_burst_limit=args.throttle.burst,
                    throttling_rate_limit=args.throttle.rate,
                    detailed_metrics_enabled=args.detailed_metrics,
                ),
                # A route setting replaces the default for its route entirely: it repeats the metrics switch.
                route_settings=[
                    aws.apigatewayv2.StageRouteSettingArgs(
                        route_key=route.key,
                        throttling_burst_limit=route.throttle.burst,
                        throttling_rate_limit=route.throttle.rate,
                        detailed_metrics_enabled=args.detailed_metrics,
                    )
                    for route in sorted(throttled, key=lambda r: r.key)
                    if route.throttle is not None
                ]
                or None,
                tags=args.tags,
            ),
            "stage",
            # The route settings name routes by key; API Gateway refuses a key it does not have yet.
            opts=pulumi.ResourceOptions(depends_on=routes) if throttled else None,
        )

        if args.domain is not None:
            self.url = self._custom_domain(args, args.domain, api, stage)
        else:
            self.url = api.api_endpoint
        self.api_id = api.id
        self.api_endpoint = api.api_endpoint
        self.execution_arn = api.execution_arn
        self.register_outputs({"api_id": self.api_id, "url": self.url, "execution_arn": self.execution_arn})

    def _target(self, api: aws.apigatewayv2.Api, target: LambdaTarget) -> list[aws.apigatewayv2.Route]:
        """One function behind the API: its integration, its invoke permission and its routes (returned)."""
        integration = self.child(
            "integration",
            aws.apigatewayv2.Integration,
            aws.apigatewayv2.IntegrationArgs(
                api_id=api.id,
                integration_type="AWS_PROXY",
                integration_method="POST",
                integration_uri=target.function_arn,
                payload_format_version="2.0",
                timeout_milliseconds=target.timeout_ms,
            ),
            target.label,
            key=target.label,
        )
        self.child(
            "invoke_permission",
            aws.lambda_.Permission,
            aws.lambda_.PermissionArgs(
                action="lambda:InvokeFunction",
                function=target.function_name,
                qualifier=target.qualifier,
                principal="apigateway.amazonaws.com",
                source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            ),
            f"{target.label}-invoke",
            key=target.label,
        )
        return [
            self.child(
                "route",
                aws.apigatewayv2.Route,
                aws.apigatewayv2.RouteArgs(
                    api_id=api.id,
                    route_key=route.key,
                    target=integration.id.apply(lambda i: f"integrations/{i}"),
                ),
                route_slug(route),
                key=route.key,
            )
            for route in target.routes
        ]

    def _custom_domain(
        self,
        args: HttpApiArgs,
        domain: CustomDomain,
        api: aws.apigatewayv2.Api,
        stage: aws.apigatewayv2.Stage,
    ) -> pulumi.Output[str]:
        validation = validated_certificate(self, domain.domain_name, domain.zone_id, args.tags)
        domain_name = self.child(
            "domain_name",
            aws.apigatewayv2.DomainName,
            aws.apigatewayv2.DomainNameArgs(
                domain_name=domain.domain_name,
                domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                    certificate_arn=validation.certificate_arn,
                    endpoint_type="REGIONAL",
                    security_policy="TLS_1_2",
                ),
                tags=args.tags,
            ),
            "domain",
        )
        self.child(
            "api_mapping",
            aws.apigatewayv2.ApiMapping,
            aws.apigatewayv2.ApiMappingArgs(api_id=api.id, domain_name=domain_name.id, stage=stage.id),
            "mapping",
        )
        proxied_cname(
            self,
            domain.zone_id,
            domain.domain_name,
            domain_name.domain_name_configuration.apply(lambda c: c.target_domain_name or ""),
            "API Gateway custom domain",
        )
        return pulumi.Output.concat("https://", domain_name.domain_name)
