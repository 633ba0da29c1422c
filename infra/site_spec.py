"""What a pluggable static site declares about itself: the contract between `sites/<name>/site.py` and
`infra/sites.py`.

A site is a folder `sites/<name>/` whose `site.py` defines one module-level `SPEC` (a :class:`SiteSpec`):
its host label, how its routes map to files, which of its files are content-hashed, and its
Content-Security-Policy. The registry (`infra/site_registry.py`) discovers and validates every spec; the
stage config reads each site's build folder from `reggie:<name>BuildDir` (and, optionally, the networks
allowed to reach it from `reggie:<name>AllowedNetworks`); `infra/sites.py` declares one
:class:`~components.StaticSite` per site the stage deploys. Adding a site adds a folder and touches nothing in
`infra/` or `components/`.

Hosts follow the stage matrix (:func:`site_host`): the site labelled ``""`` is the apex in production,
``staging.<domain>`` in staging and ``<stack>.<domain>`` in a personal stage; a site labelled ``admin`` is
``admin.<domain>``, ``staging-admin.<domain>`` and ``<stack>-admin.<domain>``. Every host is one label under
the zone, so Cloudflare's universal certificate covers it at the edge.

The CSP names the stage's other origins by placeholder, filled in per stage: ``{api}`` (the API's public
origin), ``{clerk}`` (the Clerk Frontend API, the stage's issuer) and ``{documents}`` (the R2 endpoint the
browser uploads claim documents to with presigned URLs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Routing = Literal["spa", "static"]
CSP_PLACEHOLDERS = ("api", "clerk", "documents")
"""The stage origins a CSP source may name as ``{api}``, ``{clerk}``, ``{documents}``."""
RESERVED_LABELS = frozenset({"api", "clerk", "www", "mail", "staging"})
"""Labels that are (or would collide with) other hosts of the zone: the API's ``api.``/``<stage>-api.``, Clerk's
``clerk.``, staging's sites."""


def _no_directives() -> dict[str, tuple[str, ...]]:
    return {}


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A static site: where it is served and how."""

    name: str
    """The site's folder name: lowercase letters and digits (``web``, ``admin``). Config keys are
    ``reggie:<name>BuildDir`` and ``reggie:<name>AllowedNetworks``; physical names ``reggie-<stage>-<name>``."""
    label: str
    """The host label: ``""`` for the apex (``<domain>``, ``staging.<domain>``, ``<stack>.<domain>``), or a label
    like ``admin`` (``admin.<domain>``, ``staging-admin.<domain>``, ``<stack>-admin.<domain>``)."""
    description: str
    """What the site is, for people (shown in outputs and docs)."""
    csp: Mapping[str, Sequence[str]] = field(default_factory=_no_directives)
    """Content-Security-Policy directives and their sources, ``{api}``/``{clerk}``/``{documents}`` standing for
    the stage's origins (:func:`app_csp` is the policy of an app of this platform)."""
    routing: Routing = "spa"
    """``spa``: routes without a file extension serve ``index.html``; ``static``: ``/a/`` serves ``/a/index.html``."""
    immutable_paths: tuple[str, ...] = ("assets/",)
    """Folders of content-hashed files (Vite's ``assets/``, Next's ``_next/static/``): cached a year."""


def app_csp(extra: Mapping[str, Sequence[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """The Content-Security-Policy of a browser app of this platform: its own files, the API, Clerk (its Frontend
    API, Cloudflare's bot check, avatars, its runtime styles and workers, as Clerk's CSP guide lists) and
    presigned R2 uploads; no framing, no plugins, forms only to itself. ``extra`` adds sources per directive."""
    policy: dict[str, tuple[str, ...]] = {
        "default-src": ("'self'",),
        "script-src": ("'self'", "{clerk}", "https://challenges.cloudflare.com"),
        "style-src": ("'self'", "'unsafe-inline'"),
        "img-src": ("'self'", "data:", "blob:", "https://img.clerk.com", "{documents}"),
        "font-src": ("'self'",),
        "connect-src": ("'self'", "{api}", "{clerk}", "{documents}"),
        "worker-src": ("'self'", "blob:"),
        "frame-src": ("https://challenges.cloudflare.com",),
        "manifest-src": ("'self'",),
        "object-src": ("'none'",),
        "base-uri": ("'self'",),
        "form-action": ("'self'",),
        "frame-ancestors": ("'none'",),
        "upgrade-insecure-requests": (),
    }
    for directive, sources in (extra or {}).items():
        known = policy.get(directive, ())
        policy[directive] = (*known, *(s for s in sources if s not in known))
    return policy


def site_host(label: str, kind: str, stack: str, domain: str) -> str:
    """The host of a site labelled ``label`` on a stage of ``kind`` (``production``, ``staging``, ``personal``)
    named ``stack``, under ``domain``."""
    stage_part = {"production": "", "staging": "staging"}.get(kind, stack)
    head = "-".join(part for part in (stage_part, label) if part)
    return f"{head}.{domain}" if head else domain


def render_csp(csp: Mapping[str, Sequence[str]], origins: Mapping[str, str]) -> str:
    """The header value of ``csp`` with each ``{placeholder}`` replaced by its origin from ``origins`` (a source
    whose origin is ``""`` is left out; a directive left with no source becomes ``'none'``)."""
    directives: list[str] = []
    for directive, sources in csp.items():
        rendered = [origins[s[1:-1]] if s.startswith("{") else s for s in sources]
        kept = [source for source in dict.fromkeys(rendered) if source]
        if sources and not kept:
            kept = ["'none'"]
        directives.append(" ".join([directive, *kept]))
    return "; ".join(directives)
