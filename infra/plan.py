"""The offline plan: run `__main__.py` under mocks for a stack, print the resource tree and the policy report.

`python -m infra plan --stack production [--config key=value]...` (what `make plan` runs). Config comes
from `Pulumi.yaml` defaults, then `Pulumi.<stack>.yaml`, then `--config`; secrets a fresh clone cannot
decrypt, and the Cloudflare ids production and staging require (account facts this repository does not
hold), are replaced by offline stand-ins (nothing is deployed). Exit status: 0 clean, 1 a mandatory policy
violation, 2 bad config or arguments (one line on stderr, no traceback).

It also prints the monthly cost estimate (``infra/cost.py``: idle and under the stated load profile) and
writes the Mermaid architecture diagram (``infra/diagram.py``) to ``build/plan/<stack>.mmd`` or
``--diagram PATH``; ``--json`` prints a ``pulumi preview --json``-shaped document (``infra/preview_json.py``)
on stdout instead of the tree, and the cost and policy reports on stderr.

Public API for other tools: :func:`run_plan`, :func:`record_plan` and :func:`load_config`.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from components import ComponentArgsError
from infra import cost, diagram, preview_json
from infra.config import PROJECT, StageConfigError, secret_key, secret_names, site_keys, stage_kind
from infra.mocks import Recording, run_program
from infra.planned import PlannedResource
from infra.policy.rules import DEFAULT_CONFIG, Violation, evaluate
from infra.registry import REPO_ROOT, ServiceSpecError
from infra.site_registry import SiteSpecError
from infra.site_registry import discover as discover_sites

PROGRAM = REPO_ROOT / "__main__.py"
PLACEHOLDER_SECRET_VALUE = "plan-placeholder"  # noqa: S105 - stands in for a secret offline
OFFLINE_CLOUDFLARE_ID = "0ff11e00" * 4
"""Stands in offline for a Cloudflare id production and staging require (``pulumi up`` refuses a missing one)."""
CLOUDFLARE_ID_KEYS = ("cloudflareZoneId", "cloudflareAccountId")

KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock", "enableDnsHostnames"),
    "aws:ec2/subnet:Subnet": ("availabilityZone", "cidrBlock"),
    "aws:ec2/instance:Instance": ("instanceType", "ami", "sourceDestCheck", "metadataOptions.httpTokens"),
    "aws:ec2/route:Route": ("destinationCidrBlock",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType"),
    "aws:ec2/flowLog:FlowLog": ("trafficType",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("ipProtocol", "fromPort", "cidrIpv4"),
    "aws:rds/cluster:Cluster": (
        "clusterIdentifier",
        "engineVersion",
        "serverlessv2ScalingConfiguration",
        "backupRetentionPeriod",
        "deletionProtection",
        "skipFinalSnapshot",
    ),
    "aws:rds/clusterInstance:ClusterInstance": ("instanceClass", "publiclyAccessible", "promotionTier"),
    "aws:kms/key:Key": ("enableKeyRotation",),
    "aws:lambda/function:Function": (
        "name",
        "packageType",
        "architectures",
        "memorySize",
        "timeout",
        "reservedConcurrentExecutions",
    ),
    "aws:lambda/permission:Permission": ("principal",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:cloudwatch/eventRule:EventRule": ("scheduleExpression",),
    "aws:apigatewayv2/route:Route": ("routeKey",),
    "aws:apigatewayv2/stage:Stage": ("name", "defaultRouteSettings.throttlingRateLimit"),
    "aws:apigatewayv2/domainName:DomainName": ("domainName",),
    "aws:ecr/repository:Repository": ("name", "imageTagMutability"),
    "aws:ssm/parameter:Parameter": ("name", "type"),
    "cloudflare:index/dnsRecord:DnsRecord": ("name", "type", "proxied"),
    "cloudflare:index/r2Bucket:R2Bucket": ("name", "jurisdiction"),
    "cloudflare:index/ruleset:Ruleset": ("phase", "description"),
    "aws:autoscaling/group:Group": ("minSize", "maxSize", "healthCheckType"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("instanceType", "metadataOptions.httpTokens"),
    "aws:ec2/networkInterface:NetworkInterface": ("sourceDestCheck",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName", "extendedStatistic", "threshold", "treatMissingData"),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
    "aws:sns/topicSubscription:TopicSubscription": ("protocol", "endpoint"),
    "cloudflare:index/zoneLockdown:ZoneLockdown": ("urls",),
    "aws:cloudfront/distribution:Distribution": (
        "aliases",
        "httpVersion",
        "priceClass",
        "viewerCertificate.minimumProtocolVersion",
    ),
    "aws:s3/bucket:Bucket": ("bucketPrefix",),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("contentType", "cacheControl"),
}
"""The inputs the tree shows per resource type."""


class PlanUsageError(ValueError):
    """A malformed command line or stack file."""


def _namespaced(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _yaml_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    loaded: Any = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise PlanUsageError(f"{path.name}: expected a mapping at the top level")
    section: Any = loaded.get("config") or {}  # pyright: ignore[reportUnknownMemberType,reportUnknownVariableType]
    if not isinstance(section, dict):
        raise PlanUsageError(f"{path.name}: 'config' must be a mapping")
    return {str(k): v for k, v in section.items()}  # pyright: ignore[reportUnknownVariableType,reportUnknownArgumentType]


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return None  # {secure: ...}: encrypted with the stack's key, unreadable offline
    return str(value)


def _project_value(spec: Any) -> Any:
    """A Pulumi.yaml config entry's value: ``value`` (provider keys) or ``default`` (project keys)."""
    entry: dict[str, Any] = spec
    return entry.get("value", entry.get("default"))


