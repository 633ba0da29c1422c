"""The whole program under mocks for production, staging and a personal stage: every row of the stage
matrix, the environment contract, least privilege, ordering, and the policy pack on all three."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

import pulumi
import pytest

from infra.config import load_stage
from infra.links import links_database, secrets_of
from infra.mocks import Recording, network_stack_outputs, run_program
from infra.plan import record_plan
from infra.planned import PlannedResource
from infra.policy.rules import UNSCOPED_ACTIONS, evaluate
from infra.registry import REPO_ROOT, discover
from infra.release import package_paths, package_version
from infra.wiring import build_platform
from services.api.deploy import SPEC as API_SPEC

API_SECRETS = [secret.name for secret in secrets_of(API_SPEC) if secret.granted]

STACKS = ("production", "staging", "dev-demo")


@pytest.fixture(scope="module")
def plans() -> dict[str, Recording]:
    return {stack: record_plan(stack) for stack in STACKS}


def _of(res: Sequence[PlannedResource], type_token: str) -> list[PlannedResource]:
    return [r for r in res if r.type == type_token]


def _service_functions(res: Sequence[PlannedResource]) -> list[PlannedResource]:
    """The functions of the services (tagged with their service), not a site's invalidator."""
    return [f for f in _of(res, "aws:lambda/function:Function") if "service" in f.inputs.get("tags", {})]


