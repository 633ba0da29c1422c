"""AuroraPostgres: an encrypted Aurora Serverless v2 PostgreSQL cluster with a writer and, optionally, a
failover reader.

Secure by default: customer KMS key with rotation, SSL forced, not publicly accessible, RDS-managed
master password (never in Pulumi state), IAM database authentication, PostgreSQL logs exported to a log
group declared before the cluster with a retention (RDS would otherwise create it, kept forever).

With ``failover_reader`` a second instance runs in another AZ than the writer at promotion tier 1. When the
writer's instance or AZ fails, Aurora promotes it (typically within a minute or so) instead of creating a new
writer, and the cluster endpoint follows; clients reconnect. A Serverless v2 reader in tier 0 or 1 scales with
the writer's capacity, so it can take the writer's load the moment it is promoted: it costs as much as the
writer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import pulumi
import pulumi_aws as aws

from components._common import (
    Component,
    ComponentArgsError,
    Transform,
    check_transform_keys,
    no_tags,
    roles_of,
    with_name_tag,
)
from components.function import LOG_RETENTION_DAYS

ENGINE = "aurora-postgresql"
ENGINE_VERSION = "17.4"
"""Pinned: a minor upgrade is a reviewed change, not a surprise on the next deploy."""
PARAMETER_GROUP_FAMILY = "aurora-postgresql17"
PORT = 5432
_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")
_WINDOW = re.compile(r"^\d{2}:\d{2}-\d{2}:\d{2}$")
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
_MAINTENANCE_WINDOW = re.compile(rf"^{_DAY}:\d{{2}}:\d{{2}}-{_DAY}:\d{{2}}:\d{{2}}$")
_CLIENT_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class AuroraPostgresTransforms(TypedDict, total=False):
    """The roles of :class:`AuroraPostgres`'s children, each with its transform hook's args type."""

    log_group: Transform[aws.cloudwatch.LogGroupArgs]
    """``/aws/rds/cluster/<cluster_identifier>/postgresql``, where the exported logs go (``<name>-logs``)."""
    kms_key: Transform[aws.kms.KeyArgs]
    """The customer-managed storage key (``<name>-key``)."""
    kms_alias: Transform[aws.kms.AliasArgs]
    """The key's alias ``alias/<cluster_identifier>`` (``<name>-key``)."""
    subnet_group: Transform[aws.rds.SubnetGroupArgs]
    """The private subnets (``<name>-subnets``)."""
    security_group: Transform[aws.ec2.SecurityGroupArgs]
    """The cluster's security group (``<name>-sg``)."""
    client_ingress: Transform[aws.vpc.SecurityGroupIngressRuleArgs]
    """Keyed by client label: 5432/tcp from one client's security group (``<name>-in-<label>``)."""
    parameter_group: Transform[aws.rds.ClusterParameterGroupArgs]
    """SSL-only, idle sessions closed (``<name>-params``)."""
    cluster: Transform[aws.rds.ClusterArgs]
    """The Serverless v2 cluster (``<name>-cluster``)."""
    writer: Transform[aws.rds.ClusterInstanceArgs]
    """The writer instance (``<name>-writer``)."""
    reader: Transform[aws.rds.ClusterInstanceArgs]
    """With ``failover_reader``: the reader in another AZ, promotion tier 1 (``<name>-reader``)."""


ROLES = roles_of(AuroraPostgresTransforms)


def _no_clients() -> dict[str, pulumi.Input[str]]:
    return {}


def check_client_label(label: str) -> None:
    """A client label names an ingress rule: lowercase letters, digits and hyphens, at most 63 characters."""
    if not _CLIENT_LABEL.match(label):
        raise ComponentArgsError(
            f"AuroraPostgres client label {label!r}: use lowercase letters, digits and hyphens (at most 63)"
        )


def _valid_acu(value: float) -> bool:
    return 0 <= value <= 256 and float(value * 2).is_integer()


