"""The platform: the stage's components, and every discovered service wired into them.

Order matters only through data: network (own or shared, ``infra/network.py``) → secrets, bucket,
database → packages (images by pulumi-docker, zips by ``infra/artifacts.py``) → functions (a service after
the ones it links), each with what its links give it (``infra/links.py``: environment, grants, ingress and
the function's matching egress) → HTTP API (a throttle per route budget) and, where this stage owns them, the
zone's per-client rate limits (``infra/rate_limits.py``) → schedules → run-on-deploy invocations
(``infra/deploy_run.py``), which wait for everything their run uses (the function and all it declares, what
each link grants, admits, opens on the way out and needs ready, the route out of the private subnets) and
whose checked answers the routed functions wait for → the stage's alarms over all of it
(``infra/monitoring.py``). Every function's environment carries the release (``infra/release.py``).
Nothing here knows a particular service: every difference comes from a spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import (
    AuroraPostgres,
    AuroraPostgresArgs,
    ContainerImage,
    ContainerImageArgs,
    CustomDomain,
    Function,
    FunctionArgs,
    HttpApi,
    HttpApiArgs,
    ImageCode,
    LambdaTarget,
    R2Bucket,
    R2BucketArgs,
    Route,
    Secrets,
    SecretsArgs,
    Throttle,
    VpcPlacement,
    ZipCode,
)
from components.container_image import Platform as DockerPlatform
from infra import artifacts, concurrency, image_context
from infra.config import Stage, StageConfigError
from infra.deploy_run import run_on_deploy
from infra.links import LinkTargets, function_environment, linked_services, resolve, stored_secrets
from infra.monitoring import monitor
from infra.naming import physical_name
from infra.network import NetworkLike, export_network, network_for, route_out
from infra.rate_limits import declare_rate_limits
from infra.registry import REPO_ROOT, discover
from infra.release import Release, current_release
from infra.service_spec import HttpRoute, ServiceSpec
from infra.sites import build_sites
from services.core import document_keys


@dataclass(frozen=True, slots=True)
class Platform:
    """What the stack exports."""

    api_url: pulumi.Output[str] | None
    database_endpoint: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    function_names: dict[str, pulumi.Output[str]]
    network: NetworkLike
    """Its own VPC or the shared one; exported either way, so any stage can serve as a network provider."""
    release: Release
    """The version and each service's commit its function was stamped with (the smoke test checks the API's)."""
    site_urls: Mapping[str, pulumi.Output[str]] = field(default_factory=dict[str, pulumi.Output[str]])
    """Each static site's ``https://<host>`` by site name (``infra/sites.py``)."""

    @property
    def vpc_id(self) -> pulumi.Output[str]:
        return self.network.vpc_id

    @property
    def vpc_cidr(self) -> pulumi.Output[str]:
        return self.network.cidr_block

    @property
    def private_subnet_ids(self) -> pulumi.Output[list[str]]:
        return self.network.private_subnet_ids

    @property
    def nat_public_ips(self) -> pulumi.Output[list[str]]:
        return self.network.nat_public_ips