def load_config(stack: str, overrides: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """The config a stack would run with: ``Pulumi.yaml`` defaults, ``Pulumi.<stack>.yaml``, then ``overrides``.
    Returns the namespaced config and the keys that are secret (placeholders for secrets offline)."""
    config: dict[str, str] = {}
    for key, spec in _yaml_config(REPO_ROOT / "Pulumi.yaml").items():
        value = _scalar(_project_value(spec)) if isinstance(spec, dict) else _scalar(spec)
        if value is not None:
            config[_namespaced(key)] = value
    for key, value in _yaml_config(REPO_ROOT / f"Pulumi.{stack}.yaml").items():
        scalar = _scalar(value)
        if scalar is not None:
            config[_namespaced(key)] = scalar
    _stand_in_site_builds(stack, config)
    config |= {_namespaced(k): v for k, v in (overrides or {}).items()}
    if stage_kind(stack) in ("production", "staging"):
        for key in CLOUDFLARE_ID_KEYS:
            config.setdefault(_namespaced(key), OFFLINE_CLOUDFLARE_ID)
    secret_keys: list[str] = []
    for name in secret_names():
        key = f"{PROJECT}:{secret_key(name)}"
        if key not in config and stage_kind(stack) in ("production", "staging"):
            config[key] = PLACEHOLDER_SECRET_VALUE
        if key in config:
            secret_keys.append(key)
    return config, secret_keys


SITE_STAND_IN = REPO_ROOT / "build" / "plan" / "site-stand-in"
"""The one-page build an offline plan of production or staging uses for a site whose build folder this clone
lacks (the frontends' builds come from their own repositories); ``--config reggie:<site>BuildDir=...`` plans
a real one, and a folder given that way is never replaced."""


def _stand_in_site_builds(stack: str, config: dict[str, str]) -> None:
    """Point production's and staging's missing site builds at :data:`SITE_STAND_IN`, as secrets get placeholders."""
    if stage_kind(stack) not in ("production", "staging"):
        return
    for site in discover_sites():
        key = f"{PROJECT}:{site_keys(site.name)[0]}"
        folder = Path(config.get(key) or "")
        if config.get(key) and ((folder if folder.is_absolute() else REPO_ROOT / folder) / "index.html").is_file():
            continue
        SITE_STAND_IN.mkdir(parents=True, exist_ok=True)
        (SITE_STAND_IN / "index.html").write_text("<!doctype html><title>offline plan stand-in</title>\n")
        config[key] = str(SITE_STAND_IN)


def run_plan(stack: str, config: Mapping[str, str] | None = None) -> list[PlannedResource]:
    """Run ``__main__.py`` for ``stack`` under mocks and return every declared resource (the stack first,
    then parents before children, siblings sorted). ``config`` overrides the stack files (``"key"`` or
    ``"reggie:key"``). Raises :class:`infra.config.StageConfigError` (and the registry's / components'
    argument errors) on bad input."""
    return record_plan(stack, config).resources


def record_plan(stack: str, config: Mapping[str, str] | None = None) -> Recording:
    """:func:`run_plan` plus each resource's options (retain on delete, ignore changes, dependencies)."""
    full, secret_keys = load_config(stack, config)

    def program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__pulumi_main__")

    recording = run_program(program, stack=stack, config=full, secret_keys=tuple(secret_keys), project=PROJECT)
    return Recording(tree_order(recording.resources), recording.options)


def tree_order(resources: Sequence[PlannedResource]) -> list[PlannedResource]:
    """Parents before children, siblings by type then name: registrations complete in whatever order the
    SDK's threads finish, and the plan's output must not change between identical runs."""
    children: dict[str | None, list[PlannedResource]] = {}
    for res in resources:
        children.setdefault(res.parent, []).append(res)
    ordered: list[PlannedResource] = []

    def walk(parent: str | None) -> None:
        for res in sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name)):
            ordered.append(res)
            walk(res.urn)

    walk(None)
    return ordered


