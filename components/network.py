"""Network: a VPC with public and private subnets in each AZ, NAT (instance, gateway or none),
a free S3 gateway endpoint and optional flow logs.

The subnet plan matches SST's `sst.aws.Vpc` (public 10.0.{8i}.0/22, private 10.0.{8i+4}.0/22) so an
existing SST-made VPC can be imported without replacement.

NAT instances (fck-nat) heal themselves with ``nat_healing="replace"``, fck-nat's high-availability mode:
each NAT slot has a fixed network interface that its private route table points at, and an Auto Scaling
group of one whose instance attaches that interface at boot (``eni_id`` in ``/etc/fck-nat.conf``, written by
the launch template's user data) and moves the slot's Elastic IP onto its own public interface (``eip_id``).
When the instance fails its EC2 status checks, is stopped by a hardware retirement, or is terminated, the
group launches another, which takes over the same interface and address: the route never changes, so the
private subnets' egress returns by itself in a few minutes, with the same public IP. Why this rather than a
status-check alarm with the EC2 recover action: recovery only moves an instance off failed *hardware*
(system status checks); it does nothing for an instance that hangs, is stopped or is terminated, and it
never applies a new launch configuration. The group handles all of those, costs nothing more (the group and
the interface are free; the instance's launch-time public IP is released when it takes the Elastic IP),
and a changed AMI or instance type rolls out through an instance refresh instead of replacing a resource the
routes name. ``nat_healing="none"`` keeps a lone instance whose route points at its own interface.
Either way the instances get an instance profile allowing exactly what Session Manager needs (the agent's
heartbeat and its message channels, inline: :data:`SESSION_MANAGER_ACTIONS`), so an operator opens a shell
with Session Manager (no SSH, no open port). Not ``AmazonSSMManagedInstanceCore``: besides Run Command and
patching, it grants ``ssm:GetParameter`` on every parameter, so an Internet-facing NAT could read every secret
of every stage in the account.
"""

from __future__ import annotations