def build_platform(stage: Stage, services: Sequence[ServiceSpec] | None = None) -> Platform:
    """Declare the whole platform of ``stage``; ``services`` defaults to every discovered deploy spec."""
    specs = list(services) if services is not None else discover()
    tags = stage.tags

    network = network_for(stage)
    secrets = Secrets(
        "secrets", SecretsArgs(path=f"/reggie/{stage.name}", values=_secret_values(stage, specs), tags=tags)
    )
    bucket = R2Bucket(
        "documents",
        R2BucketArgs(
            bucket_name=physical_name(stage.name, "documents", "r2_bucket"),
            account_id=stage.cloudflare_account_id,
            allowed_origins=stage.allowed_origins,
            jurisdiction="eu",
            retain_on_delete=stage.retain_on_delete,
            # What nobody confirmed (abandoned or refused uploads); confirmed documents live under documents/.
            expire_after_days={document_keys.UPLOAD_PREFIX: document_keys.UNCONFIRMED_UPLOAD_DAYS},
        ),
    )
    database = AuroraPostgres(
        "database",
        AuroraPostgresArgs(
            cluster_identifier=physical_name(stage.name, "db", "rds_cluster"),
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            min_acu=stage.aurora_min_acu,
            max_acu=stage.aurora_max_acu,
            backup_retention_days=stage.backup_retention_days,
            deletion_protection=stage.deletion_protection,
            skip_final_snapshot=stage.skip_final_snapshot,
            log_retention_days=stage.log_retention_days,
            retain_on_delete=stage.retain_on_delete,
            failover_reader=stage.aurora_failover_reader,
            availability_zones=stage.availability_zones,
            tags=tags,
        ),
    )

    reservations = concurrency.plan(
        specs, min_acu=stage.aurora_min_acu, max_acu=stage.aurora_max_acu, reserve=stage.reserve_concurrency
    ).reserved
    functions: dict[str, Function] = {}
    targets = LinkTargets(stage=stage, database=database, bucket=bucket, secrets=secrets, functions=functions)
    deploy_runs: list[pulumi.Output[pulumi.Resource]] = []
    release = current_release(specs)
    for spec in _deploy_runs_first(specs):
        linked = resolve(spec)
        code = _code_for(stage, spec)
        function = Function(
            spec.name,
            FunctionArgs(
                function_name=physical_name(stage.name, spec.name, "lambda"),
                code=code,
                log_retention_days=stage.log_retention_days,
                architecture=spec.architecture,
                memory_mb=spec.memory_mb,
                timeout_s=spec.timeout_s,
                environment=function_environment(spec, linked, targets, release.environment(spec.name)),
                reserved_concurrency=reservations[spec.name],
                tracing=True,
                # Only what answers people waits on a cold start; a scheduled or invoked-once function
                # would pay for snapshots and gain nothing.
                snap_start=stage.snap_start and spec.package == "zip" and bool(spec.routes),
                vpc=VpcPlacement(network.vpc_id, network.private_subnet_ids) if spec.vpc else None,
                description=spec.description,
                wait_for=list(deploy_runs) if spec.routes else [],
                tags={**tags, "service": spec.name},
            ),
        )
        needs = route_out(network) if spec.vpc else []
        for link in linked:
            needs += link.grant(function, targets)
            admitted = link.admit(function, spec.name, targets)
            needs += admitted + link.egress(function, admitted, targets)
            needs += link.ready(targets)
        if spec.schedule is not None:
            _schedule(stage, spec, function)
        if spec.run_on_deploy:
            deploy_runs.append(run_on_deploy(spec, function, code, needs))
        functions[spec.name] = function

    api: HttpApi | None = None
    targets = [
        LambdaTarget(
            label=spec.name,
            function_arn=functions[spec.name].entry_arn,
            function_name=functions[spec.name].function_name,
            qualifier=functions[spec.name].entry_qualifier,
            routes=[Route(route.method, route.path, _own_throttle(stage, route)) for route in spec.routes],
        )
        for spec in specs
        if spec.routes
    ]
    if targets:
        api = HttpApi(
            "api",
            HttpApiArgs(
                api_name=physical_name(stage.name, "api", "api"),
                targets=targets,
                cors_allowed_origins=stage.allowed_origins,
                access_log_retention_days=stage.log_retention_days,
                domain=CustomDomain(stage.api_domain, stage.cloudflare_zone_id) if stage.api_domain else None,
                throttle=stage.api_throttles["standard"],
                tags=tags,
            ),
        )
    declare_rate_limits(stage, specs)
    monitor(stage, specs=specs, functions=functions, api=api, database=database, network=network)
    sites = build_sites(stage, {"api": api.url if api is not None else None, "documents": bucket.s3_endpoint})

    return Platform(
        api_url=api.url if api is not None else None,
        database_endpoint=database.endpoint,
        bucket_name=bucket.bucket_name,
        function_names={name: f.function_name for name, f in functions.items()},
        network=network,
        release=release,
        site_urls={name: site.url for name, site in sites.items()},
    )


def _own_throttle(stage: Stage, route: HttpRoute) -> Throttle | None:
    """A route's own API Gateway throttle: its budget's, unless it draws on the stage default (``standard``)."""
    return None if route.budget == "standard" else stage.api_throttles[route.budget]


