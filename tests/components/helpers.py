"""Queries over the resources a run under mocks recorded (shared by the component and stack tests)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pulumi

from components import Component, ZipCode
from infra.mocks import Recording, run_program
from infra.planned import PlannedResource

STACK = "dev-test"


def run(program: Callable[[], object], stack: str = STACK) -> Recording:
    return run_program(program, stack=stack)


def zip_code() -> ZipCode:
    """A one-file zip package (the archive's content does not matter under mocks)."""
    return ZipCode(pulumi.AssetArchive({"a.py": pulumi.StringAsset("x = 1")}), "services.api.handler.handler")


def of_type(resources: Sequence[PlannedResource], type_token: str) -> list[PlannedResource]:
    return [r for r in resources if r.type == type_token]


def one(resources: Sequence[PlannedResource], type_token: str, name: str | None = None) -> PlannedResource:
    found = [r for r in of_type(resources, type_token) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def component(resources: Sequence[PlannedResource], type_token: str) -> PlannedResource:
    return one(resources, type_token)


def children_of(resources: Sequence[PlannedResource], parent: PlannedResource) -> list[PlannedResource]:
    return [r for r in resources if r.parent == parent.urn]


def policy_doc(resource: PlannedResource) -> dict[str, Any]:
    return json.loads(resource.inputs["policy"])


def watch_nodes(component: Component, into: dict[str, str]) -> None:
    """Inside a program: once each child's URN resolves, file it in ``into`` under its place in
    ``component.nodes`` (``role`` or ``role[key]``), so a test can compare nodes with what was declared."""
    for role, node in component.nodes.items():
        entries = list(node.items()) if isinstance(node, dict) else [(None, node)]
        for key, resource in entries:
            place = role if key is None else f"{role}[{key}]"
            resource.urn.apply(lambda urn, place=place: into.__setitem__(urn, place))
