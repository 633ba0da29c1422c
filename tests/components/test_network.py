"""Network under mocks: subnets, NAT modes, NAT healing (fck-nat's HA mode), the S3 endpoint, flow logs,
validation and transforms."""

from __future__ import annotations

import base64
import json

import pulumi
import pulumi_aws as aws
import pytest

from components import ComponentArgsError, Network, NetworkArgs
from components.network import SESSION_MANAGER_ACTIONS, fck_nat_user_data, instance_architecture, subnet_cidrs
from infra.mocks import Recording
from tests.components.helpers import children_of, component, of_type, one, run

AZS = ("eu-west-2a", "eu-west-2b")


def test_lone_nat_instances_have_sst_compatible_subnets_and_a_nat_instance_per_az() -> None:
    rec = run(
        lambda: Network("net", NetworkArgs(availability_zones=AZS, nat_ami="ami-0123456789abcdef0", nat_healing="none"))
    )
    res = rec.resources
    net = component(res, "reggie:components:Network")
    assert {r.urn for r in res if r.custom} == {r.urn for r in children_of(res, net)}  # every child parented

    vpc = one(res, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True
    subnets = {
        r.name: (r.inputs["availabilityZone"], r.inputs["cidrBlock"]) for r in of_type(res, "aws:ec2/subnet:Subnet")
    }
    assert subnets == {
        "net-public-0": ("eu-west-2a", "10.0.0.0/22"),
        "net-private-0": ("eu-west-2a", "10.0.4.0/22"),
        "net-public-1": ("eu-west-2b", "10.0.8.0/22"),
        "net-private-1": ("eu-west-2b", "10.0.12.0/22"),
    }
    one(res, "aws:ec2/internetGateway:InternetGateway")

    instances = of_type(res, "aws:ec2/instance:Instance")
    assert len(instances) == 2
    for nat in instances:
        assert nat.inputs["ami"] == "ami-0123456789abcdef0"
        assert nat.inputs["instanceType"] == "t4g.nano"
        assert nat.inputs["sourceDestCheck"] is False
        assert nat.inputs["metadataOptions"]["httpTokens"] == "required"
        assert nat.inputs["rootBlockDevice"] == {"encrypted": True, "volumeType": "gp3", "volumeSize": 8}
        assert nat.inputs["iamInstanceProfile"] == "net-nat"  # the profile: Session Manager, even without healing
        assert rec.options[nat.urn].ignore_changes == ()  # pinned AMI: a change is a reviewed replacement
    assert len(of_type(res, "aws:ec2/eip:Eip")) == 2
    assert all(e.inputs["domain"] == "vpc" for e in of_type(res, "aws:ec2/eip:Eip"))

    ingress = one(res, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress.inputs["cidrIpv4"] == "10.0.0.0/16"  # only the VPC may use the NAT
    private_routes = [r for r in of_type(res, "aws:ec2/route:Route") if r.name.startswith("net-private-default")]
    enis = {r.inputs["networkInterfaceId"] for r in private_routes}
    assert len(private_routes) == 2
    assert len(enis) == 2  # one NAT per AZ

    endpoint = one(res, "aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.eu-west-2.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert len(endpoint.inputs["routeTableIds"]) == 2
    assert of_type(res, "aws:ec2/flowLog:FlowLog") == []


def test_one_shared_nat_instance_serves_both_private_route_tables() -> None:
    res = run(lambda: Network("net", NetworkArgs(availability_zones=AZS, nat_count=1, nat_healing="none"))).resources
    assert len(of_type(res, "aws:ec2/instance:Instance")) == 1
    routes = [r for r in of_type(res, "aws:ec2/route:Route") if r.name.startswith("net-private-default")]
    assert len(routes) == 2
    assert len({r.inputs["networkInterfaceId"] for r in routes}) == 1


def test_unpinned_ami_is_looked_up_once_and_then_ignored() -> None:
    rec = run(lambda: Network("net", NetworkArgs(availability_zones=AZS, nat_count=1, nat_healing="none")))
    nat = one(rec.resources, "aws:ec2/instance:Instance")
    assert nat.inputs["ami"].startswith("ami-")
    assert rec.options[nat.urn].ignore_changes == ("ami",)  # a new fck-nat release never replaces the NAT
    healing = run(lambda: Network("net", NetworkArgs(availability_zones=AZS, nat_count=1)))
    template = one(healing.resources, "aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["imageId"].startswith("ami-")
    assert healing.options[template.urn].ignore_changes == ("imageId",)  # nor rolls the group


def _healing(nat_count: int = 2) -> Recording:
    return run(lambda: Network("net", NetworkArgs(availability_zones=AZS, nat_count=nat_count, name_prefix="rg")))


def test_healing_nat_runs_each_slot_in_a_group_of_one_behind_a_fixed_interface() -> None:
    rec = _healing()
    res = rec.resources
    assert of_type(res, "aws:ec2/instance:Instance") == []  # the groups launch them
    subnets = {r.name: r for r in of_type(res, "aws:ec2/subnet:Subnet")}
    interfaces = {r.name: r for r in of_type(res, "aws:ec2/networkInterface:NetworkInterface")}
    groups = {r.name: r for r in of_type(res, "aws:autoscaling/group:Group")}
    templates = {r.name: r for r in of_type(res, "aws:ec2/launchTemplate:LaunchTemplate")}
    assert set(interfaces) == set(groups) == set(templates) == {"net-nat-0", "net-nat-1"}
    for slot in ("0", "1"):
        name = f"net-nat-{slot}"
        interface, group, template = interfaces[name], groups[name], templates[name]
        public = f"net-public-{slot}-id"
        assert interface.inputs["subnetId"] == public
        assert interface.inputs["sourceDestCheck"] is False
        assert interface.inputs["tags"]["Name"] == f"rg-nat-{slot}"
        # a group of exactly one, in the interface's subnet (so its AZ), replacing what fails EC2 checks
        assert (group.inputs["minSize"], group.inputs["maxSize"], group.inputs["desiredCapacity"]) == (1, 1, 1)
        assert group.inputs["vpcZoneIdentifiers"] == [public]
        assert subnets[f"net-public-{slot}"].inputs["availabilityZone"] == AZS[int(slot)]
        assert group.inputs["healthCheckType"] == "EC2"
        assert group.inputs["launchTemplate"]["id"] == f"{name}-id"
        assert group.inputs["instanceRefresh"]["preferences"]["minHealthyPercentage"] == 0
        assert template.inputs["instanceType"] == "t4g.nano"
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
        assert template.inputs["iamInstanceProfile"]["arn"].endswith("/net-nat")
        (nic,) = template.inputs["networkInterfaces"]
        assert nic["associatePublicIpAddress"] == "true"  # reaches the EC2 API until it takes the Elastic IP
        assert {spec["resourceType"] for spec in template.inputs["tagSpecifications"]} >= {
            "instance",
            "network-interface",
        }
        assert all(spec["tags"]["Name"] == f"rg-nat-{slot}" for spec in template.inputs["tagSpecifications"])
        config = base64.b64decode(template.inputs["userData"]).decode()
        assert f"eni_id={name}-id\n" in config  # the fixed interface (mocks name ids after resources)
        assert f"eip_id={name}-id\n" in config  # the slot's Elastic IP allocation
        assert "/etc/fck-nat.conf" in config
        assert config.rstrip().endswith("systemctl restart fck-nat.service")
        # the group launches only once its instances may attach the interface and take the address
        ha_policy = one(res, "aws:iam/rolePolicy:RolePolicy", "net-nat-ha")
        assert ha_policy.urn in rec.options[group.urn].dependencies


def test_the_route_names_the_fixed_interface_so_a_replacement_changes_no_route() -> None:
    res = _healing().resources
    routes = {r.name: r for r in of_type(res, "aws:ec2/route:Route") if r.name.startswith("net-private-default")}
    assert {name: r.inputs["networkInterfaceId"] for name, r in routes.items()} == {
        "net-private-default-0": "net-nat-0-id",
        "net-private-default-1": "net-nat-1-id",
    }
    # the Elastic IPs keep their names (and addresses) and are associated by the instances, not the program
    eips = of_type(res, "aws:ec2/eip:Eip")
    assert sorted(e.name for e in eips) == ["net-nat-0", "net-nat-1"]
    assert all("networkInterface" not in e.inputs for e in eips)


def test_one_healing_nat_serves_both_route_tables() -> None:
    res = _healing(nat_count=1).resources
    assert len(of_type(res, "aws:autoscaling/group:Group")) == 1
    routes = [r for r in of_type(res, "aws:ec2/route:Route") if r.name.startswith("net-private-default")]
    assert {r.inputs["networkInterfaceId"] for r in routes} == {"net-nat-0-id"}


def test_nat_instances_may_open_a_session_manager_shell_and_only_touch_their_own_interfaces() -> None:
    res = _healing().resources
    role = one(res, "aws:iam/role:Role", "net-nat")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    # Session Manager, inline, and nothing else on "*": AmazonSSMManagedInstanceCore would let an Internet-facing
    # instance read every SSM parameter (every secret) of the account.
    assert of_type(res, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    (session,) = json.loads(one(res, "aws:iam/rolePolicy:RolePolicy", "net-nat-ssm").inputs["policy"])["Statement"]
    assert session["Action"] == list(SESSION_MANAGER_ACTIONS)
    assert not [a for a in session["Action"] if a.startswith("ssm:Get")]
    assert one(res, "aws:iam/instanceProfile:InstanceProfile").inputs["role"] == "net-nat"
    statements = json.loads(one(res, "aws:iam/rolePolicy:RolePolicy", "net-nat-ha").inputs["policy"])["Statement"]
    by_sid = {st["Sid"]: st for st in statements}
    interfaces = by_sid["NatInterfaces"]
    assert sorted(interfaces["Action"]) == [
        "ec2:AssociateAddress",
        "ec2:AttachNetworkInterface",
        "ec2:ModifyNetworkInterfaceAttribute",
    ]
    assert interfaces["Condition"] == {"StringLike": {"aws:ResourceTag/Name": "rg-nat-*"}}
    assert by_sid["NatAddresses"]["Resource"] == [
        "arn:aws:ec2:eu-west-2:*:elastic-ip/net-nat-0-id",
        "arn:aws:ec2:eu-west-2:*:elastic-ip/net-nat-1-id",
    ]
    assert not any("*" in action for st in statements for action in st["Action"])


def test_user_data_refuses_anything_but_resource_ids() -> None:
    assert base64.b64decode(fck_nat_user_data("eni-0abc", "eipalloc-0def")).decode().count("=") == 2
    with pytest.raises(ComponentArgsError, match="not an AWS resource id"):
        fck_nat_user_data("eni-0abc; reboot", "eipalloc-0def")


def test_gateway_mode_uses_managed_nat_gateways() -> None:
    res = run(lambda: Network("net", NetworkArgs(availability_zones=AZS, nat="gateway"))).resources
    assert of_type(res, "aws:ec2/instance:Instance") == []
    gateways = of_type(res, "aws:ec2/natGateway:NatGateway")
    assert len(gateways) == 2
    routes = [r for r in of_type(res, "aws:ec2/route:Route") if r.name.startswith("net-private-default")]
    assert all("natGatewayId" in r.inputs for r in routes)


def test_none_mode_leaves_private_subnets_without_a_default_route() -> None:
    res = run(lambda: Network("net", NetworkArgs(availability_zones=AZS, nat="none"))).resources
    assert of_type(res, "aws:ec2/instance:Instance") == []
    assert of_type(res, "aws:ec2/eip:Eip") == []
    assert [r.name for r in of_type(res, "aws:ec2/route:Route")] == ["net-public-default"]


def test_flow_logs_go_to_a_log_group_with_retention() -> None:
    res = run(
        lambda: Network("net", NetworkArgs(availability_zones=AZS, flow_logs=True, flow_log_retention_days=90))
    ).resources
    flow = one(res, "aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    group = one(res, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 90


def test_transform_hook_adjusts_a_child_without_forking() -> None:
    def bigger(args: aws.ec2.LaunchTemplateArgs, opts: pulumi.ResourceOptions, name: str) -> None:
        assert name == "net-nat-0"
        args.instance_type = "t4g.micro"

    res = run(
        lambda: Network(
            "net", NetworkArgs(availability_zones=AZS, nat_count=1, transforms={"nat_launch_template": bigger})
        )
    ).resources
    assert one(res, "aws:ec2/launchTemplate:LaunchTemplate").inputs["instanceType"] == "t4g.micro"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cidr_block": "10.0.0.0/24"}, "cidr_block"),
        ({"nat": "box"}, "nat"),
        ({"nat_count": 3}, "nat_count"),
        ({"nat_instance_type": "nano"}, "nat_instance_type"),
        ({"nat_healing": "recover"}, "nat_healing"),
        ({"transforms": {"natinstance": lambda *_: None}}, "natinstance"),
        ({"transforms": {"nat_eip": lambda *_: None}}, "nat_eip"),  # split: nat_instance_eip, nat_gateway_eip
    ],
)
def test_bad_arguments_are_rejected_up_front(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ComponentArgsError, match=field):
        NetworkArgs(availability_zones=AZS, **kwargs)  # type: ignore[arg-type]


def test_architecture_follows_the_instance_family() -> None:
    assert instance_architecture("t4g.nano") == "arm64"
    assert instance_architecture("c7gn.large") == "arm64"
    assert instance_architecture("t3.nano") == "x86_64"
    assert instance_architecture("m7i-flex.large") == "x86_64"


def test_subnet_plan_matches_sst() -> None:
    assert subnet_cidrs("10.0.0.0/16", 2) == ("10.0.16.0/22", "10.0.20.0/22")


def test_the_default_security_group_is_adopted_with_no_rules() -> None:
    """AWS's default group admits everything among its members and lets everything out; declared with empty
    rule lists, the provider strips them on adoption and keeps them stripped."""
    res = run(lambda: Network("net", NetworkArgs(availability_zones=AZS, nat="none"))).resources
    default = one(res, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.name == "net-default-sg"
    assert default.inputs["vpcId"] == "net-vpc-id"
    assert default.inputs["ingress"] == []
    assert default.inputs["egress"] == []