def _one(res: Sequence[PlannedResource], type_token: str, name: str | None = None) -> PlannedResource:
    found = [r for r in _of(res, type_token) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


MATRIX = {
    # stack: (min ACU, max ACU, backup days, protected, retained, NATs (self-healing groups), log days, API domain)
    "production": (0.5, 4, 14, True, True, 2, 90, "api.reggie.co.uk"),
    "staging": (0.5, 2, 7, True, False, 2, 30, "staging-api.reggie.co.uk"),
    "dev-demo": (0, 2, 1, False, False, 0, 7, None),  # the shared network's NAT (see the network tests)
}
DAY_TWO = {
    # stack: (failover reader, alarms with an email subscription, a dashboard)
    "production": (True, True, True),
    "staging": (False, True, True),
    "dev-demo": (False, False, False),
}


@pytest.mark.parametrize("stack", STACKS)
def test_stage_matrix_row(plans: dict[str, Recording], stack: str) -> None:
    min_acu, max_acu, backup, protected, retained, nats, log_days, domain = MATRIX[stack]
    rec = plans[stack]
    res = rec.resources
    cluster = _one(res, "aws:rds/cluster:Cluster")
    scaling = cluster.inputs["serverlessv2ScalingConfiguration"]
    assert (scaling["minCapacity"], scaling["maxCapacity"]) == (min_acu, max_acu)
    assert ("secondsUntilAutoPause" in scaling) is (min_acu == 0)
    assert cluster.inputs["backupRetentionPeriod"] == backup
    assert cluster.inputs["deletionProtection"] is protected
    assert cluster.inputs["skipFinalSnapshot"] is (not protected)
    assert ("finalSnapshotIdentifier" in cluster.inputs) is protected
    assert cluster.inputs["clusterIdentifier"] == f"reggie-{stack}-db"
    bucket = _one(res, "cloudflare:index/r2Bucket:R2Bucket")
    assert rec.options[cluster.urn].retain_on_delete is retained
    assert rec.options[bucket.urn].retain_on_delete is retained
    assert bucket.inputs["jurisdiction"] == "eu"

    groups_of_one = _of(res, "aws:autoscaling/group:Group")
    assert len(groups_of_one) == nats
    assert all(g.inputs["desiredCapacity"] == 1 for g in groups_of_one)
    assert _of(res, "aws:ec2/instance:Instance") == []  # every NAT of these stages heals itself
    templates = _of(res, "aws:ec2/launchTemplate:LaunchTemplate")
    assert all(t.inputs["instanceType"] == "t4g.nano" for t in templates)
    assert len(_of(res, "aws:ec2/eip:Eip")) == nats

    groups = _of(res, "aws:cloudwatch/logGroup:LogGroup")
    assert groups
    assert {g.inputs["retentionInDays"] for g in groups} == {log_days}

    domains = _of(res, "aws:apigatewayv2/domainName:DomainName")
    api = _one(res, "aws:apigatewayv2/api:Api")
    if domain is None:
        assert domains == []
        assert _of(res, "cloudflare:index/dnsRecord:DnsRecord") == []
        assert api.inputs["disableExecuteApiEndpoint"] is False
    else:
        assert [d.inputs["domainName"] for d in domains] == [domain]
        assert api.inputs["disableExecuteApiEndpoint"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_day_two_rows_of_the_matrix(plans: dict[str, Recording], stack: str) -> None:
    reader, alarms, dashboard = DAY_TWO[stack]
    res = plans[stack].resources
    instances = {i.name: i.inputs for i in _of(res, "aws:rds/clusterInstance:ClusterInstance")}
    assert set(instances) == ({"database-writer", "database-reader"} if reader else {"database-writer"})
    if reader:
        assert instances["database-reader"]["promotionTier"] == 1
        # the mocks place the writer where AWS may (the first AZ); the reader goes to the other one
        assert instances["database-reader"]["availabilityZone"] == "eu-west-2b"
        assert instances["database-reader"]["instanceClass"] == "db.serverless"
    assert bool(_of(res, "aws:cloudwatch/metricAlarm:MetricAlarm")) is alarms
    subscriptions = _of(res, "aws:sns/topicSubscription:TopicSubscription")
    assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions] == (
        [("email", "ops@reggie.co.uk")] if alarms else []
    )
    assert bool(_of(res, "aws:cloudwatch/dashboard:Dashboard")) is dashboard


def test_personal_stage_retains_and_protects_nothing(plans: dict[str, Recording]) -> None:
    rec = plans["dev-demo"]
    assert not [urn for urn, o in rec.options.items() if o.retain_on_delete or o.protect]
    cluster = _one(rec.resources, "aws:rds/cluster:Cluster")
    assert cluster.inputs["serverlessv2ScalingConfiguration"]["secondsUntilAutoPause"] > 0


def test_personal_stage_may_opt_into_its_own_api_domain() -> None:
    res = record_plan("dev-demo", {"personalApiDomain": "true"}).resources
    assert _one(res, "aws:apigatewayv2/domainName:DomainName").inputs["domainName"] == "dev-demo-api.reggie.co.uk"


@pytest.mark.parametrize("stack", STACKS)
def test_all_three_stacks_pass_the_policy_pack(plans: dict[str, Recording], stack: str) -> None:
    mandatory = [v for v in evaluate(plans[stack].resources) if v.enforcement == "mandatory"]
    assert mandatory == []


def test_api_environment_follows_the_contract_and_holds_no_secret_values(plans: dict[str, Recording]) -> None:
    res = plans["production"].resources
    functions = {f.inputs["name"]: f for f in _of(res, "aws:lambda/function:Function")}
    assert set(functions) >= {"reggie-production-api", "reggie-production-valuation", "reggie-production-migrator"}
    env = functions["reggie-production-api"].inputs["environment"]["variables"]
    assert env["STAGE"] == "production"
    assert env["SERVICE_NAME"] == "api"
    assert env["DB_HOST"].startswith("reggie-production-db.cluster-")
    assert env["DB_PORT"] == "5432"
    assert env["DB_NAME"] == "reggie"
    assert env["DB_USER"] == "reggie_api"  # its own role, with IAM tokens: no database secret
    assert "DB_SECRET_ARN" not in env
    migrator_env = functions["reggie-production-migrator"].inputs["environment"]["variables"]
    assert migrator_env["DB_SECRET_ARN"].startswith("arn:aws:secretsmanager:")  # the master user: the migrator only
    assert env["BUCKET_NAME"] == "reggie-production-documents"
    assert env["BUCKET_ENDPOINT"].endswith(".eu.r2.cloudflarestorage.com")
    assert env["VALUATION_FUNCTION_NAME"] == "reggie-production-valuation"
    assert env["STRIPE_SECRET_KEY_PARAMETER"] == "/reggie/production/stripe_secret_key"
    assert env["ALLOWED_ORIGINS"] == "https://reggie.co.uk,https://admin.reggie.co.uk"
    assert env["CLERK_JWKS_URL"] == "https://clerk.reggie.co.uk/.well-known/jwks.json"
    # Changing a secret changes the configuration, so environments that read the old value are replaced.
    assert env["SECRETS_VERSION"].split(",") == sorted(f"{name}:1" for name in API_SECRETS)
    valuation_env = functions["reggie-production-valuation"].inputs["environment"]["variables"]
    assert valuation_env["DB_HOST"] == env["DB_HOST"]  # comparable past sales from the writer
    assert "SECRETS_VERSION" not in valuation_env
    assert "CLERK_ISSUER" not in valuation_env
    secret_values = {p.inputs["value"] for p in _of(res, "aws:ssm/parameter:Parameter")}
    for function in functions.values():
        assert not secret_values & set(function.inputs.get("environment", {}).get("variables", {}).values())


def test_every_function_carries_the_version_and_the_commit_of_its_own_package(plans: dict[str, Recording]) -> None:
    assert package_version() == "0.1.0"  # pyproject.toml's
    specs = {spec.name: spec for spec in discover()}
    for function in _service_functions(plans["production"].resources):
        spec = specs[function.inputs["name"].removeprefix("reggie-production-")]
        env = function.inputs["environment"]["variables"]
        newest = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%H", "--", *package_paths(spec)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert env["APP_VERSION"] == "0.1.0"
        assert env["GIT_COMMIT"].removesuffix("-dirty") == newest, spec.name


def _policy_documents(value: object) -> list[dict[str, Any]]:
    """Every policy document among ``value``'s inputs, however deep (a role's inline policy, a bucket's policy,
    a role's trust policy...): any JSON string holding a ``Statement``."""
    if isinstance(value, str) and '"Statement"' in value:
        try:
            document = json.loads(value)
        except ValueError:
            return []
        return [document] if isinstance(document, dict) else []
    if isinstance(value, dict):
        return [d for v in value.values() for d in _policy_documents(v)]
    if isinstance(value, list):
        return [d for v in value for d in _policy_documents(v)]
    return []


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


@pytest.mark.parametrize("stack", STACKS)
def test_no_statement_grants_on_every_resource_but_what_aws_requires(plans: dict[str, Recording], stack: str) -> None:
    """Across the whole plan: ``Resource: "*"`` only for the allow-listed actions, each with its reason; no wildcard
    or negated action; no managed policy attached in any way."""
    unscoped: set[str] = set()
    documents = 0
    for resource in plans[stack].resources:
        for document in _policy_documents(dict(resource.inputs)):
            documents += 1
            for statement in _as_list(document["Statement"]):
                assert isinstance(statement, dict)
                if statement["Effect"] != "Allow":
                    continue  # a Deny (TLS only, on every bucket) may be as broad as it likes
                assert "NotAction" not in statement, resource.name
                assert "NotResource" not in statement, resource.name
                actions = [str(a) for a in _as_list(statement.get("Action", []))]
                assert not [a for a in actions if "*" in a], (resource.name, actions)
                if "*" in _as_list(statement.get("Resource", [])):
                    assert set(actions) <= set(UNSCOPED_ACTIONS), (resource.name, actions)
                    unscoped.update(actions)
        assert "managedPolicyArns" not in resource.inputs, resource.name
    assert documents > 20
    assert _of(plans[stack].resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    # What is left on "*": X-Ray's writes and EC2's describes (every traced / VPC function), and in a stage with
    # its own NAT instances the Session Manager agent's calls.
    expected = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
    }
    if _of(plans[stack].resources, "aws:ec2/launchTemplate:LaunchTemplate"):
        expected |= {a for a in UNSCOPED_ACTIONS if a.startswith(("ssm:", "ssmmessages:"))}
    assert unscoped == expected
    violations = {v.rule for v in evaluate(plans[stack].resources)}
    assert not violations & {"iam-scoped-resources", "iam-no-managed-policies", "lambda-egress-scoped"}


def test_iam_is_least_privilege(plans: dict[str, Recording]) -> None:
    res = plans["production"].resources
    api_grants = {p.name for p in _of(res, "aws:iam/rolePolicy:RolePolicy") if p.name.startswith("api-")}
    assert api_grants == {
        "api-logs", "api-xray", "api-vpc", "api-grant-db-connect", "api-grant-invoke-valuation", "api-grant-secrets"
    }  # fmt: skip
    valuation = {p.name for p in _of(res, "aws:iam/rolePolicy:RolePolicy") if p.name.startswith("valuation-")}
    assert valuation == {"valuation-logs", "valuation-xray", "valuation-vpc", "valuation-grant-db-connect"}
    readers = {p.name for p in _of(res, "aws:iam/rolePolicy:RolePolicy") if "secretsmanager:" in p.inputs["policy"]}
    assert readers == {"migrator-grant-db-secret"}  # only the migrator reads the master secret
    statements = {
        st["Sid"]: st
        for st in json.loads(_one(res, "aws:iam/rolePolicy:RolePolicy", "api-vpc").inputs["policy"])["Statement"]
    }
    subnets = {
        f"arn:aws:ec2:eu-west-2:123456789012:subnet/{s}" for s in ("network-private-0-id", "network-private-1-id")
    }
    assert subnets < set(statements["CreateInterfaces"]["Resource"])  # only the stage's private subnets


@pytest.mark.parametrize("stack", STACKS)
def test_functions_let_out_https_and_postgresql_to_the_database_only(plans: dict[str, Recording], stack: str) -> None:
    res = plans[stack].resources
    database_group = _one(res, "aws:ec2/securityGroup:SecurityGroup", "database-sg")
    db_id = "database-sg-id"
    assert database_group.name == "database-sg"
    egress: dict[str, set[tuple[object, ...]]] = {}
    for rule in _of(res, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
        i = rule.inputs
        if i["securityGroupId"].endswith("-sg-id") and not i["securityGroupId"].startswith("network-"):
            to = i.get("cidrIpv4") or i.get("referencedSecurityGroupId")
            egress.setdefault(i["securityGroupId"], set()).add((i["ipProtocol"], i["fromPort"], i["toPort"], to))
    specs = {spec.name: spec for spec in discover() if spec.vpc}
    assert set(egress) == {f"{name}-sg-id" for name in specs}
    for name, spec in specs.items():
        expected: set[tuple[object, ...]] = {("tcp", 443, 443, "0.0.0.0/0")}
        if links_database(spec):  # its own role or, for the migrator, the master secret
            expected.add(("tcp", 5432, 5432, db_id))
        assert egress[f"{name}-sg-id"] == expected, name


def test_database_admits_only_its_clients(plans: dict[str, Recording]) -> None:
    res = plans["production"].resources
    rules = [
        r
        for r in _of(res, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith("database-")
    ]
    clients = {f"database-in-{spec.name}" for spec in discover() if links_database(spec)}
    assert {"database-in-api", "database-in-migrator"} <= clients
    assert {r.name for r in rules} == clients
    assert all(r.inputs["fromPort"] == 5432 and "referencedSecurityGroupId" in r.inputs for r in rules)


def test_migrator_runs_on_deploy_before_the_api_changes(plans: dict[str, Recording]) -> None:
    rec = plans["production"]
    invocation = _one(rec.resources, "aws:lambda/invocation:Invocation", "migrator-run")
    assert invocation.inputs["functionName"] == "reggie-production-migrator"
    api_function = _one(rec.resources, "aws:lambda/function:Function", "api-function")
    assert invocation.urn in rec.options[api_function.urn].dependencies  # the Lambda itself waits


def test_images_are_built_for_the_function_architecture(plans: dict[str, Recording]) -> None:
    res = plans["production"].resources
    images = {i.name: i.inputs["build"]["platform"] for i in _of(res, "docker:index/image:Image")}
    assert images["valuation-image"] == "linux/arm64"
    assert images["migrator-image"] == "linux/amd64"
    functions = {f.name: f.inputs for f in _of(res, "aws:lambda/function:Function")}
    assert functions["migrator-function"]["architectures"] == ["x86_64"]
    assert "@sha256:" in functions["valuation-function"]["imageUri"]


def test_every_provider_resource_sits_under_a_component(plans: dict[str, Recording]) -> None:
    res = plans["staging"].resources
    stack = res[0]
    assert stack.type == "pulumi:pulumi:Stack"
    assert all(r.parent != stack.urn for r in res if r.custom)


def test_platform_outputs() -> None:
    class Config:
        def get(self, key: str) -> str | None:
            return None

        def get_secret(self, key: str) -> pulumi.Output[str] | None:
            return None

    seen: dict[str, object] = {}

    def program() -> None:
        platform = build_platform(load_stage(Config(), stack="dev-demo", aws_region="eu-west-2"))
        assert platform.api_url is not None
        seen["release"] = (platform.release.version, sorted(platform.release.commits))
        platform.api_url.apply(lambda v: seen.__setitem__("api", v))
        platform.bucket_name.apply(lambda v: seen.__setitem__("bucket", v))
        platform.database_endpoint.apply(lambda v: seen.__setitem__("db", v))
        platform.vpc_cidr.apply(lambda v: seen.__setitem__("cidr", v))
        platform.private_subnet_ids.apply(lambda v: seen.__setitem__("subnets", v))
        pulumi.Output.all(*platform.function_names.values()).apply(lambda v: seen.__setitem__("fns", sorted(v)))

    run_program(program, stack="dev-demo")
    assert str(seen["api"]).startswith("https://")
    assert seen["bucket"] == "reggie-dev-demo-documents"
    assert str(seen["db"]).startswith("reggie-dev-demo-db.cluster-")
    assert "reggie-dev-demo-api" in seen["fns"]  # type: ignore[operator]
    assert seen["cidr"] == "10.0.0.0/16"
    assert seen["subnets"] == network_stack_outputs("dev-network")["privateSubnetIds"]  # the shared network
    assert seen["release"] == ("0.1.0", sorted(spec.name for spec in discover()))  # exported as `release`


def test_scheduled_services_get_a_rule_target_and_scoped_permission(plans: dict[str, Recording]) -> None:
    res = plans["production"].resources
    scheduled = {s.name: s.schedule for s in discover() if s.schedule}
    ours = {f.urn for f in res if f.type == "reggie:components:Function"}  # not the alarms' health probe
    rules = {
        r.name.removesuffix("-schedule"): r.inputs
        for r in _of(res, "aws:cloudwatch/eventRule:EventRule")
        if r.parent in ours
    }
    assert {name: r["scheduleExpression"] for name, r in rules.items()} == scheduled
    permissions = [
        p
        for p in _of(res, "aws:lambda/permission:Permission")
        if p.inputs["principal"] == "events.amazonaws.com" and p.parent in ours
    ]
    assert len(permissions) == len(scheduled)
    assert all(p.inputs["sourceArn"].startswith("arn:aws:") for p in permissions)
    assert len([t for t in _of(res, "aws:cloudwatch/eventTarget:EventTarget") if t.parent in ours]) == len(scheduled)


@pytest.mark.parametrize(("stack", "snap_start"), [("production", True), ("staging", True), ("dev-demo", False)])
def test_the_api_resumes_from_a_snapstart_snapshot_in_shared_stages(
    plans: dict[str, Recording], stack: str, snap_start: bool
) -> None:
    res = plans[stack].resources
    functions = {f.name: f.inputs for f in _of(res, "aws:lambda/function:Function")}
    assert ("snapStart" in functions["api-function"]) is snap_start
    # Only the routed zip function: the image (valuation, migrator) and the weekly scraper never get it.
    assert [name for name, i in functions.items() if "snapStart" in i] == (["api-function"] if snap_start else [])
    integration = _one(res, "aws:apigatewayv2/integration:Integration").inputs["integrationUri"]
    permission = _one(res, "aws:lambda/permission:Permission", "api-api-invoke").inputs
    if snap_start:
        alias = _one(res, "aws:lambda/alias:Alias", "api-live").inputs
        assert alias["functionName"] == f"reggie-{stack}-api"
        assert integration == f"arn:aws:lambda:eu-west-2:123456789012:function:reggie-{stack}-api:live"
        assert permission["qualifier"] == "live"
    else:
        assert _of(res, "aws:lambda/alias:Alias") == []
        assert integration == f"arn:aws:lambda:eu-west-2:123456789012:function:reggie-{stack}-api"
        assert "qualifier" not in permission


def test_snapstart_is_a_stage_setting() -> None:
    production = record_plan("production", {"snapStart": "false"}).resources
    assert _of(production, "aws:lambda/alias:Alias") == []
    personal = record_plan("dev-demo", {"snapStart": "true"}).resources
    assert _one(personal, "aws:lambda/alias:Alias").inputs["name"] == "live"