@dataclass(frozen=True, slots=True)
class AuroraPostgresArgs:
    """Arguments of :class:`AuroraPostgres`."""

    cluster_identifier: str
    """Physical cluster name: lowercase letters, digits and single hyphens, at most 63 characters."""
    vpc_id: pulumi.Input[str]
    """The VPC of the cluster's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets for the subnet group (at least two AZs)."""
    database_name: str = "reggie"
    """The initial database."""
    master_username: str = "reggie_admin"
    """The master user; its password is generated and rotated by RDS in Secrets Manager."""
    min_acu: float = 0.5
    """Serverless v2 minimum capacity; 0 lets the cluster pause when idle."""
    max_acu: float = 4
    """Serverless v2 maximum capacity (1 to 256, in steps of 0.5)."""
    seconds_until_auto_pause: int = 300
    """Idle time before pausing; only sent when ``min_acu`` is 0 (AWS rejects it otherwise)."""
    backup_retention_days: int = 7
    """Automated backup retention, 1 to 35 days."""
    preferred_backup_window: str = "02:00-03:00"
    """UTC window for the daily backup."""
    preferred_maintenance_window: str = "sun:03:30-sun:04:30"
    """UTC weekly maintenance window; must not overlap the backup window."""
    deletion_protection: bool = True
    """Refuse DeleteDBCluster while on."""
    skip_final_snapshot: bool = False
    """Skip the snapshot on delete; only where the stage allows losing the data."""
    idle_session_timeout_ms: int = 300_000
    """Server-side ``idle_session_timeout``: idle client connections close, so a cluster that may pause can."""
    allowed_security_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=_no_clients)
    """Security groups admitted on 5432, keyed by a label naming the client (e.g. ``"api"``); each becomes
    the ingress rule ``<name>-in-<label>``, so reordering them renames nothing. More can be added with
    :meth:`AuroraPostgres.allow_from`."""
    log_retention_days: int = 30
    """Retention of the exported PostgreSQL log (a CloudWatch-accepted value)."""
    retain_on_delete: bool = False
    """Keep the cluster (and key) in AWS when removed from the program."""
    failover_reader: bool = False
    """Add a reader in another AZ than the writer, at promotion tier 1, which Aurora promotes if the writer
    fails. It needs ``availability_zones``."""
    availability_zones: Sequence[str] = ()
    """The AZs of the subnets (at least two with ``failover_reader``), to place the reader away from the writer."""
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every taggable child."""
    transforms: AuroraPostgresTransforms = field(default_factory=AuroraPostgresTransforms)
    """Per-child hooks keyed by role (see :class:`AuroraPostgresTransforms`)."""

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.cluster_identifier):
            raise ComponentArgsError(
                f"AuroraPostgresArgs.cluster_identifier: {self.cluster_identifier!r} must start with a letter, use "
                "lowercase letters, digits and single hyphens, not end with a hyphen, and be at most 63 characters"
            )
        if not _valid_acu(self.min_acu):
            raise ComponentArgsError("AuroraPostgresArgs.min_acu: must be 0 to 256 in steps of 0.5")
        if not (_valid_acu(self.max_acu) and self.max_acu >= 1):
            raise ComponentArgsError("AuroraPostgresArgs.max_acu: must be 1 to 256 in steps of 0.5")
        if self.max_acu < self.min_acu:
            raise ComponentArgsError("AuroraPostgresArgs.max_acu: must be at least min_acu")
        if not 300 <= self.seconds_until_auto_pause <= 86_400:
            raise ComponentArgsError("AuroraPostgresArgs.seconds_until_auto_pause: must be 300 to 86400")
        if not 1 <= self.backup_retention_days <= 35:
            raise ComponentArgsError("AuroraPostgresArgs.backup_retention_days: must be 1 to 35")
        if not _WINDOW.match(self.preferred_backup_window):
            raise ComponentArgsError("AuroraPostgresArgs.preferred_backup_window: use hh24:mi-hh24:mi (UTC)")
        if not _MAINTENANCE_WINDOW.match(self.preferred_maintenance_window):
            raise ComponentArgsError(
                "AuroraPostgresArgs.preferred_maintenance_window: use ddd:hh24:mi-ddd:hh24:mi (UTC)"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ComponentArgsError(
                f"AuroraPostgresArgs.log_retention_days: {self.log_retention_days} is not a CloudWatch retention value"
            )
        if self.idle_session_timeout_ms <= 0:
            raise ComponentArgsError("AuroraPostgresArgs.idle_session_timeout_ms: must be positive")
        for label in self.allowed_security_groups:
            check_client_label(label)
        if self.failover_reader and len(set(self.availability_zones)) < 2:
            raise ComponentArgsError(
                "AuroraPostgresArgs.availability_zones: a failover reader needs at least two AZs to choose from"
            )
        check_transform_keys("AuroraPostgres", self.transforms, ROLES)

    @property
    def final_snapshot_identifier(self) -> str:
        return f"{self.cluster_identifier}-final"


class AuroraPostgres(Component):
    """Aurora Serverless v2 PostgreSQL 17: key, subnet group, security group, parameter group, cluster, writer.

    Roles (``nodes`` and ``transforms``): ``log_group``, ``kms_key``, ``kms_alias``, ``subnet_group``,
    ``security_group``, ``client_ingress`` (keyed by client label), ``parameter_group``, ``cluster``, ``writer``,
    ``reader``.
    """

    endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    cluster_resource_id: pulumi.Output[str]
    cluster_identifier: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    max_acu: float
    max_connections: int
    """The ``max_connections`` Aurora gives each instance at this capacity range (see :func:`max_connections`)."""

    def __init__(self, name: str, args: AuroraPostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:AuroraPostgres", name, args.transforms, ROLES, opts)
        ident = args.cluster_identifier
        retained = pulumi.ResourceOptions(retain_on_delete=args.retain_on_delete)
        key = self.child(
            "kms_key",
            aws.kms.Key,
            aws.kms.KeyArgs(
                description=f"Aurora storage of {ident}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                tags=with_name_tag(args.tags, ident),
            ),
            "key",
            opts=retained,
        )
        self.child(
            "kms_alias", aws.kms.Alias, aws.kms.AliasArgs(name=f"alias/{ident}", target_key_id=key.key_id), "key"
        )
        subnet_group = self.child(
            "subnet_group",
            aws.rds.SubnetGroup,
            aws.rds.SubnetGroupArgs(
                name=ident, description=f"Private subnets of {ident}", subnet_ids=args.subnet_ids, tags=args.tags
            ),
            "subnets",
        )
        self._security_group = self.child(
            "security_group",
            aws.ec2.SecurityGroup,
            aws.ec2.SecurityGroupArgs(
                vpc_id=args.vpc_id,
                description=f"PostgreSQL clients of {ident}",
                tags=with_name_tag(args.tags, ident),
            ),
            "sg",
        )
        for position, (label, source) in enumerate(args.allowed_security_groups.items()):
            # These rules were once named by list position (``client-<i>``): keep that identity as an alias,
            # unless another client is now labelled with that very name.
            former = f"client-{position}"
            formerly = () if former in args.allowed_security_groups else (f"{name}-in-{former}",)
            self._admit(label, source, formerly)
        parameter_group = self.child(
            "parameter_group",
            aws.rds.ClusterParameterGroup,
            aws.rds.ClusterParameterGroupArgs(
                name=ident,
                family=PARAMETER_GROUP_FAMILY,
                description=f"SSL-only, idle sessions closed ({ident})",
                parameters=[
                    aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                    aws.rds.ClusterParameterGroupParameterArgs(
                        name="idle_session_timeout", value=str(args.idle_session_timeout_ms)
                    ),
                    aws.rds.ClusterParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
                ],
                tags=args.tags,
            ),
            "params",
        )
        # RDS creates the export's log group on first write, with no expiry, unless it already exists.
        log_group = self.child(
            "log_group",
            aws.cloudwatch.LogGroup,
            aws.cloudwatch.LogGroupArgs(
                name=f"/aws/rds/cluster/{ident}/postgresql", retention_in_days=args.log_retention_days, tags=args.tags
            ),
            "logs",
            opts=retained,
        )
        scaling = aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
            min_capacity=args.min_acu,
            max_capacity=args.max_acu,
            seconds_until_auto_pause=args.seconds_until_auto_pause if args.min_acu == 0 else None,
        )
        cluster = self.child(
            "cluster",
            aws.rds.Cluster,
            aws.rds.ClusterArgs(
                cluster_identifier=ident,
                engine=ENGINE,
                engine_mode="provisioned",  # Serverless v2 runs on the provisioned engine mode
                engine_version=ENGINE_VERSION,
                database_name=args.database_name,
                master_username=args.master_username,
                manage_master_user_password=True,
                port=PORT,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[self._security_group.id],
                db_cluster_parameter_group_name=parameter_group.name,
                storage_encrypted=True,
                kms_key_id=key.arn,
                serverlessv2_scaling_configuration=scaling,
                backup_retention_period=args.backup_retention_days,
                preferred_backup_window=args.preferred_backup_window,
                preferred_maintenance_window=args.preferred_maintenance_window,
                deletion_protection=args.deletion_protection,
                skip_final_snapshot=args.skip_final_snapshot,
                final_snapshot_identifier=None if args.skip_final_snapshot else args.final_snapshot_identifier,
                copy_tags_to_snapshot=True,
                enabled_cloudwatch_logs_exports=["postgresql"],
                iam_database_authentication_enabled=True,
                tags=with_name_tag(args.tags, ident),
            ),
            "cluster",
            opts=pulumi.ResourceOptions.merge(retained, pulumi.ResourceOptions(depends_on=[log_group])),
        )
        writer = self._instance("writer", ident, cluster, subnet_group, args, opts=retained)
        if args.failover_reader:
            zones = tuple(args.availability_zones)
            self._instance(
                "reader",
                ident,
                cluster,
                subnet_group,
                args,
                # The reader waits for the writer, so Aurora makes the writer the writer.
                opts=pulumi.ResourceOptions.merge(retained, pulumi.ResourceOptions(depends_on=[writer])),
                # Wherever AWS placed the writer, the reader goes elsewhere. The names stay put after a failover
                # swaps the roles (AZs belong to instances), so nothing moves on the next deploy.
                availability_zone=writer.availability_zone.apply(lambda az: other_zone(az, zones)),
                promotion_tier=1,  # tiers 0-1 scale with the writer, so it can take over at full capacity
            )

        self.endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        self.port = cluster.port
        self.database_name = cluster.database_name
        self.master_secret_arn = cluster.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn or "")
        self.security_group_id = self._security_group.id
        self.cluster_arn = cluster.arn
        self.cluster_resource_id = cluster.cluster_resource_id
        self.cluster_identifier = cluster.cluster_identifier
        self.kms_key_arn = key.arn
        self.max_acu = args.max_acu
        self.max_connections = max_connections(args.min_acu, args.max_acu)
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "reader_endpoint": self.reader_endpoint,
                "port": self.port,
                "database_name": self.database_name,
                "master_secret_arn": self.master_secret_arn,
                "security_group_id": self.security_group_id,
            }
        )

    def _instance(
        self,
        role: Literal["writer", "reader"],
        ident: str,
        cluster: aws.rds.Cluster,
        subnet_group: aws.rds.SubnetGroup,
        args: AuroraPostgresArgs,
        *,
        opts: pulumi.ResourceOptions,
        availability_zone: pulumi.Input[str] | None = None,
        promotion_tier: int | None = None,
    ) -> aws.rds.ClusterInstance:
        """A Serverless v2 instance of the cluster (``<ident>-writer``, ``<ident>-reader``)."""
        return self.child(
            role,
            aws.rds.ClusterInstance,
            aws.rds.ClusterInstanceArgs(
                identifier=f"{ident[:56]}-{role}",
                cluster_identifier=cluster.id,
                instance_class="db.serverless",
                engine=aws.rds.EngineType.AURORA_POSTGRESQL,
                engine_version=cluster.engine_version,
                db_subnet_group_name=subnet_group.name,
                availability_zone=availability_zone,
                promotion_tier=promotion_tier,
                publicly_accessible=False,
                auto_minor_version_upgrade=False,  # the engine version is pinned above
                copy_tags_to_snapshot=True,
                tags=with_name_tag(args.tags, f"{ident}-{role}"),
            ),
            role,
            opts=opts,
        )

    def allow_from(self, label: str, security_group_id: pulumi.Input[str]) -> aws.vpc.SecurityGroupIngressRule:
        """Admit PostgreSQL (5432/tcp) from one security group, e.g. a function's; the rule is named by
        ``label`` (``<name>-in-<label>``) and filed under ``nodes["client_ingress"][label]``."""
        check_client_label(label)
        return self._admit(label, security_group_id, ())

    def _admit(
        self, label: str, security_group_id: pulumi.Input[str], former_names: tuple[str, ...]
    ) -> aws.vpc.SecurityGroupIngressRule:
        return self.child(
            "client_ingress",
            aws.vpc.SecurityGroupIngressRule,
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=self._security_group.id,
                referenced_security_group_id=security_group_id,
                ip_protocol="tcp",
                from_port=PORT,
                to_port=PORT,
                description=f"PostgreSQL from {label}",
            ),
            f"in-{label}",
            key=label,
            former_names=former_names,
        )


def other_zone(zone: str | None, zones: Sequence[str]) -> str:
    """An AZ of ``zones`` other than ``zone`` (the first such, so the choice is stable)."""
    others = [z for z in zones if z != zone]
    if not others:
        raise ComponentArgsError(f"AuroraPostgres: no AZ besides {zone!r} among {', '.join(zones)} for the reader")
    return others[0]


CONNECTIONS_PER_ACU = 189
"""``max_connections`` of an Aurora PostgreSQL Serverless v2 instance whose maximum capacity is 1 ACU (AWS's
documented figure for a 0.5-1 ACU range). The parameter's default, ``LEAST(DBInstanceClassMemory/9531392, 5000)``,
grows with the memory of the *maximum* capacity (about 2 GiB per ACU), so 189 per ACU is a slight underestimate
at larger sizes (AWS documents 3,360 at 16 ACU)."""


def max_connections(min_acu: float, max_acu: float) -> int:
    """The ``max_connections`` Aurora PostgreSQL Serverless v2 gives an instance of this capacity range, as near
    as AWS documents it (rounded down, so an alarm on it fires early rather than late): proportional to the
    maximum capacity, capped at 5,000, and at 2,000 when the minimum is 0 or 0.5 ACU."""
    cap = 2000 if min_acu <= 0.5 else 5000
    return min(int(CONNECTIONS_PER_ACU * max_acu), cap)
