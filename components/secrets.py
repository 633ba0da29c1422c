"""Secrets: one SSM Parameter Store SecureString per secret, encrypted with KMS.

Functions receive the parameter *names* (and IAM read on exactly those ARNs), never the values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components._common import (
    Component,
    ComponentArgsError,
    Transform,
    check_transform_keys,
    no_tags,
    roles_of,
)


class SecretsTransforms(TypedDict, total=False):
    """The roles of :class:`Secrets`'s children, each with its transform hook's args type."""

    parameter: Transform[aws.ssm.ParameterArgs]
    """Keyed by secret key: the SecureString ``<path>/<key>`` (``<name>-<key with hyphens>``)."""


ROLES = roles_of(SecretsTransforms)
_PATH = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class SecretsArgs:
    """Arguments of :class:`Secrets`."""

    path: str
    """The parameter hierarchy, e.g. ``/reggie/production``; each secret becomes ``<path>/<key>``."""
    values: Mapping[str, pulumi.Input[str]]
    """Secret values keyed by snake_case key (from Pulumi secret config; kept secret in state)."""
    kms_key_id: str = "alias/aws/ssm"
    """The KMS key encrypting the SecureStrings."""
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every parameter."""
    transforms: SecretsTransforms = field(default_factory=SecretsTransforms)
    """Per-child hooks keyed by role (see :class:`SecretsTransforms`)."""

    def __post_init__(self) -> None:
        if not _PATH.match(self.path):
            raise ComponentArgsError(f"SecretsArgs.path: {self.path!r} must look like /reggie/production")
        for key in self.values:
            if not _KEY.match(key):
                raise ComponentArgsError(f"SecretsArgs.values: key {key!r} must be snake_case")
        check_transform_keys("Secrets", self.transforms, ROLES)


class Secrets(Component):
    """SecureString parameters; exposes their names, ARNs and versions.

    Roles (``nodes`` and ``transforms``): ``parameter``, keyed by secret key.
    """

    parameter_names: dict[str, pulumi.Output[str]]
    parameter_arns: dict[str, pulumi.Output[str]]
    parameter_versions: dict[str, pulumi.Output[int]]
    """Bumped by SSM on every change of the value: a reader that caches the value can key on it."""

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:Secrets", name, args.transforms, ROLES, opts)
        self.parameter_names = {}
        self.parameter_arns = {}
        self.parameter_versions = {}
        for key, value in sorted(args.values.items()):
            parameter = self.child(
                "parameter",
                aws.ssm.Parameter,
                aws.ssm.ParameterArgs(
                    name=f"{args.path}/{key}",
                    type="SecureString",
                    value=pulumi.Output.secret(value),
                    key_id=args.kms_key_id,
                    tier="Standard",
                    tags=args.tags,
                ),
                key.replace("_", "-"),
                key=key,
            )
            self.parameter_names[key] = parameter.name
            self.parameter_arns[key] = parameter.arn
            self.parameter_versions[key] = parameter.version
        self.register_outputs({"parameter_names": self.parameter_names})
