"""Small helpers every component shares: transform hooks, tags and child options."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import pulumi

Transform = Callable[[Any], None]
"""A hook that receives a child resource's typed args object (e.g. ``aws.ec2.InstanceArgs``) and may change
its attributes in place before the child is declared (``args.instance_type = "t4g.micro"``), so a caller
can adjust an underlying resource without forking the component."""

Transforms = Mapping[str, Transform]
"""Transform hooks keyed by the child's role (each component documents its roles)."""


def no_transforms() -> dict[str, Transform]:
    """The default of every ``transforms`` field: no hooks."""
    return {}


def no_tags() -> dict[str, str]:
    """The default of every ``tags`` field."""
    return {}


class ComponentArgsError(ValueError):
    """A component was given arguments it cannot honour; the message names the argument."""


def check_transform_keys(component: str, transforms: Transforms, roles: Collection[str]) -> None:
    """Reject hooks for roles the component does not have, so a typo never silently does nothing."""
    unknown = sorted(set(transforms) - set(roles))
    if unknown:
        raise ComponentArgsError(
            f"{component}: unknown transform role(s) {', '.join(unknown)}; known roles: {', '.join(sorted(roles))}"
        )


A = TypeVar("A")


def child_args(transforms: Transforms, role: str, args: A) -> A:
    """One child's args object after the caller's transform hook (if any) has run on it."""
    hook = transforms.get(role)
    if hook is not None:
        hook(args)
    return args


def child_opts(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child: always parented to its component."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def with_name_tag(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The component's tags plus a ``Name`` tag (what the AWS console shows)."""
    return {**tags, "Name": name}
