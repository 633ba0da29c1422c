"""The site registry: discovers every `sites/<name>/site.py` `SPEC` and validates it, as `infra/registry.py` does
for services.

Adding a site adds a folder; nothing here changes. Validation happens before any resource is declared, so a
bad spec ends the run with one message naming the site and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from infra.registry import REPO_ROOT, folder_specs
from infra.site_spec import CSP_PLACEHOLDERS, RESERVED_LABELS, SiteSpec

SITES_DIR = REPO_ROOT / "sites"
_SITE_NAME = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_LABEL = re.compile(r"^([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?)?$")
_IMMUTABLE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$")
CSP_DIRECTIVES = frozenset(
    {
        "default-src", "script-src", "script-src-elem", "script-src-attr", "style-src", "style-src-elem",
        "style-src-attr", "img-src", "font-src", "connect-src", "media-src", "object-src", "frame-src",
        "child-src", "worker-src", "manifest-src", "base-uri", "form-action", "frame-ancestors",
        "upgrade-insecure-requests", "report-to", "report-uri",
    }
)  # fmt: skip
"""The CSP level 3 directives a site may set (``sandbox`` and the deprecated ones are not offered)."""
_NO_SOURCES = frozenset({"upgrade-insecure-requests"})
_SOURCE = re.compile(
    r"^('(self|none|unsafe-inline|unsafe-eval|wasm-unsafe-eval|strict-dynamic|unsafe-hashes)'"
    r"|'(sha256|sha384|sha512)-[A-Za-z0-9+/=]+'"
    r"|[a-z][a-z0-9+.-]*:"  # a scheme: data:, blob:, https:
    r"|https://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(:(\d+|\*))?(/[^\s;,]*)?"
    r"|\{[a-z]+\})$"
)
"""One CSP source: a quoted keyword or hash, a scheme, an https host (a leading ``*.`` and a port allowed), or a
``{placeholder}``."""


class SiteSpecError(ValueError):
    """A site spec the platform cannot deploy; the message names the site and the field."""


def discover(sites_dir: Path = SITES_DIR) -> list[SiteSpec]:
    """Every site folder's ``SPEC``, validated, in name order."""
    return validate(folder_specs(sites_dir, "site", SiteSpec, SiteSpecError))


def validate(specs: Sequence[SiteSpec]) -> list[SiteSpec]:
    """Check each spec and that no two share a name or a host label."""
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise SiteSpecError("two site specs share a name")
    labels: dict[str, str] = {}
    for spec in specs:
        _validate_one(spec)
        if spec.label in labels:
            raise SiteSpecError(f"site {spec.name}: label {spec.label!r} is already {labels[spec.label]}'s host")
        labels[spec.label] = spec.name
    return sorted(specs, key=lambda s: s.name)


def _validate_one(spec: SiteSpec) -> None:
    def fail(field: str, problem: str) -> SiteSpecError:
        return SiteSpecError(f"site {spec.name}: {field} {problem}")

    if not _SITE_NAME.match(spec.name):
        raise fail("name", "must be 1-16 lowercase letters and digits, starting with a letter")
    if not _LABEL.match(spec.label):
        raise fail("label", f"{spec.label!r} must be empty (the apex) or one DNS label of at most 22 characters")
    # *-api: the API hosts of every stage, which the zone's per-client limits match by that suffix
    if spec.label in RESERVED_LABELS or spec.label.startswith("staging") or spec.label.endswith("-api"):
        reserved = ", ".join(sorted(RESERVED_LABELS))
        raise fail("label", f"{spec.label!r} would collide with another host of the zone ({reserved}, staging*, *-api)")
    if not spec.description.strip():
        raise fail("description", "is required")
    if spec.routing not in ("spa", "static"):  # pyright: ignore[reportUnnecessaryComparison] - specs are user code
        raise fail("routing", f"{spec.routing!r} must be spa or static")
    for prefix in spec.immutable_paths:
        if not _IMMUTABLE.match(prefix):
            raise fail("immutable_paths", f"{prefix!r} must be a relative folder ending in /, like assets/")
    _validate_csp(spec, fail)


def _validate_csp(spec: SiteSpec, fail: Callable[[str, str], SiteSpecError]) -> None:
    if "default-src" not in spec.csp:
        raise fail("csp", "must set default-src (the fallback of every fetch directive)")
    for directive, sources in spec.csp.items():
        if directive not in CSP_DIRECTIVES:
            raise fail("csp", f"{directive!r} is not a CSP directive a site may set")
        if directive in _NO_SOURCES and sources:
            raise fail("csp", f"{directive} takes no sources")
        if directive not in _NO_SOURCES and not sources:
            raise fail("csp", f"{directive} needs at least one source ('none' to allow nothing)")
        for source in sources:
            if not _SOURCE.match(source):
                raise fail("csp", f"{directive}: {source!r} is not a CSP source (quote keywords: \"'self'\")")
            if source.startswith("{") and source[1:-1] not in CSP_PLACEHOLDERS:
                placeholders = ", ".join(f"{{{p}}}" for p in CSP_PLACEHOLDERS)
                raise fail("csp", f"{directive}: {source} is not a stage origin ({placeholders})")
