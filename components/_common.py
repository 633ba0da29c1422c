"""The one door every component makes its children through, and the small helpers components share.

A component subclasses :class:`Component` and declares its children's roles as a ``TypedDict`` of
:data:`Transform` hooks (``AuroraPostgresTransforms``: ``cluster: Transform[aws.rds.ClusterArgs]``...). Each
child is then made with :meth:`Component.child`, which

- names it ``<component name>-<suffix>`` (the suffix of a keyed child is derived from its key),
- parents it to the component (a transform cannot move it out),
- runs the caller's hook for its role with SST's shape ``(args, opts, name)``: the hook may change ``args``
  and ``opts`` in place, or return replacement options,
- records it in :attr:`Component.nodes` (``role -> resource``, or ``role -> {key: resource}``),
- and keeps one role to one kind of child: a plain role holds exactly one child, a keyed role holds children
  of a single resource class, each key once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

import pulumi

ArgsT = TypeVar("ArgsT")
R = TypeVar("R", bound=pulumi.Resource)

Transform: TypeAlias = Callable[[ArgsT, pulumi.ResourceOptions, str], pulumi.ResourceOptions | None]
"""A hook on one child, SST's shape: ``(args, opts, name)``. ``args`` is the child's typed args object (e.g.
``aws.rds.ClusterArgs``) and ``opts`` its resource options, both changeable in place
(``args.instance_type = "t4g.micro"``); returning options replaces ``opts``. ``name`` is the child's
logical name, which tells keyed children apart. A caller adjusts an underlying resource without forking the
component."""

Node: TypeAlias = pulumi.Resource | dict[str, pulumi.Resource]
"""What :attr:`Component.nodes` holds per role: the child, or the keyed children by key."""


class ComponentArgsError(ValueError):
    """A component was given arguments it cannot honour; the message names the argument."""


def roles_of(transforms_type: object) -> tuple[str, ...]:
    """The roles a component's transforms ``TypedDict`` declares, in declaration order."""
    annotations: Mapping[str, object] = getattr(transforms_type, "__annotations__", {})
    return tuple(annotations)


def check_transform_keys(component: str, transforms: Mapping[str, object], roles: Collection[str]) -> None:
    """Reject hooks for roles the component does not have, so a typo never silently does nothing."""
    unknown = sorted(set(transforms) - set(roles))
    if unknown:
        raise ComponentArgsError(
            f"{component}: unknown transform role(s) {', '.join(unknown)}; known roles: {', '.join(sorted(roles))}"
        )
    for role, hook in transforms.items():
        if not callable(hook):
            raise ComponentArgsError(
                f"{component}: the transform for role {role!r} must be callable (args, opts, name)"
            )


def policy_document(statements: list[dict[str, Any]]) -> str:
    """An IAM policy document (JSON) of ``statements``."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def trust_policy(service: str) -> str:
    """A role's trust policy letting one AWS service (``lambda.amazonaws.com``) assume it."""
    return policy_document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def no_tags() -> dict[str, str]:
    """The default of every ``tags`` field."""
    return {}


def with_name_tag(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The component's tags plus a ``Name`` tag (what the AWS console shows)."""
    return {**tags, "Name": name}


class Component(pulumi.ComponentResource):
    """A ComponentResource whose children all come through :meth:`child`."""

    nodes: dict[str, Node]
    """Every child by role: the resource, or ``{key: resource}`` for a keyed role (see each component's
    transforms ``TypedDict`` for its roles)."""

    def __init__(
        self,
        type_token: str,
        name: str,
        transforms: Mapping[str, object],
        roles: Sequence[str],
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        super().__init__(type_token, name, None, opts)
        self._name = name
        self._transforms = transforms
        self._roles = frozenset(roles)
        self._kinds: dict[str, object] = {}
        self.nodes = {}

    def child(
        self,
        role: str,
        kind: Callable[[str, ArgsT, pulumi.ResourceOptions], R],
        args: ArgsT,
        suffix: str,
        *,
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
        former_names: Sequence[str] = (),
    ) -> R:
        """Declare one child: ``kind(f"{name}-{suffix}", args, opts)`` after the role's transform.

        ``key`` files a keyed child under ``nodes[role][key]``; ``former_names`` are logical names the child
        had before (it gets an alias from each, so renaming never replaces it)."""
        self._claim(role, kind, key)
        child_name = f"{self._name}-{suffix}"
        options = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=self))
        aliases = [pulumi.Alias(name=former) for former in former_names if former != child_name]
        if aliases:
            options = pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(aliases=aliases))
        hook = self._transforms.get(role)
        if callable(hook):
            replaced = hook(args, options, child_name)
            if replaced is not None and not isinstance(replaced, pulumi.ResourceOptions):
                raise ComponentArgsError(
                    f"{type(self).__name__}: the transform for role {role!r} returned {type(replaced).__name__}; "
                    "return pulumi.ResourceOptions or None"
                )
            # The child stays the component's whatever the hook returned: nodes and URNs depend on it.
            options = pulumi.ResourceOptions.merge(replaced or options, pulumi.ResourceOptions(parent=self))
        resource = kind(child_name, args, options)
        if key is None:
            self.nodes[role] = resource
        else:
            keyed = self.nodes.setdefault(role, {})
            assert isinstance(keyed, dict)  # _claim keeps plain and keyed roles apart
            keyed[key] = resource
        return resource

    def _claim(self, role: str, kind: object, key: str | None) -> None:
        """One role, one kind of child: refuse an undeclared role, a second child of a plain role, a repeated
        key, or a child of another resource class under the same role."""
        where = f"{type(self).__name__} {self._name!r}"
        if role not in self._roles:
            raise ComponentArgsError(
                f"{where}: role {role!r} is not declared (roles: {', '.join(sorted(self._roles))})"
            )
        if self._kinds.setdefault(role, kind) is not kind:
            raise ComponentArgsError(f"{where}: role {role!r} already names another kind of child")
        existing = self.nodes.get(role)
        if existing is None:
            return
        if key is None or not isinstance(existing, dict):
            raise ComponentArgsError(f"{where}: role {role!r} already has its child; keyed children need a key")
        if key in existing:
            raise ComponentArgsError(f"{where}: role {role!r} already has a child keyed {key!r}")

    def node(self, role: str, kind: type[R]) -> R:
        """The child of a plain role, typed (``db.node("cluster", aws.rds.Cluster)``)."""
        found = self.nodes.get(role)
        if not isinstance(found, kind):
            raise KeyError(f"{type(self).__name__} {self._name!r} has no {kind.__name__} in role {role!r}")
        return found

    def keyed_nodes(self, role: str, kind: type[R]) -> dict[str, R]:
        """The children of a keyed role by key, typed; empty when the role has none."""
        found = self.nodes.get(role, {})
        if not isinstance(found, dict) or not all(isinstance(r, kind) for r in found.values()):
            raise KeyError(f"{type(self).__name__} {self._name!r} has no keyed {kind.__name__} in role {role!r}")
        return {k: r for k, r in found.items() if isinstance(r, kind)}
