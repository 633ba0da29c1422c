"""The cost model: known resource mixes give known totals (worked out by hand in each test's comments)."""

from __future__ import annotations

from typing import Any

import pytest

from infra import cost
from infra.plan import run_plan
from infra.planned import PlannedResource

STACK = "urn:pulumi:dev::reggie::pulumi:pulumi:Stack::reggie-dev"


def res(type_: str, logical: str, parent: str | None = STACK, **inputs: Any) -> PlannedResource:
    urn = f"urn:pulumi:dev::reggie::{type_}::{logical}"
    return PlannedResource(urn=urn, type=type_, name=logical, inputs=inputs, parent=parent, custom=True)


DB = "urn:pulumi:dev::reggie::reggie:components:AuroraPostgres::db"


def database(min_acu: float, max_acu: float) -> list[PlannedResource]:
    scaling: dict[str, Any] = {"minCapacity": min_acu, "maxCapacity": max_acu}
    if min_acu == 0:
        scaling["secondsUntilAutoPause"] = 300
    return [
        PlannedResource(DB, "reggie:components:AuroraPostgres", "db", {}, STACK, custom=False),
        res("aws:kms/key:Key", "db-key", DB, enableKeyRotation=True),
        res("aws:kms/alias:Alias", "db-key", DB),
        res("aws:rds/subnetGroup:SubnetGroup", "db", DB),
        res(
            "aws:rds/cluster:Cluster", "db", DB, serverlessv2ScalingConfiguration=scaling, manageMasterUserPassword=True
        ),
        res("aws:rds/clusterInstance:ClusterInstance", "db-writer", DB, instanceClass="db.serverless"),
    ]


def nat_instance(i: int) -> list[PlannedResource]:
    root = {"volumeType": "gp3", "volumeSize": 8, "encrypted": True}
    return [
        res("aws:ec2/instance:Instance", f"net-nat-{i}", instanceType="t4g.nano", rootBlockDevice=root),
        res("aws:ec2/eip:Eip", f"net-nat-{i}", domain="vpc"),
    ]


def services() -> list[PlannedResource]:
    return [
        res("aws:lambda/function:Function", "api", name="reggie-dev-api", memorySize=1024, architectures=["arm64"]),
        res("aws:lambda/function:Function", "valuation", name="reggie-dev-valuation", memorySize=1536),
        res("aws:cloudwatch/logGroup:LogGroup", "api-logs", retentionInDays=30),
        res("aws:cloudwatch/logGroup:LogGroup", "access-logs", retentionInDays=30),
        res("aws:apigatewayv2/api:Api", "http", protocolType="HTTP"),
        res("aws:ecr/repository:Repository", "valuation"),
        res("aws:ecr/repository:Repository", "migrator"),
        res("aws:ssm/parameter:Parameter", "clerk-secret-key", type="SecureString"),
        res("aws:iam/role:Role", "api"),
        res("cloudflare:index/r2Bucket:R2Bucket", "documents", jurisdiction="eu"),
    ]


def test_personal_stage_on_the_shared_network_is_under_five_dollars_idle() -> None:
    idle = cost.estimate(database(0, 2) + services(), cost.IDLE)
    # KMS key 1.00 + RDS-managed secret 0.40 + 1 GB storage 0.11 + 2 ECR repositories x 1 GB x 0.10; ACU 0
    assert idle.total_usd == 1.71
    assert idle.total_usd <= 5
    assert not [line for line in idle.lines if line.price_key == "aurora.acu"]
    assert idle.unpriced == ()


def test_personal_stage_with_its_own_nat_instance() -> None:
    # t4g.nano 730 h x 0.0047 = 3.431, 8 GB gp3 x 0.0928 = 0.7424, IPv4 730 h x 0.005 = 3.65 -> 7.8234, + 1.71
    idle = cost.estimate(nat_instance(0) + database(0, 2) + services(), cost.IDLE)
    assert idle.total_usd == 9.53


