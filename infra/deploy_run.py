"""Run-on-deploy services (the migrator): invoked during `pulumi up`, and the deploy fails if they fail.

A service with ``run_on_deploy`` gets an ``aws.lambda_.Invocation``. It runs again only when one of its
triggers changes:

- ``code``: the image's digest-pinned URI (or a zip's source hash), so new code runs once;
- ``inputs``: a content hash of what the run works from besides its code (the spec's ``run_inputs``: the
  migrator's are the Alembic revisions in ``migrations/``), so a changed revision re-runs it even if the
  code's identity were not to change;
- ``function``/``configuration``: the function's ARN and last-modified time, so a replaced function or a
  new environment (another database) runs it again.

Nothing changed, nothing invoked. The invocation runs the function at once, so it waits for everything
the run uses, not only for the function: every resource the function declares (its role's policies and
grants, its security group's egress rule), and the ``needs`` the wiring collects from its links and network
(the database's writer instance, the ingress rule to 5432, the route out of the private subnets). The
function itself must still tolerate a slow start (a NAT instance booting, a paused database resuming): the
migrator retries its connection with backoff within its timeout.

The service must answer ``{"status": "success", ...}`` or
``{"status": "error", "message": ...}`` without raising (a raised error would only say "Unhandled");
:func:`check_answer` turns an error answer into an exception carrying the service's message. The routed
functions wait for :func:`run_on_deploy`'s *checked* result, not just for the invocation resource, so new
API code never reaches Lambda when the migration failed: the API function's registration fails with the
migrator's message, and `pulumi up` reports it. The failed invocation stays in the state (its create call
succeeded), so the message ends with the ``pulumi up --replace '<urn>'`` that runs it again once the cause
is fixed (a fix that changes a migration or the image re-runs it by itself).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components import Component, Function, ImageCode, ZipCode
from infra.registry import REPO_ROOT
from infra.service_spec import ServiceSpec

DEPLOY_EVENT = {"action": "deploy"}
"""The payload a run-on-deploy service receives."""


class DeployRunError(pulumi.RunError):
    """A run-on-deploy service reported a failure; the message is the service's own."""


def content_hash(paths: Iterable[Path], root: Path = REPO_ROOT) -> str:
    """SHA-256 over every file under ``paths`` (each file's path relative to ``root`` and its bytes, in
    sorted order; caches and compiled files skipped), so the same tree always hashes the same."""
    digest = hashlib.sha256()
    for top in paths:
        files = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in files:
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
                continue
            name = path.relative_to(root).as_posix().encode()
            data = path.read_bytes()
            for part in (name, data):
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
    return digest.hexdigest()


def run_inputs_hash(spec: ServiceSpec, root: Path = REPO_ROOT) -> str:
    """:func:`content_hash` of the spec's ``run_inputs`` under ``root``."""
    return content_hash([root / p for p in spec.run_inputs], root)


def check_answer(service: str, result: str | None, urn: str | None = None) -> dict[str, Any]:
    """The parsed answer of one run, or :class:`DeployRunError` naming the service and its message (and,
    given the invocation's ``urn``, how to run it again)."""
    try:
        return _parse_answer(service, result)
    except DeployRunError as exc:
        if urn is None:
            raise
        # The failed invocation stays in the state with its answer, so an unchanged program would fail the
        # same way without invoking again; replacing it re-runs the migration.
        raise DeployRunError(f"{exc}; once fixed, run it again with `pulumi up --replace '{urn}'`") from None


def _parse_answer(service: str, result: str | None) -> dict[str, Any]:
    if result is None or result == "":
        raise DeployRunError(f"{service} (run on deploy) returned nothing; see its log group")
    try:
        parsed: Any = json.loads(result)
    except ValueError:
        raise DeployRunError(f"{service} (run on deploy) answered non-JSON: {result[:200]}") from None
    if not isinstance(parsed, dict):
        raise DeployRunError(f"{service} (run on deploy) answered {result[:200]}, not a JSON object")
    answer = cast("dict[str, Any]", parsed)
    status = answer.get("status")
    if status == "success":
        return answer
    if status == "error":
        raise DeployRunError(f"{service} failed during the deploy: {answer.get('message') or 'no message'}")
    raise DeployRunError(f"{service} (run on deploy) answered status {status!r}; expected success or error")


def code_identity(code: ZipCode | ImageCode) -> pulumi.Input[str] | None:
    """What identifies a package's content: the digest-pinned image URI, or the zip's source hash."""
    if isinstance(code, ImageCode):
        return code.image_uri
    return code.source_code_hash


def declared(component: Component) -> list[pulumi.Resource]:
    """Every child ``component`` declared through its child helper, keyed ones included."""
    return [r for node in component.nodes.values() for r in (node.values() if isinstance(node, dict) else (node,))]


def run_on_deploy(
    spec: ServiceSpec, function: Function, code: ZipCode | ImageCode, needs: Sequence[pulumi.Resource] = ()
) -> pulumi.Output[pulumi.Resource]:
    """Declare the invocation of ``function``, after all the function declares and ``needs`` (what its links
    and network must have in place), and return it once its answer checked out (what routed functions wait
    for)."""
    triggers: dict[str, pulumi.Input[str]] = {
        "function": function.arn,
        "configuration": function.last_modified,
        "inputs": run_inputs_hash(spec),
    }
    identity = code_identity(code)
    if identity is not None:
        triggers["code"] = identity
    invocation = aws.lambda_.Invocation(
        f"{spec.name}-run",
        function_name=function.function_name,
        input=json.dumps(DEPLOY_EVENT),
        triggers=triggers,
        # Not the Function component itself: the invocation is its child, and would depend on itself.
        opts=pulumi.ResourceOptions(parent=function, depends_on=[*declared(function), *needs]),
    )

    def checked(args: list[Any]) -> pulumi.Resource:
        result, urn = args
        check_answer(spec.name, result, urn)
        return invocation

    return pulumi.Output.all(invocation.result, invocation.urn).apply(checked)
