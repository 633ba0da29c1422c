"""The neutral record of one declared resource, as the offline plan captures it under mocks.

The plan harness produces these; the policy report, the cost model, the diagram and the
`pulumi preview --json`-shaped output all read them, so none of them depends on how the
harness captured the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PlannedResource:
    urn: str
    type: str
    """The Pulumi type token, e.g. ``aws:rds/cluster:Cluster`` or ``reggie:components:Network``."""
    name: str
    """The logical name given to the constructor."""
    inputs: Mapping[str, Any]
    """Inputs as the engine receives them (camelCase keys), unknowns as ``None``."""
    parent: str | None
    """The parent's URN; ``None`` only for the stack itself."""
    custom: bool
    """``True`` for provider resources, ``False`` for components."""