def test_production_idle() -> None:
    resources = nat_instance(0) + nat_instance(1) + database(0.5, 4) + services()
    idle = cost.estimate(resources, cost.IDLE)
    # 2 NATs 15.6468 + 0.5 ACU x 730 h x 0.14 = 51.10 + storage 0.11 + secret 0.40 + key 1.00 + ECR 0.20
    assert idle.total_usd == 68.46
    by_item = {(line.resource, line.price_key): line.monthly_usd for line in idle.lines}
    assert by_item[("db-writer", "aurora.acu")] == pytest.approx(51.10)
    assert by_item[("net-nat-1", "vpc.public_ipv4")] == pytest.approx(3.65)


def test_nat_gateway_mode_costs_far_more_than_an_instance() -> None:
    gateway = [res("aws:ec2/natGateway:NatGateway", "net-nat-0"), res("aws:ec2/eip:Eip", "net-nat-0")]
    idle = cost.estimate(gateway, cost.IDLE)
    assert idle.total_usd == 40.15  # 730 h x 0.05 + one IPv4 address 3.65
    loaded = cost.estimate(gateway, cost.LoadProfile(name="x", nat_gateway_gb=10))
    assert loaded.total_usd == 40.65  # + 10 GB processed x 0.05


def test_load_profile_prices_requests_compute_logs_and_storage() -> None:
    profile = cost.LoadProfile(
        name="test",
        http_requests=1_000_000,
        functions={"api": cost.FunctionLoad(1_000_000, 120)},
        db_average_acu=1.0,
        db_storage_gb=10,
        db_io_millions=20,
        log_bytes_per_request=2_000,
        r2_storage_gb=5,
        r2_class_a=1_000_000,
        r2_class_b=1_000_000,
    )
    loaded = cost.estimate(database(0, 2) + services(), profile)
    lines = {(line.resource, line.price_key): line.monthly_usd for line in loaded.lines}
    assert lines[("api", "lambda.requests")] == pytest.approx(0.20)
    assert lines[("api", "lambda.arm64")] == pytest.approx(120_000 * 0.0000133334)  # 1 GB x 120,000 s
    assert ("valuation", "lambda.x86_64") not in lines  # no load stated for it, default none
    assert lines[("http", "apigw.http")] == pytest.approx(1.04)
    assert lines[("db-writer", "aurora.acu")] == pytest.approx(730 * 0.14)  # mean 1 ACU within 0..2
    assert lines[("db", "aurora.io")] == pytest.approx(20 * 0.22)
    assert lines[("2 log groups", "logs.ingest")] == pytest.approx(2 * 0.5985)  # 1M x 2 kB
    assert lines[("2 log groups", "logs.storage")] == pytest.approx(2 * 0.0315)  # kept 30 days
    assert lines[("documents", "r2.class_a")] == pytest.approx(4.50)
    # key 1.00 + secret 0.40 + 10 GB x 0.11 + ECR 0.20 = 2.70; Lambda 0.20 + 1.600008; API 1.04; ACU 102.20;
    # I/O 4.40; logs 1.197 + 0.063; R2 0.075 + 4.50 + 0.36  ->  118.335008
    assert loaded.total_usd == 118.34


def test_aurora_mean_capacity_is_clamped_to_the_cluster_range() -> None:
    heavy = cost.LoadProfile(name="heavy", db_average_acu=10)
    lines = cost.estimate(database(0.5, 4), heavy).lines
    assert next(line for line in lines if line.price_key == "aurora.acu").quantity == 4 * 730


def test_ssm_standard_parameters_are_free_and_advanced_are_not() -> None:
    params = [
        res("aws:ssm/parameter:Parameter", "a", tier="Standard"),
        res("aws:ssm/parameter:Parameter", "b"),
        res("aws:ssm/parameter:Parameter", "c", tier="Advanced"),
    ]
    assert cost.estimate(params).total_usd == 0.05


def test_tracing_adds_x_ray() -> None:
    traced = res(
        "aws:lambda/function:Function",
        "api",
        memorySize=512,
        architectures=["arm64"],
        tracingConfig={"mode": "Active"},
    )
    profile = cost.LoadProfile(name="t", functions={"api": cost.FunctionLoad(2_000_000, 100)})
    lines = {line.price_key: line.monthly_usd for line in cost.estimate([traced], profile).lines}
    assert lines["xray.traces"] == pytest.approx(10.0)
    assert lines["lambda.arm64"] == pytest.approx(100_000 * 0.0000133334)  # 200,000 s x 0.5 GB


