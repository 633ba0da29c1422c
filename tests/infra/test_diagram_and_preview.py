"""The Mermaid diagram and the `pulumi preview --json`-shaped output, from a hand-built resource list."""

from __future__ import annotations

import json
import re
from typing import Any

from infra import diagram, preview_json
from infra.planned import PlannedResource

P = "urn:pulumi:staging::reggie::"
STACK = P + "pulumi:pulumi:Stack::reggie-staging"
NET = P + "reggie:components:Network::network"
DB = P + "reggie:components:AuroraPostgres::database"
API = P + "reggie:components:HttpApi::http"
FN_API = P + "reggie:components:Function::api"
FN_VAL = P + "reggie:components:Function::valuation"
FN_MIG = P + "reggie:components:Function::migrator"
IMG_VAL = P + "reggie:components:ContainerImage::valuation"


def component(urn: str, parent: str = STACK) -> PlannedResource:
    type_, name = urn.removeprefix(P).split("::")
    return PlannedResource(urn, type_, name, {}, parent, custom=False)


def res(type_: str, logical: str, parent: str, **inputs: Any) -> PlannedResource:
    return PlannedResource(f"{parent}${type_}::{logical}", type_, logical, inputs, parent, custom=True)


def function(parent: str, service: str, env: dict[str, str], **inputs: Any) -> PlannedResource:
    env = {"STAGE": "staging", "SERVICE_NAME": service, **env}
    return res(
        "aws:lambda/function:Function",
        service,
        parent,
        name=f"reggie-staging-{service}",
        environment={"variables": env},
        vpcConfig={"subnetIds": [None, None], "securityGroupIds": [None]},
        **inputs,
    )


def staging() -> list[PlannedResource]:
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "sk_live_x"}
    return [
        PlannedResource(STACK, "pulumi:pulumi:Stack", "reggie-staging", {}, None, custom=False),
        component(NET),
        res("aws:ec2/vpc:Vpc", "network", NET, cidrBlock="10.0.0.0/16", enableDnsHostnames=True),
        res("aws:ec2/instance:Instance", "network-nat-0", NET, instanceType="t4g.nano"),
        res("aws:ec2/instance:Instance", "network-nat-1", NET, instanceType="t4g.nano"),
        res("aws:ec2/eip:Eip", "network-nat-0", NET, domain="vpc"),
        res("aws:iam/role:Role", "api", FN_API),
        res("aws:ssm/parameter:Parameter", "clerk-secret-key", STACK, type="SecureString", value=secret),
        res("aws:ssm/parameter:Parameter", "stripe-secret-key", STACK, type="SecureString", value=secret),
        component(DB),
        res("aws:kms/key:Key", "database-key", DB, enableKeyRotation=True),
        res(
            "aws:rds/cluster:Cluster",
            "database",
            DB,
            engineVersion="17.4",
            serverlessv2ScalingConfiguration={"minCapacity": 0.5, "maxCapacity": 2},
            endpoint=None,
        ),
        res("aws:rds/clusterInstance:ClusterInstance", "database-writer", DB, instanceClass="db.serverless"),
        res(
            "cloudflare:index/r2Bucket:R2Bucket", "documents", STACK, name="reggie-staging-documents", jurisdiction="eu"
        ),
        component(IMG_VAL),
        res("aws:ecr/repository:Repository", "valuation", IMG_VAL),
        component(FN_VAL),
        function(
            FN_VAL,
            "valuation",
            {"DB_HOST": "x", "ALLOWED_ORIGINS": "https://reggie.example"},  # linked to Clerk, yet not routed
            packageType="Image",
            architectures=["arm64"],
            memorySize=1536,
        ),
        component(FN_MIG),
        function(FN_MIG, "migrator", {"DB_HOST": "x"}, packageType="Image", architectures=["x86_64"], memorySize=512),
        res("aws:lambda/invocation:Invocation", "migrator-on-deploy", STACK, functionName="reggie-staging-migrator"),
        component(FN_API),
        function(
            FN_API,
            "api",
            {
                "DB_HOST": "x",
                "BUCKET_NAME": "reggie-staging-documents",
                "VALUATION_FUNCTION_NAME": "reggie-staging-valuation",
                "CLERK_SECRET_KEY_PARAMETER": "/reggie/staging/clerk_secret_key",
                "ALLOWED_ORIGINS": "https://reggie.example",
            },
            architectures=["arm64"],
            memorySize=1024,
        ),
        component(API),
        res("aws:apigatewayv2/api:Api", "http", API, protocolType="HTTP"),
        res(
            "aws:apigatewayv2/integration:Integration",
            "http-api",
            API,
            integrationUri="arn:aws:lambda:eu-west-2:123456789012:function:reggie-staging-api:live",
        ),
        res("aws:apigatewayv2/domainName:DomainName", "http", API, domainName="staging-api.reggie.example"),
        res("cloudflare:index/dnsRecord:DnsRecord", "http-validation", API, proxied=False, type="CNAME"),
        res("cloudflare:index/dnsRecord:DnsRecord", "http", API, proxied=True, type="CNAME"),
    ]


