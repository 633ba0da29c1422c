"""AuroraPostgres under mocks: encryption, scaling, backups, protection, SSL, access, validation."""

from __future__ import annotations

import pytest

from components import AuroraPostgres, AuroraPostgresArgs, ComponentArgsError
from components.aurora import other_zone
from tests.components.helpers import children_of, component, of_type, one, run


def _args(**overrides: object) -> AuroraPostgresArgs:
    base: dict[str, object] = {
        "cluster_identifier": "reggie-test-db",
        "vpc_id": "vpc-1",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "allowed_security_groups": {"api": "sg-api"},
    }
    return AuroraPostgresArgs(**(base | overrides))  # type: ignore[arg-type]


def test_cluster_is_encrypted_protected_and_never_holds_a_password() -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        db = AuroraPostgres("db", _args(retain_on_delete=True))
        db.master_secret_arn.apply(lambda v: seen.__setitem__("secret", v))
        db.endpoint.apply(lambda v: seen.__setitem__("endpoint", v))

    rec = run(program)
    res = rec.resources
    comp = component(res, "reggie:components:AuroraPostgres")
    assert {r.urn for r in res if r.custom} == {r.urn for r in children_of(res, comp)}

    key = one(res, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    cluster = one(res, "aws:rds/cluster:Cluster")
    i = cluster.inputs
    assert i["engine"] == "aurora-postgresql"
    assert i["engineVersion"].startswith("17.")
    assert i["storageEncrypted"] is True
    assert i["kmsKeyId"].startswith("arn:aws:kms:")
    assert i["manageMasterUserPassword"] is True
    assert "masterPassword" not in i
    assert i["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 4}
    assert i["deletionProtection"] is True
    assert i["skipFinalSnapshot"] is False
    assert i["finalSnapshotIdentifier"] == "reggie-test-db-final"
    assert i["copyTagsToSnapshot"] is True
    assert i["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert i["iamDatabaseAuthenticationEnabled"] is True
    assert i["backupRetentionPeriod"] == 7
    assert i["preferredBackupWindow"] == "02:00-03:00"
    assert rec.options[cluster.urn].retain_on_delete is True

    writer = one(res, "aws:rds/clusterInstance:ClusterInstance")
    assert writer.inputs["instanceClass"] == "db.serverless"
    assert writer.inputs["publiclyAccessible"] is False

    params = {
        p["name"]: p["value"]
        for p in one(res, "aws:rds/clusterParameterGroup:ClusterParameterGroup").inputs["parameters"]
    }
    assert params["rds.force_ssl"] == "1"
    assert params["idle_session_timeout"] == "300000"

    (ingress,) = of_type(res, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress.name == "db-in-api"
    assert ingress.inputs["referencedSecurityGroupId"] == "sg-api"
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"], ingress.inputs["ipProtocol"]) == (5432, 5432, "tcp")
    assert "cidrIpv4" not in ingress.inputs
    assert seen["secret"].startswith("arn:aws:secretsmanager:")
    assert seen["endpoint"].startswith("reggie-test-db.cluster-")


def test_auto_pause_only_when_minimum_is_zero_and_snapshot_skipped_where_allowed() -> None:
    res = run(
        lambda: AuroraPostgres("db", _args(min_acu=0, max_acu=2, deletion_protection=False, skip_final_snapshot=True))
    ).resources
    i = one(res, "aws:rds/cluster:Cluster").inputs
    assert i["serverlessv2ScalingConfiguration"] == {"minCapacity": 0, "maxCapacity": 2, "secondsUntilAutoPause": 300}
    assert i["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in i
    assert i["deletionProtection"] is False


def test_allow_from_adds_one_ingress_rule_per_client() -> None:
    def program() -> None:
        db = AuroraPostgres("db", _args(allowed_security_groups={}))
        db.allow_from("worker", "sg-worker")

    res = run(program).resources
    (rule,) = of_type(res, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.name == "db-in-worker"
    assert rule.inputs["referencedSecurityGroupId"] == "sg-worker"


def test_a_failover_reader_goes_to_another_az_than_the_writer_at_tier_one() -> None:
    zones = ("eu-west-2a", "eu-west-2b", "eu-west-2c")
    rec = run(
        lambda: AuroraPostgres("db", _args(failover_reader=True, availability_zones=zones, retain_on_delete=True))
    )
    instances = {r.name: r for r in of_type(rec.resources, "aws:rds/clusterInstance:ClusterInstance")}
    writer, reader = instances["db-writer"], instances["db-reader"]
    assert "availabilityZone" not in writer.inputs  # AWS places the writer (the mocks: in the first AZ)
    assert "promotionTier" not in writer.inputs
    assert reader.inputs["availabilityZone"] == "eu-west-2b"
    assert reader.inputs["promotionTier"] == 1
    assert reader.inputs["identifier"] == "reggie-test-db-reader"
    assert (reader.inputs["instanceClass"], reader.inputs["publiclyAccessible"]) == ("db.serverless", False)
    assert writer.urn in rec.options[reader.urn].dependencies
    assert rec.options[reader.urn].retain_on_delete is True  # retained like the writer
    without = run(lambda: AuroraPostgres("db", _args())).resources
    assert [r.name for r in of_type(without, "aws:rds/clusterInstance:ClusterInstance")] == ["db-writer"]


def test_other_zone_is_stable_and_refuses_when_there_is_none() -> None:
    assert other_zone("eu-west-2b", ("eu-west-2a", "eu-west-2b")) == "eu-west-2a"
    assert other_zone(None, ("eu-west-2a", "eu-west-2b")) == "eu-west-2a"
    with pytest.raises(ComponentArgsError, match="no AZ besides"):
        other_zone("eu-west-2a", ("eu-west-2a",))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"max_acu": 0.25}, "max_acu"),
        ({"min_acu": 0.3}, "min_acu"),
        ({"min_acu": 4, "max_acu": 2}, "max_acu"),
        ({"cluster_identifier": "Reggie_DB"}, "cluster_identifier"),
        ({"backup_retention_days": 36}, "backup_retention_days"),
        ({"preferred_maintenance_window": "sunday"}, "preferred_maintenance_window"),
        ({"transforms": {"clusters": lambda *_: None}}, "clusters"),
        ({"transforms": {"cluster": "bigger"}}, "cluster"),
        ({"allowed_security_groups": {"API Lambda": "sg-1"}}, "API Lambda"),
        ({"failover_reader": True}, "availability_zones"),
        ({"failover_reader": True, "availability_zones": ("eu-west-2a", "eu-west-2a")}, "availability_zones"),
    ],
)
def test_bad_arguments_are_rejected_up_front(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ComponentArgsError, match=field):
        _args(**overrides)


def test_the_exported_postgresql_log_has_a_retention_and_exists_before_the_cluster() -> None:
    """RDS creates /aws/rds/cluster/<id>/postgresql on the first export, with no expiry, unless it exists."""
    rec = run(lambda: AuroraPostgres("db", _args(log_retention_days=90, retain_on_delete=True)))
    group = one(rec.resources, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/aws/rds/cluster/reggie-test-db/postgresql"
    assert group.inputs["retentionInDays"] == 90
    cluster = one(rec.resources, "aws:rds/cluster:Cluster")
    assert group.urn in rec.options[cluster.urn].dependencies
    assert rec.options[group.urn].retain_on_delete is True  # kept with a retained cluster that still exports
    with pytest.raises(ComponentArgsError, match="log_retention_days"):
        _args(log_retention_days=10)