def test_what_cannot_be_priced_is_said() -> None:
    unknown = res("aws:elasticache/cluster:Cluster", "cache")
    assert cost.estimate([unknown]).unpriced == ("aws:elasticache/cluster:Cluster",)
    with pytest.raises(cost.CostError, match=r"m7g\.large"):
        cost.estimate([res("aws:ec2/instance:Instance", "big", instanceType="m7g.large")])
    provisioned = database(0.5, 1)
    provisioned[-1] = res("aws:rds/clusterInstance:ClusterInstance", "db-writer", DB, instanceClass="db.r6g.large")
    with pytest.raises(cost.CostError, match=r"db\.serverless"):
        cost.estimate(provisioned)


def test_components_and_free_resources_add_nothing() -> None:
    free = [
        PlannedResource(STACK, "pulumi:pulumi:Stack", "reggie-dev", {}, None, custom=False),
        res("aws:ec2/vpc:Vpc", "net"),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "net-s3", vpcEndpointType="Gateway"),
        res("pulumi:providers:aws", "default"),
    ]
    result = cost.estimate(free, cost.LAUNCH)
    assert result.lines == ()
    assert result.unpriced == ()


def test_report_shows_both_profiles_lines_and_sources() -> None:
    text = cost.report(nat_instance(0) + database(0, 2) + services())
    assert "Monthly cost estimate, eu-west-2, idle: USD 9.53" in text
    assert "launch load" in text
    assert "net-nat-0" in text
    assert "t4g.nano on-demand" in text
    assert "https://aws.amazon.com/rds/aurora/pricing/" in text
    assert all(price.source.startswith("https://") and price.as_of for price in cost.PRICES.values())


def test_report_folds_sub_cent_lines() -> None:
    migrator = res("aws:lambda/function:Function", "migrator", memorySize=512)
    profile = cost.LoadProfile(name="deploys", functions={"migrator": cost.FunctionLoad(30, 1_000)})
    text = cost.report([migrator], [profile])
    # 30 requests (0.000006) and 15 GB-s (0.00025): both real, both under a cent
    assert "Monthly cost estimate, eu-west-2, deploys: USD 0.00" in text
    assert "(2 more lines under one cent each)" in text


def test_snapstart_caches_one_version_all_month_even_when_idle() -> None:
    function = res(
        "aws:lambda/function:Function",
        "api",
        memorySize=1024,
        architectures=["arm64"],
        snapStart={"applyOn": "PublishedVersions"},
    )
    lines = {line.price_key: line.monthly_usd for line in cost.estimate([function], cost.IDLE).lines}
    assert lines == {"lambda.snapstart_cache": pytest.approx(1 * 730 * 3600 * 0.0000015046)}
    plain = res("aws:lambda/function:Function", "api", memorySize=1024, architectures=["arm64"])
    assert not cost.estimate([plain], cost.IDLE).lines


def test_a_failover_reader_costs_what_the_writer_does() -> None:
    reader = res(
        "aws:rds/clusterInstance:ClusterInstance", "db-reader", DB, instanceClass="db.serverless", promotionTier=1
    )
    idle = cost.estimate([*database(0.5, 4), reader], cost.IDLE)
    acu = {line.resource: line for line in idle.lines if line.price_key == "aurora.acu"}
    # a Serverless v2 reader in promotion tier 0-1 scales with the writer: 0.5 ACU x 730 h x 0.14 each
    assert {name: line.monthly_usd for name, line in acu.items()} == pytest.approx(
        {"db-writer": 51.10, "db-reader": 51.10}
    )
    assert acu["db-reader"].item == "0.5 ACU mean, failover reader (tier 1)"
    loaded = cost.estimate([*database(0.5, 4), reader], cost.LAUNCH)
    assert sum(line.monthly_usd for line in loaded.lines if line.price_key == "aurora.acu") == pytest.approx(204.40)