def _ids(text: str) -> dict[str, str]:
    """Node id by the first line of its label."""
    found: dict[str, str] = {}
    for node_id, label in re.findall(r'^\s*(\w+)[\[\(\{/]+"([^"]+)"', text, flags=re.MULTILINE):
        found[label.split("<br/>")[0]] = node_id
    return found


def test_diagram_draws_the_stage_from_its_resources() -> None:
    text = diagram.render(staging(), title="reggie staging")
    assert text.startswith("---\ntitle: reggie staging\n---\nflowchart LR\n")
    ids = _ids(text)
    api, valuation, migrator = ids["λ api"], ids["λ valuation"], ids["λ migrator"]
    database, http = ids["Aurora PostgreSQL 17.4"], ids["API Gateway HTTP API"]
    # nodes carry their key settings
    assert "λ api<br/>zip · arm64 · 1024 MB" in text
    assert "λ migrator<br/>image · x86_64 · 512 MB" in text
    assert "database · 0.5–2 ACU · 1 instance(s)" in text
    assert "staging-api.reggie.example" in text
    assert "2 SecureString parameters" in text
    # the edges come from the integrations, the environment contract and the declared relations
    expected_edges = [
        f"{http} -->|routes| {api}",
        f"{api} -->|SQL, TLS| {database}",
        f"{valuation} -->|SQL, TLS| {database}",
        f"{api} -->|presigned URLs| {ids['R2 bucket']}",
        f"{api} -->|invokes| {valuation}",
        f"{api} -->|reads secrets| ssm",
        f"{ids['ECR']} -->|image by digest| {valuation}",
        f"deploy -->|invoked on every deploy| {migrator}",
        f"{ids['KMS key']} -->|encrypts| {database}",
        "clients -->|HTTPS| cloudflare",
        f"cloudflare --> {ids['custom domain']}",
        f"{ids['custom domain']} -->|TLS 1.2| {http}",
        "private -->|default route| public",
    ]
    for edge in expected_edges:
        assert f"  {edge}\n" in text, edge
    # only the function an integration names is behind the API; plumbing is not drawn
    assert f"{http} -->|routes| {valuation}" not in text
    assert "Role" not in text
    assert "validation" not in text
    # the functions and the database sit in the private subnets, the NATs in the public ones
    private = text.split('subgraph private["private subnets"]')[1].split("end")[0]
    public = text.split('subgraph public["public subnets"]')[1].split("end")[0]
    assert {api, valuation, migrator, database} <= set(re.findall(r"^\s+(n\d+)", private, flags=re.MULTILINE))
    assert public.count("NAT instance") == 2
    assert 'subgraph vpc["VPC 10.0.0.0/16"]' in text
    assert diagram.render(staging(), title="reggie staging") == text  # deterministic


def test_diagram_of_a_personal_stage_on_the_shared_network() -> None:
    personal = [
        r for r in staging() if not r.urn.startswith(NET) and "dnsRecord" not in r.type and "domain" not in r.type
    ]
    text = diagram.render(personal)
    assert 'subgraph vpc["shared network (StackReference)"]' in text
    assert "NAT instance" not in text
    assert "private -->|via the shared network's NAT| internet" in text
    assert f"clients -->|HTTPS| {_ids(text)['API Gateway HTTP API']}" in text  # no domain: the execute-api URL


