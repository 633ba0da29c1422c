"""Function under mocks: role and grants without wildcards (no managed policy), log group first, VPC placement
with HTTPS-only egress and mirrored reach, packaging."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components import ComponentArgsError, Function, FunctionArgs, ImageCode, VpcPlacement, ZipCode
from components.function import ENI_CREATE_ACTIONS, ENI_DESCRIBE_ACTIONS, ENI_MANAGE_ACTIONS, UNSCOPED_ACTIONS
from tests.components.helpers import children_of, component, of_type, one, policy_doc, run, zip_code


def test_zip_function_in_a_vpc_with_grants() -> None:
    def program() -> None:
        fn = Function(
            "api",
            FunctionArgs(
                function_name="reggie-test-api",
                code=zip_code(),
                log_retention_days=30,
                memory_mb=1024,
                timeout_s=29,
                environment={"STAGE": "dev-test"},
                vpc=VpcPlacement("vpc-1", ["subnet-a", "subnet-b"]),
                reserved_concurrency=5,
            ),
        )
        fn.grant_invoke("invoke-valuation", "arn:aws:lambda:eu-west-2:123456789012:function:val")
        fn.grant_secret_read("db", "arn:aws:secretsmanager:eu-west-2:123456789012:secret:db")
        fn.grant_parameters_read("secrets", ["arn:aws:ssm:eu-west-2:123456789012:parameter/reggie/x"])

    rec = run(program)
    res = rec.resources
    comp = component(res, "reggie:components:Function")
    assert {r.urn for r in res if r.custom} == {r.urn for r in children_of(res, comp)}

    logs = one(res, "aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["name"] == "/aws/lambda/reggie-test-api"
    assert logs.inputs["retentionInDays"] == 30
    fn = one(res, "aws:lambda/function:Function")
    i = fn.inputs
    assert i["packageType"] == "Zip"
    assert i["runtime"] == "python3.12"
    assert i["handler"] == "services.api.handler.handler"
    assert i["architectures"] == ["arm64"]
    assert (i["memorySize"], i["timeout"], i["reservedConcurrentExecutions"]) == (1024, 29, 5)
    assert i["tracingConfig"] == {"mode": "Active"}
    assert i["loggingConfig"]["logGroup"] == "/aws/lambda/reggie-test-api"
    assert i["environment"] == {"variables": {"STAGE": "dev-test"}}
    assert i["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]
    assert logs.urn in rec.options[fn.urn].dependencies  # the log group exists before the function

    role = one(res, "aws:iam/role:Role")
    assume = json.loads(role.inputs["assumeRolePolicy"])
    assert assume["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policies = {p.name: policy_doc(p) for p in of_type(res, "aws:iam/rolePolicy:RolePolicy")}
    assert set(policies) == {
        "api-logs", "api-xray", "api-vpc", "api-grant-invoke-valuation", "api-grant-db", "api-grant-secrets"
    }  # fmt: skip
    for doc in policies.values():
        for statement in doc["Statement"]:
            assert all("*" not in action for action in statement["Action"])
            if statement["Resource"] == "*":
                assert set(statement["Action"]) <= set(UNSCOPED_ACTIONS), statement
    assert policies["api-grant-invoke-valuation"]["Statement"][0] == {
        "Effect": "Allow",
        "Action": ["lambda:InvokeFunction"],
        "Resource": ["arn:aws:lambda:eu-west-2:123456789012:function:val"],
    }
    assert policies["api-logs"]["Statement"][0]["Resource"] == [
        "arn:aws:logs:eu-west-2:123456789012:log-group:/aws/lambda/reggie-test-api:*"
    ]
    # No AWS managed policy: each of those grants on "*", even for actions AWS lets us scope.
    assert of_type(res, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert policies["api-xray"]["Statement"] == [
        {
            "Sid": "Traces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        }
    ]
    ec2 = "arn:aws:ec2:eu-west-2:123456789012"
    network = {st["Sid"]: st for st in policies["api-vpc"]["Statement"]}
    assert network["DescribeInterfaces"]["Resource"] == "*"
    assert network["CreateInterfaces"]["Action"] == ["ec2:CreateNetworkInterface"]
    assert network["CreateInterfaces"]["Resource"] == [
        f"{ec2}:network-interface/*",
        f"{ec2}:security-group/api-sg-id",
        f"{ec2}:subnet/subnet-a",
        f"{ec2}:subnet/subnet-b",
    ]
    assert network["ManageInterfaces"]["Resource"] == [f"{ec2}:network-interface/*"]
    granted = {action for st in policies["api-vpc"]["Statement"] for action in st["Action"]}
    assert granted == set(ENI_DESCRIBE_ACTIONS + ENI_CREATE_ACTIONS + ENI_MANAGE_ACTIONS)
    fn_deps = rec.options[fn.urn].dependencies
    assert {one(res, "aws:iam/rolePolicy:RolePolicy", n).urn for n in ("api-vpc", "api-xray")} <= set(fn_deps)

    one(res, "aws:ec2/securityGroup:SecurityGroup")
    assert of_type(res, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
    out = one(res, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").inputs
    assert (out["ipProtocol"], out["fromPort"], out["toPort"], out["cidrIpv4"]) == ("tcp", 443, 443, "0.0.0.0/0")


def test_reach_mirrors_the_ingress_rule_that_admits_the_function() -> None:
    def program() -> None:
        fn = Function(
            "worker",
            FunctionArgs(
                function_name="reggie-test-worker",
                code=zip_code(),
                log_retention_days=7,
                vpc=VpcPlacement("vpc-1", ["subnet-a"]),
            ),
        )
        assert fn.security_group_id is not None
        admitted = aws.vpc.SecurityGroupIngressRule(
            "db-in-worker",
            security_group_id="sg-db",
            referenced_security_group_id=fn.security_group_id,
            ip_protocol="tcp",
            from_port=5432,
            to_port=5432,
        )
        fn.reach("database", admitted)

    res = run(program).resources
    rules = {r.name: r.inputs for r in of_type(res, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    assert set(rules) == {"worker-out", "worker-to-database"}
    to_db = rules["worker-to-database"]
    assert (to_db["securityGroupId"], to_db["referencedSecurityGroupId"]) == ("worker-sg-id", "sg-db")
    assert (to_db["ipProtocol"], to_db["fromPort"], to_db["toPort"]) == ("tcp", 5432, 5432)
    assert "cidrIpv4" not in to_db


def test_reach_needs_the_function_in_a_vpc() -> None:
    def program() -> None:
        fn = Function("f", FunctionArgs(function_name="f", code=zip_code(), log_retention_days=7))
        rule = aws.vpc.SecurityGroupIngressRule("in", security_group_id="sg", ip_protocol="tcp", from_port=1, to_port=1)
        fn.reach("database", rule)

    with pytest.raises(Exception, match="needs the function in a VPC"):
        run(program)


def test_image_function_outside_the_vpc() -> None:
    image = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/r@sha256:" + "0" * 64
    res = run(
        lambda: Function(
            "valuation",
            FunctionArgs(
                function_name="reggie-test-valuation",
                code=ImageCode(image, ("services.valuation.handler.handler",)),
                log_retention_days=7,
                architecture="arm64",
                memory_mb=1536,
                tracing=False,
            ),
        )
    ).resources
    i = one(res, "aws:lambda/function:Function").inputs
    assert i["packageType"] == "Image"
    assert i["imageUri"] == image
    assert i["imageConfig"] == {"commands": ["services.valuation.handler.handler"]}
    assert "handler" not in i
    assert "vpcConfig" not in i
    assert i["tracingConfig"] == {"mode": "PassThrough"}
    assert of_type(res, "aws:ec2/securityGroup:SecurityGroup") == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"memory_mb": 64}, "memory_mb"),
        ({"timeout_s": 901}, "timeout_s"),
        ({"log_retention_days": 10}, "log_retention_days"),
        ({"function_name": "x" * 65}, "function_name"),
        ({"environment": {"AWS_REGION": "x"}}, "environment"),
        ({"environment": {"1BAD": "x"}}, "environment"),
        ({"snap_start": True}, "snap_start: Lambda SnapStart does not support container images"),
    ],
)
def test_bad_arguments_are_rejected_up_front(overrides: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"function_name": "f", "code": ImageCode("img"), "log_retention_days": 7}
    with pytest.raises(ComponentArgsError, match=field):
        FunctionArgs(**(base | overrides))  # type: ignore[arg-type]


def test_source_hash_and_wait_for_reach_the_lambda_itself() -> None:
    def program() -> None:
        gate = pulumi.CustomResource("test:index:Gate", "gate", {})
        code = ZipCode(zip_code().archive, "h.handler", source_code_hash="abc=")
        Function("f", FunctionArgs(function_name="f", code=code, log_retention_days=7, wait_for=[gate]))

    rec = run(program)
    gate = one(rec.resources, "test:index:Gate")
    fn = one(rec.resources, "aws:lambda/function:Function")
    assert fn.inputs["sourceCodeHash"] == "abc="
    assert gate.urn in rec.options[fn.urn].dependencies


def test_snap_start_publishes_versions_behind_the_live_alias() -> None:
    seen: dict[str, object] = {}

    def program() -> None:
        fn = Function(
            "api", FunctionArgs(function_name="reggie-test-api", code=zip_code(), log_retention_days=7, snap_start=True)
        )
        fn.entry_arn.apply(lambda arn: seen.__setitem__("entry", arn))
        seen["qualifier"] = fn.entry_qualifier

    res = run(program).resources
    comp = component(res, "reggie:components:Function")
    i = one(res, "aws:lambda/function:Function").inputs
    assert i["publish"] is True
    assert i["snapStart"] == {"applyOn": "PublishedVersions"}
    alias = one(res, "aws:lambda/alias:Alias")
    assert alias.parent == comp.urn
    assert alias.inputs["name"] == "live"
    assert alias.inputs["functionName"] == "reggie-test-api"
    assert alias.inputs["functionVersion"] == "1"  # the version the update published, never $LATEST
    assert seen == {"entry": "arn:aws:lambda:eu-west-2:123456789012:function:reggie-test-api:live", "qualifier": "live"}


def test_without_snap_start_callers_invoke_the_function_itself() -> None:
    seen: dict[str, object] = {}

    def program() -> None:
        fn = Function("api", FunctionArgs(function_name="reggie-test-api", code=zip_code(), log_retention_days=7))
        fn.entry_arn.apply(lambda arn: seen.__setitem__("entry", arn))
        seen["qualifier"] = fn.entry_qualifier

    res = run(program).resources
    i = one(res, "aws:lambda/function:Function").inputs
    assert "snapStart" not in i
    assert "publish" not in i
    assert of_type(res, "aws:lambda/alias:Alias") == []
    assert seen == {"entry": "arn:aws:lambda:eu-west-2:123456789012:function:reggie-test-api", "qualifier": None}
