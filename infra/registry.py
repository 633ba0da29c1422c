"""The service registry: discovers every `services/<name>/deploy.py` `SPEC` and validates it.

Adding a service adds a folder; nothing here changes. Validation happens before any resource is
declared, so a bad spec ends the run with one message naming the service and the field.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from infra.image_context import ignore_file
from infra.links import PLATFORM_LINKS, link_kind, linked_services, links_database, secrets_of
from infra.service_spec import (
    API_GATEWAY_MAX_INTEGRATION_TIMEOUT_S,
    LAMBDA_MAX_MEMORY_MB,
    LAMBDA_MAX_TIMEOUT_S,
    LAMBDA_MIN_MEMORY_MB,
    ROUTE_BUDGETS,
    Secret,
    ServiceSpec,
    Setting,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = REPO_ROOT / "services"
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_ROUTE_PATH = re.compile(r"^/[A-Za-z0-9._~/{}+-]*$")
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$")
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_CHECK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


class ServiceSpecError(ValueError):
    """A deploy spec the platform cannot deploy; the message names the service and the field."""


Fail = Callable[[str, str], ServiceSpecError]
"""Builds the error of one spec from the field and the problem."""


def discover(services_dir: Path = SERVICES_DIR) -> list[ServiceSpec]:
    """Every service folder's ``SPEC``, validated, in dependency order (a service after those it links)."""
    return validate(folder_specs(services_dir, "deploy", ServiceSpec, ServiceSpecError), services_dir.parent)


class _NamedSpec(Protocol):
    @property
    def name(self) -> str: ...


SpecT = TypeVar("SpecT", bound=_NamedSpec)


def folder_specs(parent: Path, module: str, kind: type[SpecT], error: Callable[[str], Exception]) -> list[SpecT]:
    """The ``SPEC`` of every ``<parent>/<folder>/<module>.py`` (services' ``deploy.py``, sites' ``site.py``), in
    folder order; ``error`` is raised for a module without a ``kind`` SPEC or one named after another folder."""
    specs: list[SpecT] = []
    for path in sorted(parent.glob(f"*/{module}.py")):
        folder = path.parent.name
        where = f"{parent.name}/{folder}/{module}.py"
        spec: object = getattr(importlib.import_module(f"{parent.name}.{folder}.{module}"), "SPEC", None)
        if not isinstance(spec, kind):
            raise error(f"{where}: must define SPEC = {kind.__name__}(...)")
        if spec.name != folder:
            raise error(f"{where}: SPEC.name is {spec.name!r}, must be {folder!r}")
        specs.append(spec)
    return specs


def validate(specs: Sequence[ServiceSpec], repo_root: Path = REPO_ROOT) -> list[ServiceSpec]:
    """Check each spec and the set as a whole (paths against ``repo_root``); return them ordered so linked
    services come first."""
    names = {spec.name for spec in specs}
    if len(names) != len(specs):
        raise ServiceSpecError("two deploy specs share a name")
    routes: dict[str, str] = {}
    settings: dict[str, tuple[str, Setting]] = {}
    for spec in specs:
        _validate_one(spec, names, repo_root)
        _agree_on_settings(spec, settings)
        for route in spec.routes:
            key = f"{route.method} {route.path}"
            if key in routes:
                raise ServiceSpecError(f"{spec.name}: route {key!r} is already served by {routes[key]}")
            routes[key] = spec.name
    shares = sum(spec.concurrency.share for spec in specs)
    if shares > 1 + 1e-9:
        raise ServiceSpecError(f"the services' concurrency shares add up to {shares:g}; together at most 1")
    return _topological(specs)


def _validate_one(spec: ServiceSpec, names: set[str], repo_root: Path) -> None:
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
    _validate_package(spec, fail, repo_root)
    _validate_triggers(spec, fail, repo_root)
    _validate_links(spec, names, fail)