def _setting(inputs: Mapping[str, Any], path: str) -> Any:
    node: Any = inputs
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]  # pyright: ignore[reportUnknownVariableType]
    return node  # pyright: ignore[reportUnknownVariableType]


def _integral(value: Any) -> Any:
    """The engine sends every number as a float; show 90.0 as 90."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        mapping: Mapping[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        return {k: _integral(v) for k, v in mapping.items()}
    if isinstance(value, list):
        items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return [_integral(v) for v in items]
    return value


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_integral(value), separators=(",", ":"), sort_keys=True)


def render_tree(resources: Sequence[PlannedResource]) -> str:
    """The resources as an indented tree (children under their parent) with each one's key settings."""
    children: dict[str | None, list[PlannedResource]] = {}
    for res in resources:
        children.setdefault(res.parent, []).append(res)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for res in sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name)):
            settings = [
                f"{key.rsplit('.', 1)[-1]}={_format_value(v)}"
                for key in KEY_SETTINGS.get(res.type, ())
                if (v := _setting(res.inputs, key)) is not None
            ]
            detail = f"  [{', '.join(settings)}]" if settings else ""
            lines.append(f"{'  ' * depth}{res.type.rsplit(':', 1)[-1]} {res.name}{detail}")
            walk(res.urn, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def render_report(violations: Sequence[Violation]) -> str:
    """The policy report: mandatory violations, then advisories, then a one-line summary."""
    mandatory = [v for v in violations if v.enforcement == "mandatory"]
    advisory = [v for v in violations if v.enforcement == "advisory"]
    lines = ["Policy report (infra/policy):"]
    for v in [*mandatory, *advisory]:
        lines.append(f"  {v.enforcement.upper():9} {v.rule}: {v.urn.rsplit('::', 1)[-1]}: {v.message}")
    lines.append(f"  {len(mandatory)} mandatory violation(s), {len(advisory)} advisory")
    return "\n".join(lines)


def _parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PlanUsageError(f"--config {pair!r}: use key=value, e.g. reggie:auroraMaxAcu=4")
        overrides[key] = value
    return overrides


def _parse_policy_config(pairs: Sequence[str]) -> dict[str, int]:
    parsed: dict[str, int] = {}
    for key, value in _parse_overrides(pairs).items():
        if key not in DEFAULT_CONFIG:
            raise PlanUsageError(f"--policy-config {key}: unknown; known: {', '.join(sorted(DEFAULT_CONFIG))}")
        try:
            parsed[key] = int(value)
        except ValueError:
            raise PlanUsageError(f"--policy-config {key}={value}: must be a whole number") from None
    return parsed


DIAGRAM_DIR = REPO_ROOT / "build" / "plan"
"""Where the diagram goes unless ``--diagram`` says otherwise: ``build/plan/<stack>.mmd``."""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The `python -m infra plan` command; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = argparse.ArgumentParser(prog="python -m infra plan", description="Offline plan of a stack under mocks")
    parser.add_argument("--stack", required=True, help="production, staging or a personal stack like dev-demo")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument(
        "--policy-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="policy configuration, e.g. productionMinBackupRetentionDays=30 (integers)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a `pulumi preview --json`-shaped document instead of the tree (reports go to stderr)",
    )
    parser.add_argument(
        "--diagram",
        type=Path,
        metavar="PATH",
        help="where to write the Mermaid architecture diagram (default build/plan/<stack>.mmd)",
    )
    args = parser.parse_args(argv)
    try:
        policy_config = _parse_policy_config(args.policy_config)
        overrides = _parse_overrides(args.config)
        resources = run_plan(args.stack, overrides)
    except (StageConfigError, ServiceSpecError, SiteSpecError, ComponentArgsError, PlanUsageError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    violations = evaluate(resources, policy_config)
    diagram_path: Path = args.diagram or DIAGRAM_DIR / f"{args.stack}.mmd"
    diagram_path.parent.mkdir(parents=True, exist_ok=True)
    diagram_path.write_text(diagram.render(resources, title=f"reggie {args.stack}"))
    if args.json:
        config, secret_keys = load_config(args.stack, overrides)
        print(preview_json.dumps(resources, config, secret_keys), end="", file=out)
        report_to = err
    else:
        custom = sum(1 for r in resources if r.custom)
        components = len(resources) - custom - 1  # the stack itself is not a component
        print(f"Stack {args.stack}: {custom} resources in {components} components", file=out)
        print(render_tree(resources), file=out)
        report_to = out
    print(cost.report(resources), file=report_to)
    print(f"Diagram (Mermaid): {_shown(diagram_path)}", file=report_to)
    print(render_report(violations), file=report_to)
    return 1 if any(v.enforcement == "mandatory" for v in violations) else 0


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (what a reader can click in CI logs)."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)
