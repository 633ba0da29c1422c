"""Network: a VPC with public and private subnets in each AZ, NAT (instance, gateway or none),
a free S3 gateway endpoint and optional flow logs.

The subnet plan matches SST's `sst.aws.Vpc` (public 10.0.{8i}.0/22, private 10.0.{8i+4}.0/22) so an
existing SST-made VPC can be imported without replacement.
"""

from __future__ import annotations

import ipaddress
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
    policy_document,
    roles_of,
    trust_policy,
    with_name_tag,
)

NatMode = Literal["instance", "gateway", "none"]
NAT_MODES: tuple[NatMode, ...] = ("instance", "gateway", "none")
FCK_NAT_OWNER = "568608671756"
"""The AWS account that publishes the fck-nat AMIs."""
FLOW_LOG_RETENTION_DAYS = 30


class NetworkTransforms(TypedDict, total=False):
    """The roles of :class:`Network`'s children, each with its transform hook's args type. Per-AZ children are
    keyed by the AZ's slot in the subnet plan (``"0"``, ``"1"``...): the slot fixes their CIDR blocks, so it is
    their identity, not a list position that could shift."""

    vpc: Transform[aws.ec2.VpcArgs]
    """``<name>-vpc``."""
    default_security_group: Transform[aws.ec2.DefaultSecurityGroupArgs]
    """The VPC's default security group, adopted with no rules at all (``<name>-default-sg``)."""
    internet_gateway: Transform[aws.ec2.InternetGatewayArgs]
    """``<name>-igw``."""
    public_route_table: Transform[aws.ec2.RouteTableArgs]
    """The public subnets' route table (``<name>-public-rt``)."""
    public_default_route: Transform[aws.ec2.RouteArgs]
    """0.0.0.0/0 through the internet gateway (``<name>-public-default``)."""
    public_subnet: Transform[aws.ec2.SubnetArgs]
    """Keyed by slot: ``<name>-public-<slot>``."""
    public_route_table_association: Transform[aws.ec2.RouteTableAssociationArgs]
    """Keyed by slot: ``<name>-public-<slot>``."""
    private_subnet: Transform[aws.ec2.SubnetArgs]
    """Keyed by slot: ``<name>-private-<slot>``."""
    private_route_table: Transform[aws.ec2.RouteTableArgs]
    """Keyed by slot: ``<name>-private-rt-<slot>``."""
    private_route_table_association: Transform[aws.ec2.RouteTableAssociationArgs]
    """Keyed by slot: ``<name>-private-<slot>``."""
    nat_security_group: Transform[aws.ec2.SecurityGroupArgs]
    """NAT instances only (``<name>-nat-sg``)."""
    nat_ingress: Transform[aws.vpc.SecurityGroupIngressRuleArgs]
    """Anything from inside the VPC to the NAT instances (``<name>-nat-in-vpc``)."""
    nat_egress: Transform[aws.vpc.SecurityGroupEgressRuleArgs]
    """The NAT instances to the internet (``<name>-nat-out``)."""
    nat_instance: Transform[aws.ec2.InstanceArgs]
    """Keyed by NAT slot: ``<name>-nat-<slot>``."""
    nat_instance_eip: Transform[aws.ec2.EipArgs]
    """Keyed by NAT slot: the Elastic IP on a NAT instance's interface (``<name>-nat-<slot>``)."""
    nat_gateway_eip: Transform[aws.ec2.EipArgs]
    """Keyed by NAT slot: the Elastic IP a NAT gateway allocates (``<name>-nat-<slot>``)."""
    nat_gateway: Transform[aws.ec2.NatGatewayArgs]
    """Keyed by NAT slot: ``<name>-nat-<slot>``."""
    private_default_route: Transform[aws.ec2.RouteArgs]
    """Keyed by private route table slot: 0.0.0.0/0 through its NAT (``<name>-private-default-<slot>``)."""
    s3_endpoint: Transform[aws.ec2.VpcEndpointArgs]
    """The free S3 gateway endpoint (``<name>-s3``)."""
    flow_log_group: Transform[aws.cloudwatch.LogGroupArgs]
    """``<name>-flow-logs``."""
    flow_log_role: Transform[aws.iam.RoleArgs]
    """The role VPC Flow Logs assumes (``<name>-flow-logs``)."""
    flow_log_policy: Transform[aws.iam.RolePolicyArgs]
    """Writing to the flow-log group only (``<name>-flow-logs``)."""
    flow_log: Transform[aws.ec2.FlowLogArgs]
    """``<name>-flow-log``."""


