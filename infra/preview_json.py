"""A ``pulumi preview --json``-shaped document of the offline plan, for tools that read that format.

The shape follows what the CLI prints for a first preview of a stack (every step a ``create``)::

    {"config": {...}, "steps": [{"op": "create", "urn": ..., "provider": ..., "newState": {"urn": ...,
     "custom": true, "type": ..., "inputs": {...}, "parent": ...}}], "changeSummary": {"create": N},
     "duration": 0}

Values unknown at preview are written as the engine's unknown sentinel, and secrets as ``[secret]``,
as the CLI does without ``--show-secrets``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from infra.planned import PlannedResource

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The Pulumi engine's sentinel for a value not known until the resource exists."""
MASKED = "[secret]"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - the SDK's secret marker


def _value(value: Any) -> Any:
    """JSON-ready: unknowns (``None``) to the sentinel, secrets masked, containers walked."""
    if value is None:
        return UNKNOWN
    if isinstance(value, Mapping):
        mapping = cast("Mapping[Any, Any]", value)
        if mapping.get(_SIG_KEY) == _SECRET_SIG:
            return MASKED
        return {str(key): _value(item) for key, item in mapping.items()}
    if isinstance(value, list | tuple):
        return [_value(item) for item in cast("Sequence[Any]", value)]
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _provider(resource: PlannedResource) -> str:
    """The default provider's reference, ``<urn of the provider>::<id>``, as the engine records it."""
    if not resource.custom or resource.type.startswith("pulumi:"):
        return ""
    package = resource.type.split(":", 1)[0]
    stack_and_project = resource.urn.split("::", 3)[:2]
    return f"{'::'.join(stack_and_project)}::pulumi:providers:{package}::default::{UNKNOWN}"


def document(
    resources: Sequence[PlannedResource],
    config: Mapping[str, str] | None = None,
    secret_keys: Collection[str] = (),
) -> dict[str, Any]:
    """The preview document: one ``create`` step per resource, in declaration order.

    ``config`` and ``secret_keys`` are what ``infra.plan.load_config`` returns; secret values are masked.
    """
    steps: list[dict[str, Any]] = []
    for resource in resources:
        state: dict[str, Any] = {
            "urn": resource.urn,
            "custom": resource.custom,
            "type": resource.type,
            "inputs": _value(dict(resource.inputs)),
        }
        if resource.parent is not None:
            state["parent"] = resource.parent
        provider = _provider(resource)
        if provider:
            state["provider"] = provider
        steps.append({"op": "create", "urn": resource.urn, "provider": provider, "newState": state})
    return {
        "config": {
            key: MASKED if key in secret_keys else _value(value) for key, value in sorted((config or {}).items())
        },
        "steps": steps,
        "changeSummary": {"create": len(steps)} if steps else {},
        "duration": 0,
    }


def dumps(
    resources: Sequence[PlannedResource],
    config: Mapping[str, str] | None = None,
    secret_keys: Collection[str] = (),
) -> str:
    """:func:`document` as indented JSON text, stable for a given resource list."""
    return json.dumps(document(resources, config, secret_keys), indent=2) + "\n"