def _validate_package(spec: ServiceSpec, fail: Fail, repo_root: Path) -> None:
    if spec.package == "image" and not spec.dockerfile:
        raise fail("dockerfile", "is required for an image service")
    if spec.package == "zip" and spec.dockerfile:
        raise fail("dockerfile", "makes no sense for a zip service")
    if spec.dockerfile:
        _check_paths((spec.dockerfile,), "dockerfile", fail, repo_root)
        allow_list = ignore_file(repo_root / spec.dockerfile)
        if not allow_list.is_file():
            raise fail(
                "dockerfile",
                f"needs its allow-list beside it, {allow_list.name} (`*`, then `!` each path the Dockerfile copies)",
            )
    if not _HANDLER.match(spec.handler):
        raise fail("handler", f"{spec.handler!r} is not a dotted path like services.api.handler.handler")


def _check_paths(paths: Sequence[str], field: str, fail: Fail, repo_root: Path) -> None:
    """Each path is relative to the repository, stays inside it and exists (a typo would silently hash nothing)."""
    for path in paths:
        resolved = (repo_root / path).resolve()
        if Path(path).is_absolute() or not resolved.is_relative_to(repo_root.resolve()):
            raise fail(field, f"{path!r} must be a path inside the repository, relative to its root")
        if not resolved.exists():
            raise fail(field, f"{path!r} does not exist")


def _validate_triggers(spec: ServiceSpec, fail: Fail, repo_root: Path) -> None:
    for route in spec.routes:
        if not _ROUTE_PATH.match(route.path):
            raise fail("routes", f"path {route.path!r} must start with / and use URL characters")
        if route.budget not in ROUTE_BUDGETS:
            raise fail("routes", f"{route.method} {route.path}: budget {route.budget!r} is not one of {ROUTE_BUDGETS}")
    if spec.schedule is not None and not _SCHEDULE.match(spec.schedule):
        raise fail("schedule", f"{spec.schedule!r} is not rate(N unit) or cron(6 fields)")
    _validate_concurrency(spec, fail)
    if spec.run_on_deploy and spec.routes:
        raise fail("run_on_deploy", "cannot be combined with routes")
    if spec.run_inputs and not spec.run_on_deploy:
        raise fail("run_inputs", "only re-run a run_on_deploy service; set run_on_deploy=True or drop them")
    _check_paths(spec.run_inputs, "run_inputs", fail, repo_root)
    for key in spec.environment:
        if not re.match(r"^[A-Z][A-Z0-9_]*$", key):
            raise fail("environment", f"{key!r} must be UPPER_SNAKE_CASE")
    _validate_health_check(spec, fail)


def _validate_health_check(spec: ServiceSpec, fail: Fail) -> None:
    check = spec.health_check
    if check is None:
        return
    if not any(route.method == "GET" and route.path == check.path for route in spec.routes):
        raise fail("health_check", f"path {check.path!r} must be one of the service's GET routes")
    if "{" in check.path:
        raise fail("health_check", f"path {check.path!r} must be a fixed path (the probe sends no parameters)")
    if not check.checks or len(set(check.checks)) != len(check.checks):
        raise fail("health_check", "checks must name each dependency once")
    for name in check.checks:
        if not _CHECK_NAME.match(name):
            raise fail("health_check", f"check {name!r} must be lowercase letters, digits and underscores")


def _validate_concurrency(spec: ServiceSpec, fail: Fail) -> None:
    wanted = spec.concurrency
    if not 0 <= wanted.share <= 1:
        raise fail("concurrency", f"share must be between 0 and 1, got {wanted.share}")
    if wanted.fixed is not None and wanted.fixed < 1:
        raise fail("concurrency", "fixed must be at least 1 (0 would disable the function)")
    if wanted.share and wanted.fixed is not None:
        raise fail("concurrency", "takes a share or a fixed reservation, not both")
    if wanted.connections < 0:
        raise fail("concurrency", "connections cannot be negative")
    if wanted.share and not wanted.connections:
        raise fail("concurrency", "a share of the database's connections needs connections per environment (1 or more)")
    if wanted.connections and not links_database(spec):
        raise fail("concurrency", "counts database connections, but the service does not link 'database'")


