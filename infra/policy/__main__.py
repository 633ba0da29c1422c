"""Policy pack entry point (`pulumi preview --policy-pack infra/policy`): only the PolicyPack call."""

from pulumi_policy import PolicyPack
from rules import policies  # pyright: ignore[reportMissingImports,reportUnknownVariableType]  # the pack's own dir

PolicyPack(name="reggie-platform", policies=policies())  # pyright: ignore[reportUnknownArgumentType]