def test_a_nat_group_is_priced_as_its_launch_templates_instance() -> None:
    net = "urn:pulumi:dev::reggie::reggie:components:Network::net"
    template = res(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "net-nat-0",
        net,
        instanceType="t4g.nano",
        blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 8, "volumeType": "gp3"}}],
    )
    group = res("aws:autoscaling/group:Group", "net-nat-0", net, desiredCapacity=1, minSize=1, maxSize=1)
    interface = res("aws:ec2/networkInterface:NetworkInterface", "net-nat-0", net)
    eip = res("aws:ec2/eip:Eip", "net-nat-0", net, domain="vpc")
    idle = cost.estimate([template, group, interface, eip], cost.IDLE)
    # the same 7.82 as a lone instance: t4g.nano 3.431 + 8 GB gp3 0.7424 + its Elastic IP 3.65; the interface is free
    assert idle.total_usd == 7.82
    assert idle.unpriced == ()
    orphan = res("aws:autoscaling/group:Group", "other", STACK, desiredCapacity=1)  # no template beside it
    with pytest.raises(cost.CostError, match="cannot tell which launch template"):
        cost.estimate([template, group, orphan], cost.IDLE)


def test_alarms_are_priced_per_metric_read_with_their_custom_metrics_and_the_dashboard() -> None:
    ops = "urn:pulumi:dev::reggie::reggie:components:Alarms::ops"
    single = res("aws:cloudwatch/metricAlarm:MetricAlarm", "ops-api-errors", ops, namespace="AWS/Lambda")
    queries = [
        {"id": "result", "expression": "100 * e / r"},
        {"id": "e", "metric": {"namespace": "AWS/ApiGateway", "metricName": "5xx"}},
        {"id": "r", "metric": {"namespace": "AWS/ApiGateway", "metricName": "Count"}},
    ]
    math = res("aws:cloudwatch/metricAlarm:MetricAlarm", "ops-api-5xx", ops, metricQueries=queries)
    custom = res(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "ops-health",
        ops,
        namespace="Reggie",
        metricName="HealthCheckFailed",
        dimensions={"Check": "storage"},
    )
    dashboard = res("aws:cloudwatch/dashboard:Dashboard", "ops-dashboard", ops)
    free = [res("aws:sns/topic:Topic", "ops-topic", ops), res("aws:sns/topicSubscription:TopicSubscription", "e", ops)]
    idle = cost.estimate([single, math, custom, dashboard, *free], cost.IDLE)
    by_key = {line.price_key: line for line in idle.lines}
    assert by_key["cloudwatch.alarm"].quantity == 4  # 1 + 2 (the math alarm reads two metrics) + 1
    assert by_key["cloudwatch.alarm"].resource == "3 alarms"
    assert by_key["cloudwatch.custom_metric"].quantity == 1  # the one the platform publishes for that alarm
    assert by_key["cloudwatch.dashboard"].monthly_usd == 3.00
    assert idle.total_usd == 3.70  # 4 x 0.10 + 0.30 + 3.00
    assert idle.unpriced == ()


SITE = "urn:pulumi:dev::reggie::reggie:components:StaticSite::web"


def site(name: str = "web", parent: str = SITE, retention_days: int = 30) -> list[PlannedResource]:
    return [
        PlannedResource(parent, "reggie:components:StaticSite", name, {}, STACK, custom=False),
        res("aws:s3/bucket:Bucket", f"{name}-bucket", parent, tags={"purpose": "site content"}),
        res("aws:s3/bucket:Bucket", f"{name}-logs", parent, tags={"purpose": "access logs"}),
        res(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            f"{name}-logs-lifecycle",
            parent,
            rules=[{"id": "expire-logs", "expiration": {"days": retention_days}}],
        ),
        res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"{name}-lifecycle", parent),
        res("aws:cloudfront/distribution:Distribution", f"{name}-cdn", parent, httpVersion="http2and3"),
        res("aws:cloudfront/function:Function", f"{name}-routing", parent),
        res("aws:cloudfront/cachePolicy:CachePolicy", f"{name}-cache", parent),
        res("aws:s3/bucketObjectv2:BucketObjectv2", f"{name}-file-index.html", parent),
        res("aws:cloudwatch/logDelivery:LogDelivery", f"{name}-log-delivery", parent),
        res("cloudflare:index/zoneLockdown:ZoneLockdown", f"{name}-lockdown", parent),
    ]