import base64
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
NatHealing = Literal["replace", "none"]
"""NAT instances only: ``replace`` runs each in an Auto Scaling group of one behind a fixed interface (fck-nat's
HA mode); ``none`` is a lone instance."""
NAT_HEALINGS: tuple[NatHealing, ...] = ("replace", "none")
SESSION_MANAGER_ACTIONS = (
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
"""What the SSM agent (in the fck-nat AMI) needs for Session Manager shells, and no more (the statement of AWS's
own Session-Manager-only policy, ``AWSCloud9SSMInstanceProfile``). None of these actions has a resource type
to scope it to, so the statement names ``"*"``."""
_AWS_ID = re.compile(r"^[A-Za-z0-9-]+$")
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
    nat_role: Transform[aws.iam.RoleArgs]
    """NAT instances: the role they run as (``<name>-nat``)."""
    nat_session_policy: Transform[aws.iam.RolePolicyArgs]
    """NAT instances: Session Manager shells, inline (``<name>-nat-ssm``)."""
    nat_instance_profile: Transform[aws.iam.InstanceProfileArgs]
    """NAT instances: the role as an instance profile (``<name>-nat``)."""
    nat_instance: Transform[aws.ec2.InstanceArgs]
    """``nat_healing="none"``, keyed by NAT slot: ``<name>-nat-<slot>``."""
    nat_instance_eip: Transform[aws.ec2.EipArgs]
    """Keyed by NAT slot: a NAT instance's Elastic IP (``<name>-nat-<slot>``): on the lone instance's interface, or
    moved by each instance of the group onto its own at boot."""
    nat_interface: Transform[aws.ec2.NetworkInterfaceArgs]
    """``replace``, keyed by NAT slot: the fixed interface the route points at (``<name>-nat-<slot>``)."""
    nat_launch_template: Transform[aws.ec2.LaunchTemplateArgs]
    """``replace``, keyed by NAT slot: the instance to launch and its fck-nat config (``<name>-nat-<slot>``)."""
    nat_ha_policy: Transform[aws.iam.RolePolicyArgs]
    """``replace``: attach the NAT interfaces, take the NAT Elastic IPs, and nothing else (``<name>-nat-ha``)."""
    nat_group: Transform[aws.autoscaling.GroupArgs]
    """``replace``, keyed by NAT slot: the Auto Scaling group of one (``<name>-nat-<slot>``)."""
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
    newest fck-nat AMI once and then ignores AMI changes on the instance (or launch template)."""
    nat_healing: NatHealing = "replace"
    """NAT instances only: ``replace`` (an Auto Scaling group of one per slot behind a fixed interface, fck-nat's
    HA mode) or ``none`` (a lone instance)."""
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
        if self.nat_healing not in NAT_HEALINGS:
            raise ComponentArgsError(
                f"NetworkArgs.nat_healing: {self.nat_healing!r} is not one of {', '.join(NAT_HEALINGS)}"
            )
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


@dataclass(frozen=True, slots=True)
class _NatKit:
    """What every NAT instance of a network shares."""

    security_group: aws.ec2.SecurityGroup
    ami: pulumi.Input[str]
    role: aws.iam.Role
    profile: aws.iam.InstanceProfile


@dataclass(frozen=True, slots=True)
class _HealingSlot:
    """One NAT slot in HA mode, between declaring its parts and its group."""

    slot: str
    subnet: aws.ec2.Subnet
    eip: aws.ec2.Eip
    interface: aws.ec2.NetworkInterface
    tags: Mapping[str, str]


def fck_nat_user_data(interface_id: str, allocation_id: str) -> str:
    """The launch template's user data (base64): fck-nat's config for HA mode, then a restart of its service,
    which attaches ``eni_id`` as the second interface and associates ``eip_id`` with the instance's own."""
    for value in (interface_id, allocation_id):
        if not _AWS_ID.match(value):
            raise ComponentArgsError(f"fck-nat user data: {value!r} is not an AWS resource id")
    script = (
        "#!/bin/sh\n"
        "# fck-nat HA mode: take over the slot's fixed interface (the private route tables' next hop) and its\n"
        "# Elastic IP. Written by the Network component; the service reads it on start.\n"
        "cat > /etc/fck-nat.conf <<'CONF'\n"
        f"eni_id={interface_id}\n"
        f"eip_id={allocation_id}\n"
        "CONF\n"
        "systemctl restart fck-nat.service\n"
    )
    return base64.b64encode(script.encode()).decode()


def nat_ha_policy(region: str, name_prefix: str, allocation_ids: Sequence[str]) -> str:
    """The NAT role's HA grant: attach an interface to an instance, turn off the source/destination check of the
    instance's own interface, and associate the slots' Elastic IPs, only on instances and interfaces tagged as
    this network's NATs (fck-nat's documented needs: AttachNetworkInterface, ModifyNetworkInterfaceAttribute,
    AssociateAddress and DisassociateAddress)."""
    nat_tagged = {"StringLike": {"aws:ResourceTag/Name": f"{name_prefix}-nat-*"}}
    return policy_document(
        [
            {
                "Sid": "NatInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:AttachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute", "ec2:AssociateAddress"],
                "Resource": [f"arn:aws:ec2:{region}:*:instance/*", f"arn:aws:ec2:{region}:*:network-interface/*"],
                "Condition": nat_tagged,
            },
            {
                "Sid": "NatAddresses",
                "Effect": "Allow",
                "Action": ["ec2:AssociateAddress", "ec2:DisassociateAddress"],
                "Resource": [f"arn:aws:ec2:{region}:*:elastic-ip/{eip}" for eip in sorted(allocation_ids)],
            },
        ]
    )


