"""Import only the provider SDK modules a program touches (the offline plan's start-up time).

The generated provider SDKs import every resource module from their package ``__init__``: pulumi_cloudflare
alone defines thousands of classes, most of the offline plan's time. :func:`install` replaces the
``__init__`` of the listed packages with a module whose attribute lookup imports just the defining module
(``cloudflare.DnsRecord`` → ``pulumi_cloudflare.dns_record``). The classes are the SDK's own; whenever a
name cannot be placed, the package's real ``__init__`` runs into the same module, so nothing is ever
missing, only sooner or later loaded. Used by the `python -m infra` command line only; `pulumi up` and the
tests import the SDKs normally.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import types
from collections.abc import Iterable
from typing import Any

LEAN_PACKAGES = ("pulumi_cloudflare", "pulumi_aws", "pulumi_docker")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _module_candidates(name: str) -> list[str]:
    """Where a generated SDK defines ``name``: ``DnsRecord`` → ``dns_record``, ``get_ami_output`` → ``get_ami``,
    ``RegistryArgs`` → ``_inputs``, ``VpcArgs`` → ``_inputs`` or ``vpc``, a submodule (``ec2``) → itself."""
    if name.endswith("ArgsDict"):
        return ["_inputs"]
    if name.endswith("Args"):
        return ["_inputs", _CAMEL.sub("_", name.removesuffix("Args")).lower()]
    if name[:1].islower():
        return [name.removesuffix("_output"), name]
    return [_CAMEL.sub("_", name).lower(), "_enums", "outputs"]


class _LeanPackage(types.ModuleType):
    """A package whose attributes are loaded one defining module at a time."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for candidate in _module_candidates(name):
            qualified = f"{self.__name__}.{candidate}"
            if importlib.util.find_spec(qualified) is None:
                continue
            module = importlib.import_module(qualified)
            if candidate == name:  # a subpackage (``aws.ec2``), itself lean
                setattr(self, name, module)
                return module
            if hasattr(module, name):
                value = getattr(module, name)
                setattr(self, name, value)
                return value
        return self._load_everything(name)

    def _load_everything(self, name: str) -> Any:
        """The fallback: run the package's real ``__init__`` into this module, then look again."""
        spec = self.__spec__
        if spec is None or spec.loader is None or spec.origin is None or "_lean_full" in self.__dict__:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        self.__dict__["_lean_full"] = True
        loader: Any = spec.loader
        code: types.CodeType = loader.get_code(self.__name__)
        exec(code, self.__dict__)  # noqa: S102 - the package's own __init__, run once
        return self.__dict__[name] if name in self.__dict__ else object.__getattribute__(self, name)


class _LeanFinder:
    """A meta-path finder giving the listed packages (and their subpackages) lean ``__init__`` modules."""

    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = tuple(roots)

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not fullname.startswith(tuple(f"{r}." for r in self.roots) + self.roots):
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.submodule_search_locations is None:
            return None  # plain modules load normally
        spec.loader = _LeanLoader(spec.loader)
        return spec


class _LeanLoader(importlib.abc.Loader):
    def __init__(self, real: Any) -> None:
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _LeanPackage(spec.name)
        module.__spec__ = spec
        module.__path__ = list(spec.submodule_search_locations or [])
        module.__file__ = spec.origin
        module.__package__ = spec.name
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing: attributes load on first use."""

    def get_code(self, fullname: str) -> Any:
        return self.real.get_code(fullname)


def install(packages: Iterable[str] = LEAN_PACKAGES) -> None:
    """Make the listed SDK packages lean for this process (before anything imports them)."""
    roots = [p for p in packages if p not in sys.modules]
    if roots:
        sys.meta_path.insert(0, _LeanFinder(roots))
