"""Where a stage's network comes from: its own VPC, or a shared one read through a StackReference.

Production, staging and network stacks (``dev-network``) declare their own :class:`components.Network`.
A personal stage by default (``reggie:network: shared``) reuses the VPC of the stack named by
``reggie:networkStack`` (default ``dev-network``, in the same organisation and project), so it pays for no
NAT of its own; ``reggie:network: own`` gives it a VPC with one NAT instance instead. Either way the platform
sees the same four outputs, :class:`NetworkLike`, which is also what a network stack exports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi

from components import Network, NetworkArgs
from infra.config import Stage
from infra.naming import physical_name

OUTPUTS = ("vpcId", "vpcCidr", "privateSubnetIds", "natPublicIps")
"""The stack outputs a network provider exports and a shared-network stage reads."""


class NetworkLike(Protocol):
    """What the platform needs of a network, whoever declares it."""

    @property
    def vpc_id(self) -> pulumi.Output[str]: ...

    @property
    def cidr_block(self) -> pulumi.Output[str]: ...

    @property
    def private_subnet_ids(self) -> pulumi.Output[list[str]]: ...

    @property
    def nat_public_ips(self) -> pulumi.Output[list[str]]: ...


class SharedNetworkError(pulumi.RunError):
    """The referenced network stack lacks an output or exports it in the wrong shape."""


@dataclass(frozen=True, slots=True)
class SharedNetwork:
    """Another stack's network, read through a StackReference (nothing is declared)."""

    vpc_id: pulumi.Output[str]
    cidr_block: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    nat_public_ips: pulumi.Output[list[str]]


def network_for(stage: Stage) -> NetworkLike:
    """The stage's network according to ``stage.network_mode``."""
    if stage.network_mode == "shared":
        assert stage.network_stack is not None  # load_stage sets it for shared mode
        name = qualified_stack_name(stage.network_stack, pulumi.get_organization(), pulumi.get_project())
        return shared_network(name)
    return own_network(stage)


def route_out(network: NetworkLike) -> list[pulumi.Resource]:
    """What a function in the private subnets needs before it can reach anything outside the VPC (Secrets
    Manager, SSM, Lambda, the internet): an own network whole, routes, NAT and its address included (a
    component stands for all its children). A shared network's stack made its own, before any stage read
    its outputs."""
    return [network] if isinstance(network, Network) else []


def qualified_stack_name(name: str, organization: str | None, project: str) -> str:
    """``dev-network`` as ``<organization>/<project>/dev-network`` (the form every backend resolves the
    same way; a DIY backend's organization is literally ``organization``); qualified names pass unchanged,
    and so does a bare name when the organization is unknown (under mocks)."""
    if "/" in name or not organization:
        return name
    return f"{organization}/{project}/{name}"


def own_network(stage: Stage) -> Network:
    """A VPC of the stage's own, with the NAT the stage matrix gives it (one instance outside production
    and staging; self-healing except in a personal stage's own VPC)."""
    return Network(
        "network",
        NetworkArgs(
            availability_zones=stage.availability_zones,
            nat=stage.nat_mode,
            nat_count=stage.nat_count if stage.nat_mode != "none" else None,
            nat_instance_type=stage.nat_instance_type,
            nat_ami=stage.nat_ami,
            nat_healing=stage.nat_healing,
            flow_logs=stage.flow_logs,
            flow_log_retention_days=stage.log_retention_days,
            name_prefix=physical_name(stage.name, "vpc"),
            tags=stage.tags,
        ),
    )


def shared_network(stack_name: str) -> SharedNetwork:
    """The network exported by ``stack_name`` (``dev-network`` or ``<org>/<project>/dev-network``)."""
    ref = pulumi.StackReference("network", stack_name=stack_name)

    def read(key: str, check: Callable[[str, Any], Any]) -> pulumi.Output[Any]:
        return ref.get_output(key).apply(lambda value: check(key, value))

    def text(key: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise SharedNetworkError(_missing(stack_name, key, "a string"))
        return value

    def strings(key: str, value: Any) -> list[str]:
        items: list[Any] = list(value) if isinstance(value, list | tuple) else []  # pyright: ignore[reportUnknownArgumentType]
        if not items or not all(isinstance(item, str) for item in items):
            raise SharedNetworkError(_missing(stack_name, key, "a non-empty list of strings"))
        return [str(item) for item in items]

    return SharedNetwork(
        vpc_id=read("vpcId", text),
        cidr_block=read("vpcCidr", text),
        private_subnet_ids=read("privateSubnetIds", strings),
        nat_public_ips=read("natPublicIps", strings),
    )


def _missing(stack_name: str, key: str, shape: str) -> str:
    return (
        f"network stack {stack_name}: output {key} is missing or not {shape}; deploy it first "
        f"(`pulumi up --stack {stack_name.rsplit('/', 1)[-1]}`) or set reggie:network=own"
    )


def export_network(network: NetworkLike) -> None:
    """The outputs a network stack exports (the same keys :func:`shared_network` reads)."""
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("vpcCidr", network.cidr_block)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("natPublicIps", network.nat_public_ips)