class Network(Component):
    """A VPC with public and private subnets per AZ, NAT, an S3 gateway endpoint and optional flow logs.

    Roles (``nodes`` and ``transforms``, see :class:`NetworkTransforms`): ``vpc``, ``default_security_group``,
    ``internet_gateway``,
    ``public_route_table``, ``public_default_route``; keyed by AZ slot ``public_subnet``,
    ``public_route_table_association``, ``private_subnet``, ``private_route_table``,
    ``private_route_table_association``; the NAT's ``nat_security_group``, ``nat_ingress``, ``nat_egress``,
    ``nat_role``, ``nat_session_policy``, ``nat_instance_profile``, ``nat_ha_policy`` and, keyed by NAT slot,
    ``nat_instance``, ``nat_instance_eip``, ``nat_interface``, ``nat_launch_template``, ``nat_group``,
    ``nat_gateway_eip``, ``nat_gateway``;
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
        kit = self._nat_instance_kit(args, vpc) if args.nat == "instance" else None
        ips: list[pulumi.Output[str]] = []
        slots: list[_HealingSlot] = []
        for i in range(count):
            slot = str(i)
            subnet = public_subnets[i]
            tags = with_name_tag(args.tags, f"{args.name_prefix}-nat-{slot}")
            if kit is None:
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
            elif args.nat_healing == "replace":
                eip, interface = self._healing_slot(args, kit, slot, subnet, tags)
                slots.append(_HealingSlot(slot, subnet, eip, interface, tags))
                eni, gateway_id = interface.id, None
            else:
                eip, eni = self._lone_instance(args, kit, slot, subnet, tags)
                gateway_id = None
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
        if kit is not None and slots:
            self._healing_groups(args, kit, slots)
        return ips

    def _lone_instance(
        self, args: NetworkArgs, kit: _NatKit, slot: str, subnet: aws.ec2.Subnet, tags: Mapping[str, str]
    ) -> tuple[aws.ec2.Eip, pulumi.Output[str]]:
        """``nat_healing="none"``: one instance, its Elastic IP on its own interface, which the route names."""
        instance = self.child(
            "nat_instance",
            aws.ec2.Instance,
            aws.ec2.InstanceArgs(
                ami=kit.ami,
                instance_type=args.nat_instance_type,
                subnet_id=subnet.id,
                vpc_security_group_ids=[kit.security_group.id],
                source_dest_check=False,  # it forwards packets that are not addressed to it
                iam_instance_profile=kit.profile.name,
                metadata_options=aws.ec2.InstanceMetadataOptionsArgs(http_tokens="required", http_endpoint="enabled"),
                root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(volume_type="gp3", encrypted=True, volume_size=8),
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
        return eip, instance.primary_network_interface_id

    def _healing_slot(
        self, args: NetworkArgs, kit: _NatKit, slot: str, subnet: aws.ec2.Subnet, tags: Mapping[str, str]
    ) -> tuple[aws.ec2.Eip, aws.ec2.NetworkInterface]:
        """``nat_healing="replace"``: the slot's Elastic IP (no association here: each instance of the group takes
        it at boot, so the program and the instances never fight over it; a stack that had a lone instance keeps
        the same address), its fixed interface, and the launch template whose user data names both."""
        eip = self.child(
            "nat_instance_eip", aws.ec2.Eip, aws.ec2.EipArgs(domain="vpc", tags=tags), f"nat-{slot}", key=slot
        )
        interface = self.child(
            "nat_interface",
            aws.ec2.NetworkInterface,
            aws.ec2.NetworkInterfaceArgs(
                subnet_id=subnet.id,
                security_groups=[kit.security_group.id],
                source_dest_check=False,  # the private subnets' traffic arrives here, addressed elsewhere
                description=f"{args.name_prefix} NAT {slot}: the private route tables' next hop",
                tags=tags,
            ),
            f"nat-{slot}",
            key=slot,
        )
        self.child(
            "nat_launch_template",
            aws.ec2.LaunchTemplate,
            aws.ec2.LaunchTemplateArgs(
                name=f"{args.name_prefix}-nat-{slot}",
                description=f"fck-nat in HA mode for NAT slot {slot}",
                image_id=kit.ami,
                instance_type=args.nat_instance_type,
                iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=kit.profile.arn),
                network_interfaces=[
                    aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                        device_index=0,
                        # Until it takes the Elastic IP, the instance reaches the EC2 API through this address;
                        # associating the Elastic IP releases it.
                        associate_public_ip_address="true",
                        delete_on_termination="true",
                        security_groups=[kit.security_group.id],
                    )
                ],
                metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                    http_tokens="required", http_endpoint="enabled", http_put_response_hop_limit=1
                ),
                block_device_mappings=[
                    aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                        device_name="/dev/xvda",
                        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                            volume_size=8, volume_type="gp3", encrypted="true", delete_on_termination="true"
                        ),
                    )
                ],
                # Tagged with the slot's Name: the HA policy lets an instance act only on resources so tagged.
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                    for kind in ("instance", "network-interface", "volume")
                ],
                user_data=pulumi.Output.all(interface.id, eip.id).apply(lambda ids: fck_nat_user_data(*ids)),
                update_default_version=True,
                tags=tags,
            ),
            f"nat-{slot}",
            key=slot,
            opts=pulumi.ResourceOptions(ignore_changes=[] if args.nat_ami is not None else ["imageId"]),
        )
        return eip, interface

    def _healing_groups(self, args: NetworkArgs, kit: _NatKit, slots: Sequence[_HealingSlot]) -> None:
        """What fck-nat's HA mode may do (attach the slot's interface, take the slot's Elastic IP), then each
        slot's Auto Scaling group of one, launched once that grant exists."""
        region = args.region
        policy = self.child(
            "nat_ha_policy",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(
                role=kit.role.id,
                policy=pulumi.Output.all(*[s.eip.id for s in slots]).apply(
                    lambda allocations: nat_ha_policy(region, args.name_prefix, [str(a) for a in allocations])
                ),
            ),
            "nat-ha",
        )
        templates = self.keyed_nodes("nat_launch_template", aws.ec2.LaunchTemplate)
        for slot in slots:
            template = templates[slot.slot]
            self.child(
                "nat_group",
                aws.autoscaling.Group,
                aws.autoscaling.GroupArgs(
                    name=f"{args.name_prefix}-nat-{slot.slot}",
                    min_size=1,
                    max_size=1,
                    desired_capacity=1,
                    vpc_zone_identifiers=[slot.subnet.id],  # the fixed interface's subnet, so its AZ
                    launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                        id=template.id, version=template.latest_version.apply(str)
                    ),
                    # EC2 health: an instance failing its status checks, stopped or gone is replaced.
                    health_check_type="EC2",
                    health_check_grace_period=120,
                    # Free at one-minute granularity; the stage's alarm on "none in service" reads it.
                    enabled_metrics=[aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES],
                    # A new launch template version (instance type, pinned AMI) replaces the instance: the old one
                    # must let go of the interface before the new one can attach it, hence 0% healthy.
                    instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                        strategy="Rolling",
                        preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(min_healthy_percentage=0),
                    ),
                    tags=[
                        aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                        for k, v in sorted(slot.tags.items())
                    ],
                ),
                f"nat-{slot.slot}",
                key=slot.slot,
                opts=pulumi.ResourceOptions(depends_on=[policy, kit.profile]),
            )

    def _nat_instance_kit(self, args: NetworkArgs, vpc: aws.ec2.Vpc) -> _NatKit:
        """What every NAT instance shares: its security group (VPC in, internet out), the fck-nat AMI, and the
        role (Session Manager) it runs as."""
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
        role = self.child(
            "nat_role",
            aws.iam.Role,
            aws.iam.RoleArgs(
                description=f"NAT instances of {args.name_prefix}",
                assume_role_policy=trust_policy("ec2.amazonaws.com"),
                tags=args.tags,
            ),
            "nat",
        )
        self.child(
            "nat_session_policy",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=policy_document(
                    [
                        {
                            "Sid": "SessionManager",
                            "Effect": "Allow",
                            "Action": list(SESSION_MANAGER_ACTIONS),
                            "Resource": "*",
                        }
                    ]
                ),
            ),
            "nat-ssm",
        )
        profile = self.child(
            "nat_instance_profile", aws.iam.InstanceProfile, aws.iam.InstanceProfileArgs(role=role.name), "nat"
        )
        return _NatKit(security_group, self._nat_ami(args), role, profile)

    def _nat_ami(self, args: NetworkArgs) -> pulumi.Input[str]:
        if args.nat_ami is not None:
            return args.nat_ami
        arch = instance_architecture(args.nat_instance_type)
        return aws.ec2.get_ami_output(
            owners=[FCK_NAT_OWNER],
            most_recent=True,
            filters=[
                {"name": "name", "values": [f"fck-nat-al2023-*-{arch}-ebs"]},
                {"name": "architecture", "values": [arch]},
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).id

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
