"""Each function can read exactly the secrets its code reads: the secrets a service's code asks for, found by
reading the code, equal the secrets its deploy spec grants (``infra.links.secrets_of``, the granted ones), both ways.

A secret granted and never read is a key the function holds for nothing (the review found the API able to read the
Clerk secret key, with which anyone could make themselves an admin); a secret read and not granted fails at run time
(SSM refuses the read) or, locally, works by accident. The code is read, not run, through the accessors the services
have, whatever their shape:

* ``secrets.get("name")``, ``secrets.optional("name")`` (the API's :class:`services.api.secrets.Secrets`, reached as
  ``secrets`` or ``...secrets``);
* a helper handed the ``secrets`` object and the name: ``_secret(secrets, "stripe_webhook_secret")``;
* the environment contract's ``secret_parameter_variable(...)`` / ``secret_value_variable(...)`` of a literal or a
  module constant (the worker's ``RESEND_KEY``).

A read whose name is not a literal must sit in a helper that takes the name as a parameter (its callers are then
read); anything else fails the test, since nobody could tell which secret it reads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.links import secrets_of
from infra.registry import REPO_ROOT, discover

SERVICES = REPO_ROOT / "services"
SHARED = (SERVICES / "core",)
"""The shared library every service ships with: a secret it read would be read by all of them."""
NEVER_DEPLOYED: dict[Path, str] = {
    SERVICES / "api" / "dev": "the local stack's routes: create_app mounts them only with the local token minter "
    "(tests/services/api/test_local_stage.py: no /dev route without one), so no deployed API runs this code",
}
"""Code inside a service's folder that its function never runs, with why."""
ACCESSORS = frozenset({"get", "optional"})
CONTRACT = frozenset({"secret_parameter_variable", "secret_value_variable"})


@dataclass(frozen=True, slots=True)
class Read:
    secret: str | None
    """The secret's name, or ``None`` when the code names it with something other than a literal."""
    where: str


def _is_secrets(node: ast.expr) -> bool:
    """``secrets`` or ``<anything>.secrets`` / ``<anything>._secrets``: the object holding the secrets."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.lstrip("_") == "secrets"


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's ``NAME = "text"`` constants."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return found


def _named(arg: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name):
        return constants.get(arg.id)
    return None


def _name_argument(call: ast.Call) -> ast.expr | None:
    """The argument naming the secret, if ``call`` reads one; ``None`` if it reads none."""
    if isinstance(call.func, ast.Attribute) and call.func.attr in ACCESSORS and _is_secrets(call.func.value):
        return call.args[0] if call.args else ast.Constant(None)
    if _callee(call) in CONTRACT:
        return call.args[0] if call.args else ast.Constant(None)
    for position, arg in enumerate(call.args[:-1]):
        if _is_secrets(arg):  # a helper handed the secrets and, next, the name
            return call.args[position + 1]
    return None


def reads_in(source: str, where: str) -> Iterator[Read]:
    """Every secret read in one module's source."""
    tree = ast.parse(source)
    constants = _constants(tree)
    forwarding: list[set[str]] = []

    def visit(node: ast.AST) -> Iterator[Read]:
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_function:
            forwarding.append({a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)})
        if isinstance(node, ast.Call) and (argument := _name_argument(node)) is not None:
            secret = _named(argument, constants)
            forwarded = isinstance(argument, ast.Name) and bool(forwarding) and argument.id in forwarding[-1]
            if secret is not None or not forwarded:
                yield Read(secret, f"{where}:{node.lineno}")
        for child in ast.iter_child_nodes(node):
            yield from visit(child)
        if is_function:
            forwarding.pop()

    yield from visit(tree)


def _files_of(service: str) -> list[Path]:
    roots = (SERVICES / service, *SHARED)
    files = [p for root in roots for p in sorted(root.rglob("*.py")) if p.name != "deploy.py"]
    return [p for p in files if not any(p.is_relative_to(skipped) for skipped in NEVER_DEPLOYED)]


def secrets_read_by(service: str) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for path in _files_of(service):
        for read in reads_in(path.read_text(), str(path.relative_to(REPO_ROOT))):
            found.setdefault(read.secret, []).append(read.where)
    return found


SPECS = {spec.name: spec for spec in discover()}


@pytest.mark.parametrize("service", sorted(SPECS))
def test_a_function_may_read_exactly_the_secrets_its_code_reads(service: str) -> None:
    reads = secrets_read_by(service)
    assert None not in reads, f"{service} reads a secret whose name is not a literal at {reads.get(None)}"
    granted = {secret.name for secret in secrets_of(SPECS[service]) if secret.granted}
    read = {name for name in reads if name is not None}
    assert read - granted == set(), f"{service}'s code reads secrets its spec does not grant: {sorted(read - granted)}"
    assert granted - read == set(), (
        f"{service}'s spec grants secrets no code of it reads: {sorted(granted - read)}; "
        "link them with Secret(..., granted=False) until the code reads them"
    )


def test_what_the_services_read_today() -> None:
    """The grep finds each accessor the services use (so the test above is not vacuously green)."""
    read = {name: set(secrets_read_by(name)) for name in SPECS}
    assert read["api"] == {
        "clerk_webhook_secret",  # webhooks/deliveries.py: _secret(secrets, ...)
        "stripe_webhook_secret",
        "stripe_secret_key",  # resources.py: _secret_or_unavailable(secrets, ...)
        "dvla_api_key",
        "r2_access_key_id",  # resources.py: secrets.optional(...), the documents link's pair
        "r2_secret_access_key",
    }
    assert read["worker"] == {"resend_api_key"}  # settings.py: secret_parameter_variable(RESEND_KEY)
    assert read["migrator"] == read["scraper"] == read["valuation"] == set()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('secrets.get("a")', ["a"]),
        ('self._secrets.optional("b")', ["b"]),
        ('resources.secrets.get("c")', ["c"]),
        ('_secret_or_unavailable(secrets, "d", "code", "What")', ["d"]),
        ('KEY = "e"\nenv.get(contract.secret_parameter_variable(KEY))', ["e"]),
        ('env.get(secret_value_variable("f"))', ["f"]),
        ("def helper(secrets, name):\n    return secrets.get(name)", []),  # forwards: its callers are read
        ("def lookup(secrets):\n    name = pick()\n    return secrets.get(name)", [None]),  # cannot tell which
        ('settings.get("not_a_secret")', []),
        ('os.environ.get("STRIPE_SECRET_KEY")', []),
    ],
)
def test_each_accessor_shape_is_read(source: str, expected: list[str | None]) -> None:
    assert [r.secret for r in reads_in(source, "x.py")] == expected


def test_code_never_deployed_is_skipped_for_a_reason() -> None:
    assert all(path.is_dir() and reason for path, reason in NEVER_DEPLOYED.items())
    # the dev routes do read a secret (the local Resend stand-in's key): skipping them is what keeps the API's
    # grants exact, so the skip must stay justified
    dev_reads = [r.secret for p in (SERVICES / "api" / "dev").rglob("*.py") for r in reads_in(p.read_text(), p.name)]
    assert dev_reads == ["resend_api_key"]