def _deploy_runs_first(specs: Sequence[ServiceSpec]) -> list[ServiceSpec]:
    """Dependency order, with run-on-deploy services (and the services they link) first, so routed functions
    can wait for their invocation."""
    by_name = {s.name: s for s in specs}
    early: set[str] = set()
    pending = [s.name for s in specs if s.run_on_deploy]
    while pending:
        name = pending.pop()
        if name not in early:
            early.add(name)
            pending.extend(linked_services(by_name[name]))
    return [s for s in specs if s.name in early] + [s for s in specs if s.name not in early]


def export_outputs(platform: Platform) -> None:
    """The stack outputs CI and developers read."""
    if platform.api_url is not None:
        pulumi.export("apiUrl", platform.api_url)
    pulumi.export("databaseEndpoint", platform.database_endpoint)
    pulumi.export("bucketName", platform.bucket_name)
    pulumi.export("functionNames", platform.function_names)
    pulumi.export("release", {"version": platform.release.version, "commits": dict(platform.release.commits)})
    if platform.site_urls:
        pulumi.export("siteUrls", platform.site_urls)
    export_network(platform.network)


def _code_for(stage: Stage, spec: ServiceSpec) -> ZipCode | ImageCode:
    """The package of one service: an image built and pushed by pulumi-docker, referenced by digest, or a
    zip built by :func:`infra.artifacts.lambda_code` (deterministic, cached; a placeholder under mocks)."""
    if spec.package == "image":
        assert spec.dockerfile is not None  # the registry guarantees it
        image = ContainerImage(
            spec.name,
            ContainerImageArgs(
                repository_name=physical_name(stage.name, spec.name, "ecr_repository"),
                context=str(REPO_ROOT),
                dockerfile=str(REPO_ROOT / spec.dockerfile),
                tag=source_tag(spec),
                platform=image_platform(spec),
                # A stage that protects nothing (personal) must destroy cleanly: the images go with it.
                force_delete=not stage.deletion_protection,
                tags={**stage.tags, "service": spec.name},
            ),
        )
        return ImageCode(image_uri=image.image_uri, command=(spec.handler,))
    code = artifacts.lambda_code(spec)
    return ZipCode(archive=code.archive, handler=spec.handler, source_code_hash=code.source_code_hash)


def source_tag(spec: ServiceSpec) -> str:
    """The image's tag: the hash of exactly what its build receives (:func:`infra.image_context.source_tag`:
    the files its allow-list admits, the Dockerfile, the platform), so it changes whenever the builder
    would build and push again (ECR tags are immutable) and never otherwise."""
    assert spec.dockerfile is not None
    return image_context.source_tag(REPO_ROOT, REPO_ROOT / spec.dockerfile, image_platform(spec))


def image_platform(spec: ServiceSpec) -> DockerPlatform:
    """The Docker platform of the spec's Lambda architecture."""
    return "linux/arm64" if spec.architecture == "arm64" else "linux/amd64"


def _secret_values(stage: Stage, specs: Sequence[ServiceSpec]) -> dict[str, pulumi.Input[str]]:
    """The value of every secret the specs link; the stage loaded them for the discovered specs, so only
    other specs (a test's) can name one it lacks."""
    missing = [name for name in stored_secrets(specs) if name not in stage.secrets]
    if missing:
        raise StageConfigError(
            "secrets", ", ".join(missing), "the stage was loaded for other specs; pass their secret names to load_stage"
        )
    return {name: stage.secrets[name] for name in stored_secrets(specs)}


def _schedule(stage: Stage, spec: ServiceSpec, function: Function) -> None:
    """An EventBridge rule invoking the function on its schedule, allowed by a rule-scoped permission."""
    rule = aws.cloudwatch.EventRule(
        f"{spec.name}-schedule",
        name=physical_name(stage.name, spec.name, "event_rule"),
        schedule_expression=spec.schedule,
        description=f"Runs {spec.name} on {spec.schedule}",
        tags=stage.tags,
        opts=pulumi.ResourceOptions(parent=function),
    )
    aws.cloudwatch.EventTarget(
        f"{spec.name}-schedule",
        rule=rule.name,
        arn=function.arn,
        opts=pulumi.ResourceOptions(parent=function),
    )
    aws.lambda_.Permission(
        f"{spec.name}-schedule",
        action="lambda:InvokeFunction",
        function=function.function_name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
        opts=pulumi.ResourceOptions(parent=function),
    )