def test_preview_json_has_the_cli_shape() -> None:
    resources = staging()
    config = {"reggie:domain": "reggie.example", "reggie:clerkSecretKey": "sk_live_y"}
    doc = json.loads(preview_json.dumps(resources, config, secret_keys=["reggie:clerkSecretKey"]))
    assert set(doc) == {"config", "steps", "changeSummary", "duration"}
    assert doc["changeSummary"] == {"create": len(resources)}
    assert doc["config"] == {"reggie:domain": "reggie.example", "reggie:clerkSecretKey": "[secret]"}
    assert [step["urn"] for step in doc["steps"]] == [r.urn for r in resources]
    assert {step["op"] for step in doc["steps"]} == {"create"}

    by_urn = {step["urn"]: step for step in doc["steps"]}
    stack = by_urn[STACK]
    assert stack["newState"]["type"] == "pulumi:pulumi:Stack"
    assert "parent" not in stack["newState"]
    assert stack["provider"] == ""

    cluster = next(s for s in doc["steps"] if s["newState"]["type"] == "aws:rds/cluster:Cluster")
    state = cluster["newState"]
    assert state["custom"] is True
    assert state["parent"] == DB
    assert state["inputs"]["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 2}
    assert state["inputs"]["endpoint"] == preview_json.UNKNOWN
    assert cluster["provider"].startswith("urn:pulumi:staging::reggie::pulumi:providers:aws::default::")

    parameter = next(s for s in doc["steps"] if s["newState"]["type"] == "aws:ssm/parameter:Parameter")
    assert parameter["newState"]["inputs"]["value"] == "[secret]"
    assert "sk_live_x" not in json.dumps(doc)
    assert "sk_live_y" not in json.dumps(doc)

    bucket = next(s for s in doc["steps"] if s["newState"]["type"].startswith("cloudflare:"))
    assert "::pulumi:providers:cloudflare::default::" in bucket["provider"]
    assert by_urn[NET]["newState"]["custom"] is False


def test_preview_json_of_nothing() -> None:
    assert preview_json.document([]) == {"config": {}, "steps": [], "changeSummary": {}, "duration": 0}


SITE = P + "reggie:components:StaticSite::web"
SITE_FN = SITE + "$reggie:components:Function::web-invalidator"


def web_site() -> list[PlannedResource]:
    return [
        PlannedResource(SITE, "reggie:components:StaticSite", "web", {}, STACK, custom=False),
        res("aws:s3/bucket:Bucket", "web-bucket", SITE, tags={"purpose": "site content"}),
        res("aws:s3/bucket:Bucket", "web-logs", SITE, tags={"purpose": "access logs"}),
        res(
            "aws:cloudfront/distribution:Distribution",
            "web-cdn",
            SITE,
            aliases=["staging.reggie.example"],
            httpVersion="http2and3",
        ),
        res("cloudflare:index/dnsRecord:DnsRecord", "web-cname", SITE, proxied=True, type="CNAME"),
        PlannedResource(SITE_FN, "reggie:components:Function", "web-invalidator", {}, SITE, custom=False),
        res("aws:lambda/function:Function", "web-invalidator-function", SITE_FN, name="reggie-staging-web-invalidate"),
        res("aws:lambda/invocation:Invocation", "web-invalidation", SITE, functionName="reggie-staging-web-invalidate"),
    ]


def test_diagram_draws_a_site_behind_cloudflare_reading_its_bucket() -> None:
    text = diagram.render([*staging(), *web_site()])
    ids = _ids(text)
    cdn = ids["CloudFront"]
    assert "CloudFront<br/>staging.reggie.example · http2and3" in text
    content = re.search(r'(n\d+)\[/"S3<br/>web-bucket · site content', text)
    logs = re.search(r'(n\d+)\[/"S3<br/>web-logs · access logs', text)
    assert content is not None
    assert logs is not None
    for edge in (
        f"cloudflare -->|staging.reggie.example| {cdn}",
        f"{cdn} -->|OAC, SigV4| {content.group(1)}",
        f"{cdn} -->|access logs| {logs.group(1)}",
        f"deploy -->|uploads the build| {content.group(1)}",
        f"deploy -->|invalidates changed files| {cdn}",
    ):
        assert f"  {edge}\n" in text, edge
    assert "web-invalidator" not in text  # the site's own plumbing
    assert "invoked on every deploy" in text  # the migrator still is