def _validate_links(spec: ServiceSpec, names: set[str], fail: Fail) -> None:
    if spec.name in PLATFORM_LINKS:
        raise fail("name", f"{spec.name!r} is the name of a platform link ({', '.join(PLATFORM_LINKS)}); pick another")
    seen: set[str] = set()
    for link in spec.links:
        if isinstance(link, Secret):
            key = _check_secret(link, fail)
        elif isinstance(link, Setting):
            key = _check_setting(link, fail)
        elif isinstance(link, str):  # pyright: ignore[reportUnnecessaryIsInstance] - specs are user code
            key = _check_named_link(spec, link, names, fail)
        else:
            raise fail("links", f"{link!r} is neither a name, Secret(...) nor Setting(...)")
        if key in seen:
            raise fail("links", f"{key} is linked twice")
        seen.add(key)


def _check_secret(secret: Secret, fail: Fail) -> str:
    if not _SECRET_NAME.match(secret.name):
        raise fail("links", f"Secret({secret.name!r}): the name must be snake_case, e.g. stripe_webhook_secret")
    return f"Secret({secret.name!r})"


def _check_setting(setting: Setting, fail: Fail) -> str:
    if not _SECRET_NAME.match(setting.name):
        raise fail("links", f"Setting({setting.name!r}): the name must be snake_case, e.g. auction_event_ids")
    try:
        pattern = re.compile(setting.pattern)
    except re.error as exc:
        raise fail("links", f"Setting({setting.name!r}): pattern is not a regular expression ({exc})") from None
    if setting.default and not pattern.fullmatch(setting.default):
        raise fail("links", f"Setting({setting.name!r}): the default {setting.default!r} does not match the pattern")
    return f"Setting({setting.name!r})"


def _agree_on_settings(spec: ServiceSpec, seen: dict[str, tuple[str, Setting]]) -> None:
    """One config key is one setting: specs linking the same name must declare it alike, and it cannot also
    be a secret (both would read ``reggie:<camelCaseName>``)."""
    secrets = {secret.name for secret in secrets_of(spec)}
    for setting in (link for link in spec.links if isinstance(link, Setting)):
        if setting.name in secrets:
            raise ServiceSpecError(f"service {spec.name}: links {setting.name!r} both as a Secret and as a Setting")
        owner, first = seen.setdefault(setting.name, (spec.name, setting))
        if first != setting:
            raise ServiceSpecError(
                f"service {spec.name}: Setting({setting.name!r}) differs from the one service {owner} links; "
                "declare it alike (the stage reads one value for both)"
            )


def _check_named_link(spec: ServiceSpec, link: str, names: set[str], fail: Fail) -> str:
    if link not in PLATFORM_LINKS and link not in names:
        raise fail(
            "links",
            f"{link!r} is neither a platform link ({', '.join(PLATFORM_LINKS)}) nor a service "
            f"({', '.join(sorted(names)) or 'none'}); a secret is linked as Secret({link!r})",
        )
    if link == spec.name:
        raise fail("links", "a service cannot link itself")
    if link_kind(link).needs_vpc and not spec.vpc:
        raise fail("vpc", f"must be True to link {link!r}: it is only reachable inside the VPC")
    return repr(link)


def _topological(specs: Iterable[ServiceSpec]) -> list[ServiceSpec]:
    by_name = {spec.name: spec for spec in specs}
    ordered: list[ServiceSpec] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ServiceSpecError(f"services link each other in a cycle: {' -> '.join((*path, name))}")
        state[name] = "visiting"
        for target in linked_services(by_name[name]):
            visit(target, (*path, name))
        state[name] = "done"
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name, ())
    return ordered