def test_a_site_idles_at_its_storage_and_pays_per_request_under_load() -> None:
    sites = site() + site("admin", SITE.replace("::web", "::admin"))
    idle = cost.estimate(sites, cost.IDLE)
    assert idle.unpriced == ()
    assert idle.total_usd == 0.00  # 2 x 0.1 GB x 0.024: under a cent
    assert {(line.resource, line.price_key) for line in idle.lines} == {
        ("web-bucket", "s3.storage"),
        ("admin-bucket", "s3.storage"),
    }
    profile = cost.LoadProfile(name="x", site_requests=2_000_000, site_transfer_gb=20, site_log_bytes_per_request=1_000)
    loaded = {(line.resource, line.price_key): line for line in cost.estimate(sites, profile).lines}
    # each of the two sites: a million requests, 10 GB out, 5% fetched from S3, 1 GB of logs kept 30 days
    assert loaded[("web-cdn", "cloudfront.https_requests")].monthly_usd == pytest.approx(1.20)
    assert loaded[("web-cdn", "cloudfront.transfer_out")].monthly_usd == pytest.approx(10 * 0.085)
    assert loaded[("web-cdn", "s3.get")].monthly_usd == pytest.approx(0.05 * 0.42)
    assert loaded[("web-cdn", "logs.vended_s3")].monthly_usd == pytest.approx(0.25)
    assert loaded[("web-routing", "cloudfront.functions")].monthly_usd == pytest.approx(0.10)
    assert loaded[("web-logs", "s3.storage")].quantity == pytest.approx(1.0)
    assert loaded[("web-logs", "s3.storage")].item == "access logs (30 days kept)"
    ninety = {(x.resource, x.price_key): x for x in cost.estimate(site(retention_days=90), profile).lines}
    assert ninety[("web-logs", "s3.storage")].quantity == pytest.approx(2 * 3.0)  # the only site: 2 GB x 90/30
    assert cost.LAUNCH.site_requests > 0
    assert cost.LAUNCH.functions["invalidate"].invocations == 30  # one invalidation per deploy, not per request


def _api_with_stage(detailed: bool) -> list[PlannedResource]:
    routes = [res("aws:apigatewayv2/route:Route", f"http-route-{i}", apiId="http-id") for i in range(3)]
    other = res("aws:apigatewayv2/route:Route", "other-route", apiId="other-id")  # another API's
    settings = {"throttlingBurstLimit": 200, "detailedMetricsEnabled": detailed}
    stage = res("aws:apigatewayv2/stage:Stage", "http-stage", apiId="http-id", defaultRouteSettings=settings)
    return [res("aws:apigatewayv2/api:Api", "http", protocolType="HTTP"), stage, *routes, other]


def test_per_route_metrics_are_priced_when_on_and_cost_nothing_when_off_or_idle() -> None:
    load = cost.LoadProfile("load", http_requests=1_000_000)
    on = cost.estimate(_api_with_stage(detailed=True), load)
    (metrics,) = [line for line in on.lines if line.price_key == "cloudwatch.custom_metric"]
    # 3 routes x 6 metrics (Count, 4xx, 5xx, Latency, IntegrationLatency, DataProcessed) x USD 0.30
    assert metrics.quantity == 18
    assert metrics.monthly_usd == pytest.approx(5.40)
    off = cost.estimate(_api_with_stage(detailed=False), load)
    assert [line for line in off.lines if line.price_key == "cloudwatch.custom_metric"] == []
    idle = cost.estimate(_api_with_stage(detailed=True), cost.IDLE)  # billed only for hours with data
    assert [line for line in idle.lines if line.price_key == "cloudwatch.custom_metric"] == []
    assert on.unpriced == off.unpriced == ()


def test_the_platform_keeps_per_route_metrics_off() -> None:
    for stack in ("production", "dev-demo"):
        (stage,) = [r for r in run_plan(stack) if r.type == "aws:apigatewayv2/stage:Stage"]
        assert stage.inputs["defaultRouteSettings"]["detailedMetricsEnabled"] is False
