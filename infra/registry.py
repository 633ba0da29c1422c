"""The service registry: discovers every `services/<name>/deploy.py` `SPEC` and validates it.

Adding a service adds a folder; nothing here changes. Validation happens before any resource is
declared, so a bad spec ends the run with one message naming the service and the field.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from infra.service_spec import (
    API_GATEWAY_MAX_INTEGRATION_TIMEOUT_S,
    LAMBDA_MAX_MEMORY_MB,
    LAMBDA_MAX_TIMEOUT_S,
    LAMBDA_MIN_MEMORY_MB,
    ServiceSpec,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "services"
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_ROUTE_PATH = re.compile(r"^/[A-Za-z0-9._~/{}+-]*$")
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$")
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class ServiceSpecError(ValueError):
    """A deploy spec the platform cannot deploy; the message names the service and the field."""


def discover(services_dir: Path = SERVICES_DIR) -> list[ServiceSpec]:
    """Every service folder's ``SPEC``, validated, in dependency order (a service after those it invokes)."""
    specs: list[ServiceSpec] = []
    for deploy in sorted(services_dir.glob("*/deploy.py")):
        folder = deploy.parent.name
        module = importlib.import_module(f"{services_dir.name}.{folder}.deploy")
        spec: object = getattr(module, "SPEC", None)
        if not isinstance(spec, ServiceSpec):
            raise ServiceSpecError(f"services/{folder}/deploy.py: must define SPEC = ServiceSpec(...)")
        if spec.name != folder:
            raise ServiceSpecError(f"services/{folder}/deploy.py: SPEC.name is {spec.name!r}, must be {folder!r}")
        specs.append(spec)
    return validate(specs)


def validate(specs: Sequence[ServiceSpec]) -> list[ServiceSpec]:
    """Check each spec and the set as a whole; return them ordered so invoked services come first."""
    names = {spec.name for spec in specs}
    if len(names) != len(specs):
        raise ServiceSpecError("two deploy specs share a name")
    routes: dict[str, str] = {}
    for spec in specs:
        _validate_one(spec, names)
        for route in spec.routes:
            key = f"{route.method} {route.path}"
            if key in routes:
                raise ServiceSpecError(f"{spec.name}: route {key!r} is already served by {routes[key]}")
            routes[key] = spec.name
    return _topological(specs)


def _validate_one(spec: ServiceSpec, names: set[str]) -> None:
    def fail(field: str, problem: str) -> ServiceSpecError:
        return ServiceSpecError(f"service {spec.name}: {field} {problem}")

    if not _SERVICE_NAME.match(spec.name):
        raise fail("name", "must be lowercase letters, digits and underscores")
    if not LAMBDA_MIN_MEMORY_MB <= spec.memory_mb <= LAMBDA_MAX_MEMORY_MB:
        raise fail("memory_mb", f"must be {LAMBDA_MIN_MEMORY_MB}-{LAMBDA_MAX_MEMORY_MB} MB, got {spec.memory_mb}")
    if not 1 <= spec.timeout_s <= LAMBDA_MAX_TIMEOUT_S:
        raise fail("timeout_s", f"must be 1-{LAMBDA_MAX_TIMEOUT_S} s, got {spec.timeout_s}")
    if spec.routes and spec.timeout_s >= API_GATEWAY_MAX_INTEGRATION_TIMEOUT_S:
        raise fail(
            "timeout_s",
            f"must be under API Gateway's {API_GATEWAY_MAX_INTEGRATION_TIMEOUT_S} s limit for a routed service, "
            f"got {spec.timeout_s}",
        )
    _validate_wiring(spec, names, fail)


def _validate_wiring(spec: ServiceSpec, names: set[str], fail: Callable[[str, str], ServiceSpecError]) -> None:
    if spec.package == "image" and not spec.dockerfile:
        raise fail("dockerfile", "is required for an image service")
    if spec.package == "zip" and spec.dockerfile:
        raise fail("dockerfile", "makes no sense for a zip service")
    if not _HANDLER.match(spec.handler):
        raise fail("handler", f"{spec.handler!r} is not a dotted path like services.api.handler.handler")
    _validate_triggers(spec, names, fail)


def _validate_triggers(spec: ServiceSpec, names: set[str], fail: Callable[[str, str], ServiceSpecError]) -> None:
    for route in spec.routes:
        if not _ROUTE_PATH.match(route.path):
            raise fail("routes", f"path {route.path!r} must start with / and use URL characters")
    if spec.schedule is not None and not _SCHEDULE.match(spec.schedule):
        raise fail("schedule", f"{spec.schedule!r} is not rate(N unit) or cron(6 fields)")
    if spec.needs_database and not spec.needs_vpc:
        raise fail("needs_vpc", "must be true: the database is only reachable inside the VPC")
    for target in spec.invokes:
        if target not in names:
            raise fail("invokes", f"names unknown service {target!r}")
        if target == spec.name:
            raise fail("invokes", "cannot name itself")
    if spec.reserved_concurrency is not None and spec.reserved_concurrency < 1:
        raise fail("reserved_concurrency", "must be at least 1 (0 would disable the function)")
    if spec.run_on_deploy and spec.routes:
        raise fail("run_on_deploy", "cannot be combined with routes")
    for key in spec.environment:
        if not re.match(r"^[A-Z][A-Z0-9_]*$", key):
            raise fail("environment", f"{key!r} must be UPPER_SNAKE_CASE")


def _topological(specs: Iterable[ServiceSpec]) -> list[ServiceSpec]:
    by_name = {spec.name: spec for spec in specs}
    ordered: list[ServiceSpec] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ServiceSpecError(f"services invoke each other in a cycle: {' -> '.join((*path, name))}")
        state[name] = "visiting"
        for target in by_name[name].invokes:
            visit(target, (*path, name))
        state[name] = "done"
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name, ())
    return ordered
