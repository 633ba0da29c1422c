"""Every policy rule with a passing and a failing case, offline and through pulumi_policy's own classes;
provider defaults for absent properties; unknown values never crash or count as violations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from infra.planned import PlannedResource
from infra.policy import rules
from infra.policy.rules import RULES, evaluate, policies

GOOD_CLUSTER = {
    "storageEncrypted": True,
    "kmsKeyId": "arn:aws:kms:eu-west-2:1:key/k",
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "final",
    "copyTagsToSnapshot": True,
    "manageMasterUserPassword": True,
}

RATE_LIMIT_RULE = {
    "ref": "api",
    "action": "block",
    "expression": 'http.host eq "api.reggie.co.uk"',
    "ratelimit": {"characteristics": ["cf.colo.id", "ip.src"], "period": 60, "requestsPerPeriod": 600},
}

# rule: (resource type, passing props, failing props, stack)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any], str]] = {
    "aurora-encrypted-customer-key": (
        rules.CLUSTER,
        GOOD_CLUSTER,
        {**GOOD_CLUSTER, "kmsKeyId": None} | {"storageEncrypted": False},
        "production",
    ),
    "aurora-backup-retention": (
        rules.CLUSTER,
        GOOD_CLUSTER,
        {**GOOD_CLUSTER, "backupRetentionPeriod": 7},
        "production",
    ),
    "aurora-deletion-protection": (
        rules.CLUSTER,
        GOOD_CLUSTER,
        {**GOOD_CLUSTER, "deletionProtection": False},
        "staging",
    ),
    "aurora-copy-tags-to-snapshot": (
        rules.CLUSTER,
        GOOD_CLUSTER,
        {k: v for k, v in GOOD_CLUSTER.items() if k != "copyTagsToSnapshot"},
        "staging",
    ),
    "rds-not-publicly-accessible": (
        rules.CLUSTER_INSTANCE,
        {"publiclyAccessible": False},
        {"publiclyAccessible": True},
        "staging",
    ),
    "rds-managed-master-password": (
        rules.CLUSTER,
        GOOD_CLUSTER,
        {**GOOD_CLUSTER, "manageMasterUserPassword": False, "masterPassword": "hunter2"},
        "staging",
    ),
    "kms-key-rotation": (rules.KMS_KEY, {"enableKeyRotation": True}, {}, "staging"),
    "ec2-imdsv2-required": (
        rules.EC2_INSTANCE,
        {"metadataOptions": {"httpTokens": "required"}},
        {"metadataOptions": {}},
        "staging",
    ),
    "ec2-encrypted-volumes": (
        rules.EC2_INSTANCE,
        {"rootBlockDevice": {"encrypted": True}},
        {"rootBlockDevice": {"volumeType": "gp3"}},
        "staging",
    ),
    "api-stage-access-logging": (
        rules.API_V2_STAGE,
        {"accessLogSettings": {"destinationArn": "arn:x", "format": "{}"}},
        {"name": "$default"},
        "staging",
    ),
    "lambda-permission-source-arn": (
        rules.LAMBDA_PERMISSION,
        {"principal": "apigateway.amazonaws.com", "sourceArn": "arn:x/*/*"},
        {"principal": "apigateway.amazonaws.com"},
        "staging",
    ),
    "log-group-retention": (rules.LOG_GROUP, {"retentionInDays": 7}, {"name": "/aws/lambda/x"}, "staging"),
    "lambda-in-vpc": (rules.LAMBDA_FUNCTION, {"vpcConfig": {"subnetIds": ["s"]}}, {}, "staging"),
    "lambda-tracing": (rules.LAMBDA_FUNCTION, {"tracingConfig": {"mode": "Active"}}, {}, "staging"),
    "ecr-scan-on-push": (rules.ECR_REPOSITORY, {"imageScanningConfiguration": {"scanOnPush": True}}, {}, "staging"),
    "ecr-immutable-tags": (rules.ECR_REPOSITORY, {"imageTagMutability": "IMMUTABLE"}, {}, "staging"),
    "alarm-has-action": (
        rules.METRIC_ALARM,
        {"alarmActions": ["arn:aws:sns:eu-west-2:1:reggie-production-alarms"], "okActions": ["arn:x"]},
        {"alarmActions": [], "okActions": ["arn:aws:sns:eu-west-2:1:reggie-production-alarms"]},
        "production",
    ),
    "launch-template-encrypted-volumes": (
        rules.LAUNCH_TEMPLATE,
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 8}}]},
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 8}}]},
        "staging",
    ),
    "s3-no-public-grants": (
        rules.S3_BUCKET_POLICY,
        {
            "policy": '{"Statement": [{"Sid": "Oac", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", '
            '"Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}}]}'
        },
        {"policy": '{"Statement": [{"Sid": "Web", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*"}]}'},
        "staging",
    ),
    "cloudfront-origin-access-control": (
        rules.DISTRIBUTION,
        {"origins": [{"originId": "s3", "domainName": "b.s3.eu-west-2.amazonaws.com", "originAccessControlId": "o"}]},
        {"origins": [{"originId": "s3", "domainName": "b.s3.eu-west-2.amazonaws.com", "s3OriginConfig": {}}]},
        "staging",
    ),
    "cloudfront-tls-minimum": (
        rules.DISTRIBUTION,
        {
            "viewerCertificate": {"acmCertificateArn": "arn:c", "minimumProtocolVersion": "TLSv1.2_2021"},
            "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https"},
        },
        {
            "viewerCertificate": {"acmCertificateArn": "arn:c", "minimumProtocolVersion": "TLSv1.1_2016"},
            "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https"},
        },
        "staging",
    ),
    "iam-scoped-resources": (
        rules.ROLE_POLICY,
        {
            "policy": '{"Statement": [{"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}, '
            '{"Effect": "Allow", "Action": ["ec2:DeleteNetworkInterface"], '
            '"Resource": ["arn:aws:ec2:eu-west-2:1:network-interface/*"]}]}'
        },
        {
            "policy": '{"Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeSubnets", '
            '"ec2:DeleteNetworkInterface"], "Resource": "*"}]}'
        },
        "staging",
    ),
    "iam-no-managed-policies": (
        rules.ROLE_POLICY_ATTACHMENT,
        {"role": "r"},
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"},
        "staging",
    ),
    "api-stage-throttled": (
        rules.API_V2_STAGE,
        {
            "defaultRouteSettings": {"throttlingRateLimit": 100, "throttlingBurstLimit": 200},
            "routeSettings": [{"routeKey": "POST /hook", "throttlingRateLimit": 5, "throttlingBurstLimit": 10}],
        },
        {
            "defaultRouteSettings": {"throttlingRateLimit": 100, "throttlingBurstLimit": 200},
            # a route setting replaces the default for its route: without limits the route is unthrottled
            "routeSettings": [{"routeKey": "POST /hook", "detailedMetricsEnabled": True}],
        },
        "production",
    ),
    "ratelimit-per-client": (
        rules.RULESET,
        {"phase": "http_ratelimit", "rules": [RATE_LIMIT_RULE]},
        {"phase": "http_ratelimit", "rules": [RATE_LIMIT_RULE | {"ratelimit": {"characteristics": ["cf.colo.id"]}}]},
        "production",
    ),
}
SITE_STACK_RULES = {"s3-bucket-not-public", "cloudfront-access-logging"}
"""Stack rules of the sites, tested below with their passing and failing sets of resources."""

PUBLIC_INGRESS = {
    "inline security group": (
        rules.SECURITY_GROUP,
        {"ingress": [{"fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]},
    ),
    "security group rule": (rules.SECURITY_GROUP_RULE, {"type": "ingress", "ipv6CidrBlocks": ["::/0"]}),
    "vpc ingress rule": (rules.INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp"}),
}


def _res(type_token: str, props: dict[str, Any], stack: str = "staging", name: str = "r") -> PlannedResource:
    urn = f"urn:pulumi:{stack}::reggie::{type_token}::{name}"
    return PlannedResource(urn, type_token, name, props, f"urn:pulumi:{stack}::reggie::pulumi:pulumi:Stack::s", True)


def _offline(rule: str, type_token: str, props: dict[str, Any], stack: str) -> list[str]:
    return [v.message for v in evaluate([_res(type_token, props, stack)]) if v.rule == rule]


def _engine(rule: str, type_token: str, props: dict[str, Any], stack: str) -> list[str]:
    (policy,) = [p for p in policies() if p.name == rule]
    assert isinstance(policy, ResourceValidationPolicy)
    reported: list[str] = []
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )
    urn = f"urn:pulumi:{stack}::reggie::{type_token}::r"
    args = ResourceValidationArgs(type_token, props, urn, "r", options, None, {"minBackupRetentionDays": 7})
    policy.validate(args, lambda message, urn=None: reported.append(message))
    return reported


def test_every_rule_has_a_case() -> None:
    stack_rules = {
        "no-public-ingress", "vpc-flow-logs", "shared-stages-alarmed", "lambda-reserved-concurrency",
        "lambda-egress-scoped",
    }  # fmt: skip
    assert set(CASES) | stack_rules | SITE_STACK_RULES == {r.name for r in RULES}


@pytest.mark.parametrize("check", [_offline, _engine], ids=["offline", "pulumi_policy"])
@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_and_fails(rule: str, check: Any) -> None:
    type_token, good, bad, stack = CASES[rule]
    assert check(rule, type_token, good, stack) == []
    assert check(rule, type_token, bad, stack) != []


@pytest.mark.parametrize("way", sorted(PUBLIC_INGRESS))
def test_public_ingress_is_caught_all_three_ways(way: str) -> None:
    type_token, props = PUBLIC_INGRESS[way]
    assert _offline("no-public-ingress", type_token, props, "staging")
    assert _engine("no-public-ingress", type_token, props, "staging")
    private = {k: (["10.0.0.0/16"] if isinstance(v, list) and k.endswith("Blocks") else v) for k, v in props.items()}
    if type_token == rules.SECURITY_GROUP:
        private = {"ingress": [{"fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/16"]}]}
    if type_token == rules.INGRESS_RULE:
        private = {"referencedSecurityGroupId": "sg-1", "ipProtocol": "tcp"}
    assert _offline("no-public-ingress", type_token, private, "staging") == []


def test_stage_aware_rules() -> None:
    personal = {**GOOD_CLUSTER, "deletionProtection": False, "skipFinalSnapshot": True, "backupRetentionPeriod": 1}
    assert _offline("aurora-deletion-protection", rules.CLUSTER, personal, "dev-demo") == []
    assert _offline("aurora-backup-retention", rules.CLUSTER, personal, "dev-demo") == []
    assert (
        _offline("aurora-backup-retention", rules.CLUSTER, {**GOOD_CLUSTER, "backupRetentionPeriod": 10}, "staging")
        == []
    )
    assert _offline(
        "aurora-backup-retention", rules.CLUSTER, {**GOOD_CLUSTER, "backupRetentionPeriod": 10}, "production"
    )
    assert _offline("aurora-deletion-protection", rules.CLUSTER, personal, "production")


def test_provider_defaults_apply_to_absent_properties() -> None:
    # An empty cluster gets the provider defaults: unencrypted, 1-day backups, unprotected, no tag copy.
    found = {v.rule for v in evaluate([_res(rules.CLUSTER, {}, "production")])}
    assert {
        "aurora-encrypted-customer-key",
        "aurora-backup-retention",
        "aurora-deletion-protection",
        "aurora-copy-tags-to-snapshot",
        "rds-managed-master-password",
    } <= found


def test_unknown_values_are_not_judged() -> None:
    unknown = dict.fromkeys(GOOD_CLUSTER, None)
    assert evaluate([_res(rules.CLUSTER, unknown, "production")]) == []
    nested_unknown = {"metadataOptions": {"httpTokens": None}, "rootBlockDevice": {"encrypted": None}}
    assert evaluate([_res(rules.EC2_INSTANCE, nested_unknown)]) == []
    assert evaluate([_res(rules.EC2_INSTANCE, {"metadataOptions": None, "rootBlockDevice": None})]) == []
    assert evaluate([_res(rules.INGRESS_RULE, {"cidrIpv4": None})]) == []
    assert evaluate([_res(rules.LAMBDA_PERMISSION, {"principal": None})]) == []


def test_flow_log_stack_rule_offline_and_in_the_engine() -> None:
    vpc = _res(rules.VPC, {"cidrBlock": "10.0.0.0/16"}, name="vpc")
    flow = _res(rules.FLOW_LOG, {"vpcId": "vpc-1"}, name="flow")
    assert [v.rule for v in evaluate([vpc])] == ["vpc-flow-logs"]
    assert evaluate([vpc, flow]) == []
    (policy,) = [p for p in policies() if p.name == "vpc-flow-logs"]
    assert isinstance(policy, StackValidationPolicy)
    check = next(r.stack_check for r in RULES if r.name == "vpc-flow-logs")
    assert check is not None
    assert list(check([(rules.VPC, {})], rules.Context("staging", rules.DEFAULT_CONFIG))) == [
        "1 VPC(s) without flow logs"
    ]


FULL_BLOCK = dict.fromkeys(rules.BLOCK_FLAGS, True)


@pytest.mark.parametrize(
    ("resources", "violations"),
    [
        ([(rules.S3_BUCKET, {}), (rules.S3_PUBLIC_ACCESS_BLOCK, FULL_BLOCK)], []),
        ([(rules.S3_BUCKET, {})], ["1 bucket(s) without a public access block blocking all four ways"]),
        (  # absent flags default to off
            [(rules.S3_BUCKET, {}), (rules.S3_PUBLIC_ACCESS_BLOCK, {"blockPublicAcls": True})],
            ["1 bucket(s) without a public access block blocking all four ways"],
        ),
        (  # names known (the engine's view of existing buckets): matched by name, not by count
            [
                (rules.S3_BUCKET, {"bucket": "site"}),
                (rules.S3_BUCKET, {"bucket": "logs"}),
                (rules.S3_PUBLIC_ACCESS_BLOCK, {**FULL_BLOCK, "bucket": "site"}),
                (rules.S3_PUBLIC_ACCESS_BLOCK, {**FULL_BLOCK, "bucket": "other"}),
            ],
            ["bucket(s) logs have no full public access block"],
        ),
        ([(rules.S3_BUCKET, {}), (rules.S3_PUBLIC_ACCESS_BLOCK, {**FULL_BLOCK, "blockPublicPolicy": None})], []),
    ],
)
def test_every_bucket_blocks_public_access(resources: list[tuple[str, dict[str, Any]]], violations: list[str]) -> None:
    found = evaluate([_res(t, props, name=f"r{i}") for i, (t, props) in enumerate(resources)])
    assert [v.message for v in found if v.rule == "s3-bucket-not-public"] == violations


@pytest.mark.parametrize(
    ("resources", "missing"),
    [
        ([(rules.DISTRIBUTION, {"loggingConfig": {"bucket": "logs.s3.amazonaws.com"}})], 0),
        (
            [
                (rules.DISTRIBUTION, {}),
                (rules.LOG_DELIVERY_SOURCE, {"name": "web", "logType": "ACCESS_LOGS", "resourceArn": None}),
                (rules.LOG_DELIVERY, {"deliverySourceName": "web", "deliveryDestinationArn": None}),
            ],
            0,
        ),
        ([(rules.DISTRIBUTION, {})], 1),
        (  # a source nobody delivers logs nothing
            [(rules.DISTRIBUTION, {}), (rules.LOG_DELIVERY_SOURCE, {"name": "web", "logType": "ACCESS_LOGS"})],
            1,
        ),
        (
            [
                (rules.DISTRIBUTION, {}),
                (rules.DISTRIBUTION, {}),
                (rules.LOG_DELIVERY_SOURCE, {"name": "web", "logType": "ACCESS_LOGS"}),
                (rules.LOG_DELIVERY, {"deliverySourceName": "web"}),
            ],
            1,
        ),
    ],
)
def test_every_distribution_writes_access_logs(resources: list[tuple[str, dict[str, Any]]], missing: int) -> None:
    found = evaluate([_res(t, props, name=f"r{i}") for i, (t, props) in enumerate(resources)])
    messages = [v.message for v in found if v.rule == "cloudfront-access-logging"]
    assert messages == (
        [f"{missing} distribution(s) without access logs (loggingConfig, or a delivered ACCESS_LOGS source)"]
        if missing
        else []
    )


def test_site_rules_catch_each_way_of_going_wrong() -> None:
    def messages(rule: str, type_token: str, props: dict[str, Any]) -> list[str]:
        return _offline(rule, type_token, props, "production")

    assert messages("s3-no-public-grants", rules.S3_BUCKET, {"acl": "public-read"})
    assert messages("s3-no-public-grants", rules.S3_BUCKET_ACL, {"acl": "private"}) == []
    deny_all = '{"Statement": [{"Sid": "Tls", "Effect": "Deny", "Principal": "*", "Action": "s3:*"}]}'
    assert messages("s3-no-public-grants", rules.S3_BUCKET_POLICY, {"policy": deny_all}) == []
    legacy = {"origins": [{"originId": "s3", "s3OriginConfig": {"originAccessIdentity": "origin-access-identity/x"}}]}
    assert (
        "legacy origin access identity" in messages("cloudfront-origin-access-control", rules.DISTRIBUTION, legacy)[0]
    )
    custom = {"origins": [{"originId": "api", "customOriginConfig": {"originProtocolPolicy": "https-only"}}]}
    assert messages("cloudfront-origin-access-control", rules.DISTRIBUTION, custom) == []
    unknown = {"origins": [{"originId": "s3", "originAccessControlId": None}]}
    assert messages("cloudfront-origin-access-control", rules.DISTRIBUTION, unknown) == []
    default_cert = {"viewerCertificate": {"cloudfrontDefaultCertificate": True}}
    assert "allows TLSv1" in messages("cloudfront-tls-minimum", rules.DISTRIBUTION, default_cert)[0]
    plain_http = {
        "viewerCertificate": {"minimumProtocolVersion": "TLSv1.2_2021"},
        "orderedCacheBehaviors": [{"pathPattern": "/assets/*", "viewerProtocolPolicy": "allow-all"}],
    }
    assert messages("cloudfront-tls-minimum", rules.DISTRIBUTION, plain_http) == [
        "cache behaviour /assets/* serves plain HTTP (allow-all)"
    ]


def test_site_stack_rules_run_in_the_engine_too() -> None:
    for name in SITE_STACK_RULES:
        (policy,) = [p for p in policies() if p.name == name]
        assert isinstance(policy, StackValidationPolicy)


def test_reserved_concurrency_outside_personal_stages_except_what_runs_on_deploy() -> None:
    api = _res(rules.LAMBDA_FUNCTION, {"name": "reggie-staging-api", "reservedConcurrentExecutions": 143}, name="api")
    bare = _res(rules.LAMBDA_FUNCTION, {"name": "reggie-staging-scraper"}, name="scraper")
    migrator = _res(rules.LAMBDA_FUNCTION, {"name": "reggie-staging-migrator"}, name="migrator")
    run = _res(rules.LAMBDA_INVOCATION, {"functionName": "reggie-staging-migrator"}, name="migrator-run")
    found = [v.message for v in evaluate([api, bare, migrator, run]) if v.rule == "lambda-reserved-concurrency"]
    assert found == [
        "reggie-staging-scraper: no reserved concurrency: a burst can starve other functions (and the database)"
    ]
    unnamed = _res(rules.LAMBDA_FUNCTION, {"name": None}, name="later")  # unknown until the engine knows it
    assert [v for v in evaluate([unnamed]) if v.rule == "lambda-reserved-concurrency"] == []
    personal = [_res(rules.LAMBDA_FUNCTION, {"name": "reggie-dev-x-api"}, stack="dev-x", name="api")]
    assert [v for v in evaluate(personal) if v.rule == "lambda-reserved-concurrency"] == []  # the matrix: none

    (policy,) = [p for p in policies() if p.name == "lambda-reserved-concurrency"]
    assert isinstance(policy, StackValidationPolicy)


def test_pack_entry_point_passes_every_rule_to_policy_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy
    import sys
    from pathlib import Path

    import pulumi_policy

    pack_dir = Path(rules.__file__).parent
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: calls.append(kwargs))
    monkeypatch.syspath_prepend(str(pack_dir))  # how the engine runs the pack: its own directory on the path
    monkeypatch.delitem(sys.modules, "rules", raising=False)
    runpy.run_path(str(pack_dir / "__main__.py"), run_name="__main__")
    (call,) = calls
    assert call["name"] == "reggie-platform"
    names = [p.name for p in call["policies"]]
    assert sorted(names) == sorted(r.name for r in RULES)
    assert len(set(names)) == len(names)
    assert (pack_dir / "PulumiPolicy.yaml").read_text().startswith("version: ")


def test_launch_templates_are_held_to_the_instances_rules() -> None:
    # a group launches what its template says, so the template must say IMDSv2 and encrypted volumes
    required = {"metadataOptions": {"httpTokens": "required"}}
    assert _offline("ec2-imdsv2-required", rules.LAUNCH_TEMPLATE, required, "staging") == []
    assert _offline("ec2-imdsv2-required", rules.LAUNCH_TEMPLATE, {"imageId": "ami-1"}, "staging")
    assert _engine("ec2-imdsv2-required", rules.LAUNCH_TEMPLATE, {"imageId": "ami-1"}, "staging")
    assert _offline("launch-template-encrypted-volumes", rules.LAUNCH_TEMPLATE, {"imageId": "ami-1"}, "staging")
    assert _offline("alarm-has-action", rules.METRIC_ALARM, {"alarmActions": ["arn:x"], "actionsEnabled": False}, "s")


ALARMED = "shared-stages-alarmed"


def _alarm(name: str, dimensions: dict[str, Any] | None, actions: bool = True) -> PlannedResource:
    props: dict[str, Any] = {"alarmActions": ["arn:aws:sns:eu-west-2:1:t"] if actions else []}
    if dimensions is not None:
        props["dimensions"] = dimensions
    return _res(rules.METRIC_ALARM, props, "production", name)


def _stack_violations(resources: list[PlannedResource]) -> list[str]:
    return [v.message for v in evaluate(resources) if v.rule == ALARMED]


def test_shared_stages_alarm_every_function_cluster_and_nat_group() -> None:
    function = _res(rules.LAMBDA_FUNCTION, {"name": "reggie-production-api"}, "production", "api")
    cluster = _res(rules.CLUSTER, {**GOOD_CLUSTER, "clusterIdentifier": "reggie-production-db"}, "production", "db")
    group = _res(rules.AUTO_SCALING_GROUP, {"name": "reggie-production-vpc-nat-0"}, "production", "nat")
    math_alarm = _res(
        rules.METRIC_ALARM,
        {
            "alarmActions": ["arn:x"],
            "metricQueries": [
                {"id": "result", "expression": "a"},
                {"id": "a", "metric": {"dimensions": {"DBClusterIdentifier": "reggie-production-db"}}},
            ],
        },
        "production",
        "db-alarm",
    )
    alarmed = [
        function,
        cluster,
        group,
        _alarm("fn", {"FunctionName": "reggie-production-api"}),
        math_alarm,
        _alarm("nat", {"AutoScalingGroupName": "reggie-production-vpc-nat-0"}),
    ]
    assert _stack_violations(alarmed) == []
    # an alarm nobody hears does not count; a function without one is named
    silent = [function, cluster, group, _alarm("fn", {"FunctionName": "reggie-production-api"}, actions=False)]
    assert _stack_violations(silent) == [
        "function reggie-production-api has no alarm with an action on stack production",
        "Aurora cluster reggie-production-db has no alarm with an action on stack production",
        "Auto Scaling group (a NAT) reggie-production-vpc-nat-0 has no alarm with an action on stack production",
    ]
    # personal stages need none; an alarm whose dimension is still unknown may be the one (not judged yet)
    personal = [_res(rules.LAMBDA_FUNCTION, {"name": "reggie-dev-x-api"}, "dev-x", "api")]
    assert _stack_violations(personal) == []
    assert _stack_violations([function, _alarm("fn", {"FunctionName": None})]) == []
    # a function only the deploy invokes (a site's invalidator) fails the deploy itself: no alarm needed
    invalidator = {"name": "reggie-production-web-invalidate", "tags": {"invoked-by": "deploy"}}
    assert _stack_violations([_res(rules.LAMBDA_FUNCTION, invalidator, "production", "inv")]) == []
    untagged = {"name": "reggie-production-web-invalidate", "tags": {"invoked-by": "schedule"}}
    assert len(_stack_violations([_res(rules.LAMBDA_FUNCTION, untagged, "production", "inv")])) == 1
    (policy,) = [p for p in policies() if p.name == ALARMED]
    assert isinstance(policy, StackValidationPolicy)


@pytest.mark.parametrize(
    ("statement", "found"),
    [
        ({"Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/*"]}, "wildcard actions s3:*"),
        ({"Action": "ssm:GetParameter", "Resource": "*"}, "ssm:GetParameter on every resource"),
        ({"Action": ["ssm:GetParameter"], "Resource": ["arn:aws:ssm:eu-west-2:1:parameter/a", "*"]}, "every resource"),
        ({"NotAction": ["iam:*"], "Resource": ["arn:x"]}, "allows by NotAction"),
        ({"Action": ["s3:GetObject"], "NotResource": ["arn:x"]}, "allows by NotResource"),
    ],
)
def test_wildcards_are_caught_however_written(statement: dict[str, Any], found: str) -> None:
    policy = json.dumps({"Statement": [{"Sid": "S", "Effect": "Allow", **statement}]})
    for type_token in rules.IDENTITY_POLICIES:
        (message,) = _offline("iam-scoped-resources", type_token, {"policy": policy}, "staging")
        assert found in message
    deny = json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    assert _offline("iam-scoped-resources", rules.ROLE_POLICY, {"policy": deny}, "staging") == []
    assert _offline("iam-scoped-resources", rules.ROLE_POLICY, {"policy": None}, "staging") == []  # unknown


def test_every_allow_listed_action_says_why_and_names_no_wildcard() -> None:
    assert all(reason.strip() for reason in rules.UNSCOPED_ACTIONS.values())
    assert not [a for a in rules.UNSCOPED_ACTIONS if "*" in a]
    assert rules.ALLOWED_MANAGED_POLICIES == {}  # none remains; one added later needs its reason here


def test_managed_policies_are_caught_however_attached() -> None:
    arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert _offline("iam-no-managed-policies", rules.ROLE, {"managedPolicyArns": [arn]}, "staging")
    assert _offline("iam-no-managed-policies", rules.ROLE, {"name": "r"}, "staging") == []
    assert _offline("iam-no-managed-policies", rules.ROLE_POLICIES_EXCLUSIVE, {"policyArns": [arn]}, "staging")
    assert _engine("iam-no-managed-policies", rules.POLICY_ATTACHMENT, {"policyArn": arn}, "staging")


def _egress(**props: Any) -> PlannedResource:
    return _res(rules.EGRESS_RULE, {"securityGroupId": "sg-fn", **props}, name=f"out-{len(props)}")


FUNCTION_IN_VPC = _res(rules.LAMBDA_FUNCTION, {"vpcConfig": {"securityGroupIds": ["sg-fn"]}}, name="fn")


@pytest.mark.parametrize(
    ("rule", "violation"),
    [
        ({"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}, None),
        ({"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "referencedSecurityGroupId": "sg-db"}, None),
        ({"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"}, "every protocol and port"),
        ({"ipProtocol": "-1", "referencedSecurityGroupId": "sg-db"}, "every protocol and port"),
        ({"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "cidrIpv4": "0.0.0.0/0"}, "only 443"),
        ({"ipProtocol": "tcp", "fromPort": 25, "toPort": 25, "cidrIpv6": "::/0"}, "only 443"),
    ],
)
def test_function_egress_is_https_out_and_named_paths_only(rule: dict[str, Any], violation: str | None) -> None:
    found = [v.message for v in evaluate([FUNCTION_IN_VPC, _egress(**rule)]) if v.rule == "lambda-egress-scoped"]
    if violation is None:
        assert found == []
    else:
        (message,) = found
        assert violation in message
    # The NAT's own group (no function names it) forwards everything; an unknown group is not judged yet.
    nat = _res(rules.EGRESS_RULE, {"securityGroupId": "sg-nat", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"})
    unknown = _res(rules.LAMBDA_FUNCTION, {"vpcConfig": {"securityGroupIds": None}}, name="later")
    assert [v for v in evaluate([FUNCTION_IN_VPC, unknown, nat]) if v.rule == "lambda-egress-scoped"] == []
    (policy,) = [p for p in policies() if p.name == "lambda-egress-scoped"]
    assert isinstance(policy, StackValidationPolicy)


@pytest.mark.parametrize(
    ("props", "found"),
    [
        ({}, "default route settings set no throttlingRateLimit"),
        ({"defaultRouteSettings": {"throttlingRateLimit": 100}}, "no throttlingBurstLimit"),
        (
            {
                "defaultRouteSettings": {"throttlingRateLimit": 100, "throttlingBurstLimit": 200},
                "routeSettings": [{"routeKey": "GET /a", "throttlingRateLimit": 1}],
            },
            "route GET /a: its setting replaces the default and sets no throttlingBurstLimit",
        ),
        # unknown during a preview: not judged
        ({"defaultRouteSettings": None}, None),
        ({"defaultRouteSettings": {"throttlingRateLimit": None, "throttlingBurstLimit": None}}, None),
    ],
)
def test_an_unthrottled_route_is_caught_however_written(props: dict[str, Any], found: str | None) -> None:
    messages = _offline("api-stage-throttled", rules.API_V2_STAGE, props, "staging")
    assert messages == [] if found is None else any(found in m for m in messages), messages


@pytest.mark.parametrize(
    ("rule", "found"),
    [
        (RATE_LIMIT_RULE | {"action": "log"}, "rule api: it only logs or is disabled"),
        (RATE_LIMIT_RULE | {"enabled": False}, "rule api: it only logs or is disabled"),
        ({k: v for k, v in RATE_LIMIT_RULE.items() if k != "ratelimit"}, "rule api: it does not count per client"),
        (
            RATE_LIMIT_RULE | {"ratelimit": {"characteristics": ["cf.colo.id", "http.host"]}},
            "does not count per client",
        ),
        (RATE_LIMIT_RULE | {"ratelimit": {"characteristics": ["cf.colo.id", "cf.unique_visitor_id"]}}, None),
        (RATE_LIMIT_RULE | {"ratelimit": {"characteristics": None}}, None),  # unknown
    ],
)
def test_a_rate_limit_rule_that_limits_nobody_is_caught(rule: dict[str, Any], found: str | None) -> None:
    props = {"phase": "http_ratelimit", "rules": [rule]}
    messages = _offline("ratelimit-per-client", rules.RULESET, props, "production")
    assert messages == [] if found is None else any(found in m for m in messages), messages
    # rulesets of other phases are not rate limits
    assert (
        _offline("ratelimit-per-client", rules.RULESET, {**props, "phase": "http_request_firewall_custom"}, "x") == []
    )
