"""The API's layout holds: one package per domain with its controller, the deployed code imports
neither the local stack nor another service (and uses no ``importlib`` to hide that), and every
controller documents the errors any request can meet."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from litestar import Controller

from services.api.controllers import DomainController
from tests.services.api.support import REPO

API = REPO / "services" / "api"
DOMAINS = ("plates", "listings", "offers", "claims", "valuations", "webhooks", "admin", "health", "dev")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_no_importlib_and_no_other_service_under_services_api() -> None:
    sources = sorted(API.rglob("*.py"))
    assert len(sources) > 20
    for path in sources:
        text = path.read_text()
        assert "importlib" not in text, f"{path.relative_to(REPO)} mentions importlib"
        assert "__import__" not in text, path
        if path.name == "deploy.py":
            continue  # the deploy spec runs in the Pulumi program, not in the function
        for module in _imports(path):
            assert not module.startswith(("services.local", "services.valuation", "infra")), (path, module)


def test_each_domain_is_a_package_with_domain_controllers() -> None:
    for domain in DOMAINS:
        package = API / domain
        assert (package / "__init__.py").is_file(), domain
        assert (package / "schemas.py").is_file() or domain == "dev", domain
        module = importlib.import_module(f"services.api.{domain}.controller")
        controllers = [
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, Controller) and value.__module__ == module.__name__
        ]
        assert controllers, domain
        assert all(issubclass(controller, DomainController) for controller in controllers), domain
