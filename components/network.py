"""Network: a VPC with public and private subnets in each AZ, NAT (instance, gateway or none),
a free S3 gateway endpoint and optional flow logs.

The subnet plan matches SST's `sst.aws.Vpc` (public 10.0.{8i}.0/22, private 10.0.{8i+4}.0/22) so an
existing SST-made VPC can be imported without replacement.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components._common import (
    ComponentArgsError,
    Transforms,
    check_transform_keys,
    child_args,
    child_opts,
    no_transforms,
    with_name_tag,
)

NatMode = Literal["instance", "gateway", "none"]
NAT_MODES: tuple[NatMode, ...] = ("instance", "gateway", "none")
FCK_NAT_OWNER = "568608671756"
"""The AWS account that publishes the fck-nat AMIs."""
FLOW_LOG_RETENTION_DAYS = 30

ROLES = (
    "vpc",
    "internet_gateway",
    "public_subnet",
    "private_subnet",
    "public_route_table",
    "private_route_table",
    "nat_security_group",
    "nat_instance",
    "nat_eip",
    "nat_gateway",
    "s3_endpoint",
    "flow_log",
)


def _empty_tags() -> dict[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class NetworkArgs:
    """Arguments of :class:`Network`."""

    availability_zones: Sequence[str]
    """The AZs to spread over (2 for this platform), e.g. ``("eu-west-2a", "eu-west-2b")``."""
    cidr_block: str = "10.0.0.0/16"
    """The VPC's CIDR; must be a /16 so the /22 subnet plan fits."""
    nat: NatMode = "instance"
    """How private subnets reach the internet: an EC2 NAT instance, a managed NAT gateway, or not at all."""
    nat_count: int | None = None
    """How many NATs: 1 (shared by every private subnet) up to one per AZ (the default)."""
    nat_instance_type: str = "t4g.nano"
    """The NAT instance type; its architecture (arm64 or x86_64) picks the AMI flavour."""
    nat_ami: str | None = None
    """The fck-nat AMI id, pinned so a new AMI release never replaces a running NAT. ``None`` looks up the
    newest fck-nat AMI once and then ignores AMI changes on the instance."""
    flow_logs: bool = False
    """Send VPC flow logs (all traffic) to a CloudWatch log group."""
    flow_log_retention_days: int = FLOW_LOG_RETENTION_DAYS
    """Retention of the flow-log group."""
    name_prefix: str = "vpc"
    """Prefix of the physical names (Name tags, log group, role), e.g. ``reggie-production``."""
    tags: Mapping[str, str] = field(default_factory=_empty_tags)
    """Tags applied to every taggable child."""
    transforms: Transforms = field(default_factory=no_transforms)
    """Per-child hooks keyed by role: ``vpc``, ``internet_gateway``, ``public_subnet``, ``private_subnet``,
    ``public_route_table``, ``private_route_table``, ``nat_security_group``, ``nat_instance``, ``nat_eip``,
    ``nat_gateway``, ``s3_endpoint``, ``flow_log``."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.availability_zones) <= 4:
            raise ComponentArgsError("NetworkArgs.availability_zones: give between 1 and 4 AZs")
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise ComponentArgsError("NetworkArgs.availability_zones: AZs must be distinct")
        try:
            net = ipaddress.IPv4Network(self.cidr_block)
        except ValueError as exc:
            raise ComponentArgsError(f"NetworkArgs.cidr_block: {self.cidr_block!r} is not an IPv4 CIDR") from exc
        if net.prefixlen != 16:
            raise ComponentArgsError(f"NetworkArgs.cidr_block: must be a /16, got /{net.prefixlen}")
        if self.nat not in NAT_MODES:
            raise ComponentArgsError(f"NetworkArgs.nat: {self.nat!r} is not one of {', '.join(NAT_MODES)}")
        if self.nat_count is not None and not 1 <= self.nat_count <= len(self.availability_zones):
            raise ComponentArgsError(
                f"NetworkArgs.nat_count: must be between 1 and {len(self.availability_zones)} (one per AZ)"
            )
        instance_architecture(self.nat_instance_type)
        check_transform_keys("Network", self.transforms, ROLES)

    @property
    def region(self) -> str:
        """The region the AZs belong to (``eu-west-2a`` → ``eu-west-2``)."""
        return self.availability_zones[0][:-1]

    @property
    def effective_nat_count(self) -> int:
        if self.nat == "none":
            return 0
        return self.nat_count if self.nat_count is not None else len(self.availability_zones)


_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z]+)(?P<gen>\d+)(?P<attrs>[a-z-]*)\.(?P<size>[a-z0-9]+)$")


def instance_architecture(instance_type: str) -> Literal["arm64", "x86_64"]:
    """The CPU architecture of an EC2 instance type: Graviton families carry a ``g`` after the generation
    digit (t4g, c7gn, m6gd), everything else here is x86_64."""
    match = _INSTANCE_TYPE.match(instance_type)
    if match is None:
        raise ComponentArgsError(f"nat_instance_type: {instance_type!r} is not an EC2 instance type like t4g.nano")
    return "arm64" if "g" in match["attrs"] else "x86_64"


def subnet_cidrs(cidr_block: str, index: int) -> tuple[str, str]:
    """(public, private) /22 CIDRs of AZ number ``index``: the 2i-th and (2i+1)-th /22 blocks."""
    blocks = list(ipaddress.IPv4Network(cidr_block).subnets(new_prefix=22))
    return str(blocks[2 * index]), str(blocks[2 * index + 1])


class Network(pulumi.ComponentResource):
    """A VPC with public and private subnets per AZ, NAT, an S3 gateway endpoint and optional flow logs."""

    vpc_id: pulumi.Output[str]
    cidr_block: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    private_route_table_ids: pulumi.Output[list[str]]
    nat_public_ips: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:Network", name, None, opts)
        t = args.transforms
        prefix = args.name_prefix

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            child_args(
                t,
                "vpc",
                aws.ec2.VpcArgs(
                    cidr_block=args.cidr_block,
                    enable_dns_support=True,
                    enable_dns_hostnames=True,
                    tags=with_name_tag(args.tags, prefix),
                ),
            ),
            opts=child_opts(self),
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw",
            child_args(
                t,
                "internet_gateway",
                aws.ec2.InternetGatewayArgs(vpc_id=vpc.id, tags=with_name_tag(args.tags, prefix)),
            ),
            opts=child_opts(self),
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            child_args(
                t,
                "public_route_table",
                aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags=with_name_tag(args.tags, f"{prefix}-public")),
            ),
            opts=child_opts(self),
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child_opts(self),
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        private_rts: list[aws.ec2.RouteTable] = []
        for i, az in enumerate(args.availability_zones):
            public_cidr, private_cidr = subnet_cidrs(args.cidr_block, i)
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                child_args(
                    t,
                    "public_subnet",
                    aws.ec2.SubnetArgs(
                        vpc_id=vpc.id,
                        availability_zone=az,
                        cidr_block=public_cidr,
                        map_public_ip_on_launch=False,  # NATs get Elastic IPs; nothing else lives here
                        tags=with_name_tag(args.tags, f"{prefix}-public-{az}"),
                    ),
                ),
                opts=child_opts(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=child_opts(self)
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{i}",
                child_args(
                    t,
                    "private_subnet",
                    aws.ec2.SubnetArgs(
                        vpc_id=vpc.id,
                        availability_zone=az,
                        cidr_block=private_cidr,
                        tags=with_name_tag(args.tags, f"{prefix}-private-{az}"),
                    ),
                ),
                opts=child_opts(self),
            )
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}",
                child_args(
                    t,
                    "private_route_table",
                    aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags=with_name_tag(args.tags, f"{prefix}-private-{az}")),
                ),
                opts=child_opts(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}", subnet_id=private.id, route_table_id=rt.id, opts=child_opts(self)
            )
            public_subnets.append(public)
            private_subnets.append(private)
            private_rts.append(rt)

        nat_ips = self._nat(name, args, vpc, public_subnets, private_rts)

        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            child_args(
                t,
                "s3_endpoint",
                aws.ec2.VpcEndpointArgs(
                    vpc_id=vpc.id,
                    service_name=f"com.amazonaws.{args.region}.s3",
                    vpc_endpoint_type="Gateway",  # gateway endpoints are free; S3 traffic skips the NAT
                    route_table_ids=[rt.id for rt in private_rts],
                    tags=with_name_tag(args.tags, f"{prefix}-s3"),
                ),
            ),
            opts=child_opts(self),
        )
        if args.flow_logs:
            self._flow_logs(name, args, vpc)

        self.vpc_id = vpc.id
        self.cidr_block = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.private_route_table_ids = pulumi.Output.all(*[rt.id for rt in private_rts])
        self.nat_public_ips = pulumi.Output.all(*nat_ips)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "cidr_block": self.cidr_block,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "nat_public_ips": self.nat_public_ips,
            }
        )

    def _nat(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        public_subnets: Sequence[aws.ec2.Subnet],
        private_rts: Sequence[aws.ec2.RouteTable],
    ) -> list[pulumi.Output[str]]:
        """Declare the NATs and each private route table's default route; returns the NAT public IPs."""
        count = args.effective_nat_count
        if count == 0:
            return []
        t = args.transforms
        prefix = args.name_prefix
        security_group = None
        ami: pulumi.Input[str] | None = None
        if args.nat == "instance":
            security_group = aws.ec2.SecurityGroup(
                f"{name}-nat-sg",
                child_args(
                    t,
                    "nat_security_group",
                    aws.ec2.SecurityGroupArgs(
                        vpc_id=vpc.id,
                        description="NAT instance: forwards traffic from inside the VPC only",
                        tags=with_name_tag(args.tags, f"{prefix}-nat"),
                    ),
                ),
                opts=child_opts(self),
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nat-in-vpc",
                security_group_id=security_group.id,
                ip_protocol="-1",
                cidr_ipv4=vpc.cidr_block,
                description="anything from inside the VPC",
                opts=child_opts(self),
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-nat-out",
                security_group_id=security_group.id,
                ip_protocol="-1",
                cidr_ipv4="0.0.0.0/0",
                description="the internet",
                opts=child_opts(self),
            )
            ami = args.nat_ami
            if ami is None:
                arch = instance_architecture(args.nat_instance_type)
                ami = aws.ec2.get_ami_output(
                    owners=[FCK_NAT_OWNER],
                    most_recent=True,
                    filters=[
                        {"name": "name", "values": [f"fck-nat-al2023-*-{arch}-ebs"]},
                        {"name": "architecture", "values": [arch]},
                    ],
                    opts=pulumi.InvokeOutputOptions(parent=self),
                ).id

        ips: list[pulumi.Output[str]] = []
        for i in range(count):
            subnet = public_subnets[i]
            if args.nat == "instance":
                assert security_group is not None
                assert ami is not None
                instance = aws.ec2.Instance(
                    f"{name}-nat-{i}",
                    child_args(
                        t,
                        "nat_instance",
                        aws.ec2.InstanceArgs(
                            ami=ami,
                            instance_type=args.nat_instance_type,
                            subnet_id=subnet.id,
                            vpc_security_group_ids=[security_group.id],
                            source_dest_check=False,  # it forwards packets that are not addressed to it
                            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                                http_tokens="required", http_endpoint="enabled"
                            ),
                            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                                volume_type="gp3", encrypted=True, volume_size=8
                            ),
                            tags=with_name_tag(args.tags, f"{prefix}-nat-{i}"),
                        ),
                    ),
                    opts=child_opts(self, ignore_changes=[] if args.nat_ami is not None else ["ami"]),
                )
                eip = aws.ec2.Eip(
                    f"{name}-nat-{i}",
                    child_args(
                        t,
                        "nat_eip",
                        aws.ec2.EipArgs(
                            domain="vpc",
                            network_interface=instance.primary_network_interface_id,
                            tags=with_name_tag(args.tags, f"{prefix}-nat-{i}"),
                        ),
                    ),
                    opts=child_opts(self),
                )
                eni, gateway_id = instance.primary_network_interface_id, None
            else:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{i}",
                    child_args(
                        t,
                        "nat_eip",
                        aws.ec2.EipArgs(domain="vpc", tags=with_name_tag(args.tags, f"{prefix}-nat-{i}")),
                    ),
                    opts=child_opts(self),
                )
                gateway = aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    child_args(
                        t,
                        "nat_gateway",
                        aws.ec2.NatGatewayArgs(
                            allocation_id=eip.id,
                            subnet_id=subnet.id,
                            tags=with_name_tag(args.tags, f"{prefix}-nat-{i}"),
                        ),
                    ),
                    opts=child_opts(self),
                )
                eni, gateway_id = None, gateway.id
            ips.append(eip.public_ip)
            # Route tables share the NATs round-robin: with one NAT both AZs use it.
            for j, rt in enumerate(private_rts):
                if j % count == i:
                    aws.ec2.Route(
                        f"{name}-private-default-{j}",
                        route_table_id=rt.id,
                        destination_cidr_block="0.0.0.0/0",
                        network_interface_id=eni,
                        nat_gateway_id=gateway_id,
                        opts=child_opts(self),
                    )
        return ips

    def _flow_logs(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc) -> None:
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/vpc/{args.name_prefix}/flow-logs",
            retention_in_days=args.flow_log_retention_days,
            tags=args.tags,
            opts=child_opts(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=args.tags,
            opts=child_opts(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=child_opts(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            child_args(
                args.transforms,
                "flow_log",
                aws.ec2.FlowLogArgs(
                    vpc_id=vpc.id,
                    traffic_type="ALL",
                    log_destination_type="cloud-watch-logs",
                    log_destination=group.arn,
                    iam_role_arn=role.arn,
                    max_aggregation_interval=600,
                    tags=args.tags,
                ),
            ),
            opts=child_opts(self),
        )
