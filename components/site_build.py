"""A static site's build folder, read at program time: the files to upload, each with its content type and
cache header, and what a CloudFront invalidation must cover when they change.

The listing is plain Python over the folder as it is when the program runs (never inside an ``apply``), so
every file becomes one declared object and a preview shows exactly which files a deploy adds, changes or
removes.

Caching follows the build tools' convention (Vite's ``assets/``, Next's ``_next/static/``): files under the
site's *immutable* prefixes carry a content hash in their name, so they are cached for a year and never
invalidated (a new build gives them new names); everything else (HTML, ``robots.txt``, the favicon...) is
revalidated by browsers and kept briefly by the edge, and is what the invalidation lists.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from components._common import ComponentArgsError

IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
"""Content-hashed assets: a year in browsers and at the edge, never revalidated."""
HTML_CACHE = "public, max-age=0, s-maxage=60, must-revalidate"
"""HTML: browsers revalidate on every load (a 304 when unchanged), shared caches keep it a minute at most."""
OTHER_CACHE = "public, max-age=3600, s-maxage=60"
"""Unhashed files besides HTML (favicon, robots.txt, manifest): an hour in browsers, a minute at the edge."""
MAX_INVALIDATION_PATHS = 15
"""Above this many changed-on-deploy files the invalidation is ``/*``: one path, however many files (CloudFront
bills paths beyond 1,000 a month, and a wildcard counts as one)."""
INDEX = "index.html"
SKIPPED_NAMES = frozenset({".DS_Store", "Thumbs.db"})
"""Operating-system litter never uploaded."""
KEPT_DOT_FOLDERS = frozenset({".well-known"})
"""The one hidden folder a site serves (security.txt, app links); other dot files and folders (``.vite/``
manifests, editor state) are build internals and stay out of the bucket."""

_TEXT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
}
"""Text types, served with ``; charset=utf-8`` (what every current build tool writes)."""
_BINARY_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
}
"""The web's binary types, fixed here rather than read from the machine's ``/etc/mime.types``, so every
machine uploads the same headers."""
_PYTHON_TYPES = mimetypes.MimeTypes()
"""Python's built-in table only (an instance ignores the system's files): the fallback for the rest."""
_BAD_KEY = re.compile(r"[\x00-\x1f\x7f\\]|::")
"""Control characters, backslashes and ``::`` (which would break the resource's URN) are refused."""


class SiteBuildError(ComponentArgsError):
    """A build folder the site cannot serve; the message names the folder or the file."""


def content_type(key: str) -> str:
    """The ``Content-Type`` a file is served with, from its extension."""
    suffix = Path(key).suffix.lower()
    if suffix in _TEXT_TYPES:
        return f"{_TEXT_TYPES[suffix]}; charset=utf-8"
    if suffix in _BINARY_TYPES:
        return _BINARY_TYPES[suffix]
    guessed, _encoding = _PYTHON_TYPES.guess_type(f"file{suffix}", strict=True)
    return guessed or "application/octet-stream"


def is_immutable(key: str, immutable_prefixes: Sequence[str]) -> bool:
    """Whether ``key`` lies under one of the content-hashed prefixes (``assets/``)."""
    return any(key.startswith(prefix) for prefix in immutable_prefixes)


def cache_control(key: str, immutable_prefixes: Sequence[str]) -> str:
    """The ``Cache-Control`` a file is served with (see the module's caching rules)."""
    if is_immutable(key, immutable_prefixes):
        return IMMUTABLE_CACHE
    if key.endswith((".html", ".htm")):
        return HTML_CACHE
    return OTHER_CACHE


@dataclass(frozen=True, slots=True)
class SiteFile:
    """One file of the build, as it is uploaded."""

    key: str
    """The object key: the path under the build folder, with ``/`` separators (``assets/index-3f2a1b9c.js``)."""
    path: Path
    content_type: str
    cache_control: str
    immutable: bool


@dataclass(frozen=True, slots=True)
class SiteBuild:
    """A build folder's files and a digest that changes whenever any file, name or header does."""

    root: Path
    files: tuple[SiteFile, ...]
    digest: str
    """SHA-256 over every file's key, headers and bytes, in key order."""

    @property
    def invalidation_paths(self) -> tuple[str, ...]:
        """What a deploy invalidates: every file that is not content-hashed (URL-encoded, as CloudFront
        expects), or ``/*`` when there are more than :data:`MAX_INVALIDATION_PATHS` of them."""
        paths = tuple(f"/{quote(f.key, safe='/-._~')}" for f in self.files if not f.immutable)
        return paths if len(paths) <= MAX_INVALIDATION_PATHS else ("/*",)

    def has(self, key: str) -> bool:
        return any(f.key == key for f in self.files)


def _served(relative: Path) -> bool:
    if relative.name in SKIPPED_NAMES:
        return False
    return not any(part.startswith(".") and part not in KEPT_DOT_FOLDERS for part in relative.parts)


def scan_build(root: Path, immutable_prefixes: Sequence[str] = ("assets/",)) -> SiteBuild:
    """Every file a site serves from the build folder ``root`` (an ``index.html`` at its top is required)."""
    if not root.is_dir():
        raise SiteBuildError(f"site build folder {root}: does not exist or is not a folder; build the site first")
    files: list[SiteFile] = []
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if not _served(relative):
            continue
        key = relative.as_posix()
        if _BAD_KEY.search(key):
            raise SiteBuildError(f"site build folder {root}: the file name {key!r} cannot be an object key")
        site_file = SiteFile(
            key=key,
            path=path,
            content_type=content_type(key),
            cache_control=cache_control(key, immutable_prefixes),
            immutable=is_immutable(key, immutable_prefixes),
        )
        for part in (
            key.encode(),
            site_file.content_type.encode(),
            site_file.cache_control.encode(),
            path.read_bytes(),
        ):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        files.append(site_file)
    build = SiteBuild(root, tuple(files), digest.hexdigest())
    if not build.has(INDEX):
        raise SiteBuildError(
            f"site build folder {root}: no {INDEX} at its top; point the config at the build's output folder "
            "(Vite's dist/, Next's out/)"
        )
    return build
