"""The Lambda handler a StaticSite ships to invalidate its distribution's cache (Lambda's Python 3.12, boto3 as
the runtime provides it; the zip holds this file alone).

pulumi-aws has no invalidation resource, so the site declares an ``aws.lambda_.Invocation`` of this function
whose input changes whenever the site's files do: every deploy that changes a file invalidates, once, the
paths it lists, and a deploy that changes nothing invokes nothing. Event::

    {"distributionId": "E2QWRUHAPOMQZL", "paths": ["/index.html"], "reference": "<digest of the build>"}

``reference`` is CloudFront's caller reference, so a retried invocation for the same build is the same
invalidation rather than a second one. A failure raises, which fails the invocation and so the `pulumi up`.
The handler returns without waiting for the invalidation to complete (a few minutes at most).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any, Protocol

MAX_PATHS = 3000
"""CloudFront's limit of paths in progress per distribution (wildcards count separately, at 15)."""
_DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{1,64}$")


class InvalidationClient(Protocol):
    """The part of boto3's CloudFront client the handler uses."""

    def create_invalidation(self, *, DistributionId: str, InvalidationBatch: Mapping[str, Any]) -> Any: ...  # noqa: N803 - boto3's names


def _request(event: Mapping[str, Any]) -> tuple[str, list[str], str]:
    distribution_id = event.get("distributionId")
    paths = event.get("paths")
    reference = event.get("reference")
    if not isinstance(distribution_id, str) or not _DISTRIBUTION_ID.match(distribution_id):
        raise ValueError(f"distributionId must be a CloudFront distribution id, got {distribution_id!r}")
    if not isinstance(paths, list) or not paths or len(paths) > MAX_PATHS:  # pyright: ignore[reportUnknownArgumentType]
        raise ValueError(f"paths must be a list of 1 to {MAX_PATHS} paths")
    checked = [p for p in paths if isinstance(p, str) and p.startswith("/")]  # pyright: ignore[reportUnknownVariableType]
    if len(checked) != len(paths):  # pyright: ignore[reportUnknownArgumentType]
        raise ValueError("every path must be a string starting with /")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 128:
        raise ValueError("reference must be a string of 1 to 128 characters")
    return distribution_id, checked, reference


def invalidate(event: Mapping[str, Any], client: InvalidationClient) -> dict[str, Any]:
    """Create the invalidation ``event`` asks for through ``client``; the answer names it."""
    distribution_id, paths, reference = _request(event)
    answer = client.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": reference},
    )
    invalidation = answer["Invalidation"]
    return {"status": "success", "invalidationId": invalidation["Id"], "paths": len(paths)}


def handler(event: Mapping[str, Any], _context: object) -> dict[str, Any]:
    """The Lambda entry point: boto3's CloudFront client from the runtime, then :func:`invalidate`."""
    boto3: Any = importlib.import_module("boto3")  # the runtime's copy; untyped, and absent from the program
    return invalidate(event, boto3.client("cloudfront"))