ROLES = roles_of(NetworkTransforms)


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
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every taggable child."""
    transforms: NetworkTransforms = field(default_factory=NetworkTransforms)
    """Per-child hooks keyed by role (see :class:`NetworkTransforms`)."""

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


class Network(Component):
    """A VPC with public and private subnets per AZ, NAT, an S3 gateway endpoint and optional flow logs.

    Roles (``nodes`` and ``transforms``, see :class:`NetworkTransforms`): ``vpc``, ``default_security_group``,
    ``internet_gateway``,
    ``public_route_table``, ``public_default_route``; keyed by AZ slot ``public_subnet``,
    ``public_route_table_association``, ``private_subnet``, ``private_route_table``,
    ``private_route_table_association``; the NAT's ``nat_security_group``, ``nat_ingress``, ``nat_egress`` and,
    keyed by NAT slot, ``nat_instance``, ``nat_instance_eip``, ``nat_gateway_eip``, ``nat_gateway``;
    ``private_default_route`` (keyed by route table slot), ``s3_endpoint``; with flow logs ``flow_log_group``,
    ``flow_log_role``, ``flow_log_policy``, ``flow_log``.
    """

    vpc_id: pulumi.Output[str]
    cidr_block: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    private_route_table_ids: pulumi.Output[list[str]]
    nat_public_ips: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:Network", name, args.transforms, ROLES, opts)
        prefix = args.name_prefix

        vpc = self.child(
            "vpc",
            aws.ec2.Vpc,
            aws.ec2.VpcArgs(
                cidr_block=args.cidr_block,
                enable_dns_support=True,
                enable_dns_hostnames=True,
                tags=with_name_tag(args.tags, prefix),
            ),
            "vpc",
        )
        # AWS gives every VPC a default group that admits all traffic between its members and lets everything
        # out; anything launched without a group lands in it. Adopted here with no rules, it admits nothing.
        self.child(
            "default_security_group",
            aws.ec2.DefaultSecurityGroup,
            aws.ec2.DefaultSecurityGroupArgs(
                vpc_id=vpc.id, ingress=[], egress=[], tags=with_name_tag(args.tags, f"{prefix}-default-no-rules")
            ),
            "default-sg",
        )
        igw = self.child(
            "internet_gateway",
            aws.ec2.InternetGateway,
            aws.ec2.InternetGatewayArgs(vpc_id=vpc.id, tags=with_name_tag(args.tags, prefix)),
            "igw",
        )
        public_rt = self.child(
            "public_route_table",
            aws.ec2.RouteTable,
            aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags=with_name_tag(args.tags, f"{prefix}-public")),
            "public-rt",
        )
        self.child(
            "public_default_route",
            aws.ec2.Route,
            aws.ec2.RouteArgs(route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id),
            "public-default",
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        private_rts: list[aws.ec2.RouteTable] = []
        for i, az in enumerate(args.availability_zones):
            slot = str(i)
            public_cidr, private_cidr = subnet_cidrs(args.cidr_block, i)
            public = self._subnet(
                "public", slot=slot, az=az, cidr_block=public_cidr, vpc=vpc, route_table=public_rt, args=args
            )
            rt = self.child(
                "private_route_table",
                aws.ec2.RouteTable,
                aws.ec2.RouteTableArgs(vpc_id=vpc.id, tags=with_name_tag(args.tags, f"{prefix}-private-{az}")),
                f"private-rt-{slot}",
                key=slot,
            )
            private = self._subnet(
                "private", slot=slot, az=az, cidr_block=private_cidr, vpc=vpc, route_table=rt, args=args
            )
            public_subnets.append(public)
            private_subnets.append(private)
            private_rts.append(rt)

        nat_ips = self._nat(args, vpc, public_subnets, private_rts)

        self.child(
            "s3_endpoint",
            aws.ec2.VpcEndpoint,
            aws.ec2.VpcEndpointArgs(
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.s3",
                vpc_endpoint_type="Gateway",  # gateway endpoints are free; S3 traffic skips the NAT
                route_table_ids=[rt.id for rt in private_rts],
                tags=with_name_tag(args.tags, f"{prefix}-s3"),
            ),
            "s3",
        )
        if args.flow_logs:
            self._flow_logs(args, vpc)

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

    def _subnet(
        self,
        tier: Literal["public", "private"],
        *,
        slot: str,
        az: str,
        cidr_block: str,
        vpc: aws.ec2.Vpc,
        route_table: aws.ec2.RouteTable,
        args: NetworkArgs,
    ) -> aws.ec2.Subnet:
        """One AZ slot's subnet of a tier and its route table association."""
        subnet = self.child(
            f"{tier}_subnet",
            aws.ec2.Subnet,
            aws.ec2.SubnetArgs(
                vpc_id=vpc.id,
                availability_zone=az,
                cidr_block=cidr_block,
                # NATs get Elastic IPs and nothing else lives in a public subnet: no automatic public IPs
                map_public_ip_on_launch=False if tier == "public" else None,
                tags=with_name_tag(args.tags, f"{args.name_prefix}-{tier}-{az}"),
            ),
            f"{tier}-{slot}",
            key=slot,
        )
        self.child(
            f"{tier}_route_table_association",
            aws.ec2.RouteTableAssociation,
            aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=route_table.id),
            f"{tier}-{slot}",
            key=slot,
        )
        return subnet

    def _nat(
        self,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        public_subnets: Sequence[aws.ec2.Subnet],
        private_rts: Sequence[aws.ec2.RouteTable],
    ) -> list[pulumi.Output[str]]:
        """Declare the NATs and each private route table's default route; returns the NAT public IPs."""
        count = args.effective_nat_count
        if count == 0:
            return []
        instance_nat = self._nat_instance_kit(args, vpc) if args.nat == "instance" else None
        ips: list[pulumi.Output[str]] = []
        for i in range(count):
            slot = str(i)
            subnet = public_subnets[i]
            tags = with_name_tag(args.tags, f"{args.name_prefix}-nat-{slot}")
            if instance_nat is not None:
                security_group, ami = instance_nat
                instance = self.child(
                    "nat_instance",
                    aws.ec2.Instance,
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
                        tags=tags,
                    ),
                    f"nat-{slot}",
                    key=slot,
                    opts=pulumi.ResourceOptions(ignore_changes=[] if args.nat_ami is not None else ["ami"]),
                )
                eip = self.child(
                    "nat_instance_eip",
                    aws.ec2.Eip,
                    aws.ec2.EipArgs(domain="vpc", network_interface=instance.primary_network_interface_id, tags=tags),
                    f"nat-{slot}",
                    key=slot,
                )
                eni, gateway_id = instance.primary_network_interface_id, None
            else:
                eip = self.child(
                    "nat_gateway_eip", aws.ec2.Eip, aws.ec2.EipArgs(domain="vpc", tags=tags), f"nat-{slot}", key=slot
                )
                gateway = self.child(
                    "nat_gateway",
                    aws.ec2.NatGateway,
                    aws.ec2.NatGatewayArgs(allocation_id=eip.id, subnet_id=subnet.id, tags=tags),
                    f"nat-{slot}",
                    key=slot,
                )
                eni, gateway_id = None, gateway.id
            ips.append(eip.public_ip)
            # Route tables share the NATs round-robin: with one NAT both AZs use it.
            for j, rt in enumerate(private_rts):
                if j % count == i:
                    self.child(
                        "private_default_route",
                        aws.ec2.Route,
                        aws.ec2.RouteArgs(
                            route_table_id=rt.id,
                            destination_cidr_block="0.0.0.0/0",
                            network_interface_id=eni,
                            nat_gateway_id=gateway_id,
                        ),
                        f"private-default-{j}",
                        key=str(j),
                    )
        return ips

    def _nat_instance_kit(self, args: NetworkArgs, vpc: aws.ec2.Vpc) -> tuple[aws.ec2.SecurityGroup, pulumi.Input[str]]:
        """What every NAT instance shares: its security group (VPC in, internet out) and the fck-nat AMI."""
        security_group = self.child(
            "nat_security_group",
            aws.ec2.SecurityGroup,
            aws.ec2.SecurityGroupArgs(
                vpc_id=vpc.id,
                description="NAT instance: forwards traffic from inside the VPC only",
                tags=with_name_tag(args.tags, f"{args.name_prefix}-nat"),
            ),
            "nat-sg",
        )
        self.child(
            "nat_ingress",
            aws.vpc.SecurityGroupIngressRule,
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=security_group.id,
                ip_protocol="-1",
                cidr_ipv4=vpc.cidr_block,
                description="anything from inside the VPC",
            ),
            "nat-in-vpc",
        )
        self.child(
            "nat_egress",
            aws.vpc.SecurityGroupEgressRule,
            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=security_group.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0", description="the internet"
            ),
            "nat-out",
        )
        if args.nat_ami is not None:
            return security_group, args.nat_ami
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
        return security_group, ami

    def _flow_logs(self, args: NetworkArgs, vpc: aws.ec2.Vpc) -> None:
        group = self.child(
            "flow_log_group",
            aws.cloudwatch.LogGroup,
            aws.cloudwatch.LogGroupArgs(
                name=f"/vpc/{args.name_prefix}/flow-logs",
                retention_in_days=args.flow_log_retention_days,
                tags=args.tags,
            ),
            "flow-logs",
        )
        role = self.child(
            "flow_log_role",
            aws.iam.Role,
            aws.iam.RoleArgs(
                assume_role_policy=trust_policy("vpc-flow-logs.amazonaws.com"),
                tags=args.tags,
            ),
            "flow-logs",
        )
        self.child(
            "flow_log_policy",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=group.arn.apply(
                    lambda arn: policy_document(
                        [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ]
                    )
                ),
            ),
            "flow-logs",
        )
        self.child(
            "flow_log",
            aws.ec2.FlowLog,
            aws.ec2.FlowLogArgs(
                vpc_id=vpc.id,
                traffic_type="ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=group.arn,
                iam_role_arn=role.arn,
                max_aggregation_interval=600,
                tags=args.tags,
            ),
            "flow-log",
        )
