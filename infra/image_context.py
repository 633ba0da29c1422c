"""An image's build context as Docker sends it, and the tag that names exactly that content.

Each image service has an allow-list beside its Dockerfile, ``<Dockerfile>.dockerignore``: BuildKit reads
it in place of the context root's ``.dockerignore``, and so does pulumi-docker, both for the files it sends
and for the context hash that decides whether the image is built (and pushed) again. The context is the
repository root, so without the allow-list ``.git``, ``.venv`` and ``build/`` would be in it and change on
every CI run.

ECR tags are immutable: a rebuild pushed to an existing tag is refused. So the tag must change whenever
the builder would build again, that is whenever anything in the context, the Dockerfile or the platform
changes. :func:`source_tag` hashes exactly those: the files the allow-list admits (:func:`context_files`,
matched with Docker's own rules), their executable bit, the Dockerfile and its ignore file.
:func:`copied_files` reads the Dockerfile's ``COPY`` sources, so a test can hold the allow-list and the
``COPY`` lines to the same set of files.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

IGNORE_SUFFIX = ".dockerignore"
_GLOB_CHARS = re.compile(r"[*?\[]")


class ImageContextError(ValueError):
    """An image's Dockerfile or ignore file cannot be read as Docker would; the message names the file."""


def ignore_file(dockerfile: Path) -> Path:
    """The per-Dockerfile ignore file BuildKit and pulumi-docker read: ``<Dockerfile>.dockerignore``."""
    return dockerfile.with_name(dockerfile.name + IGNORE_SUFFIX)


def _pattern(glob: str) -> re.Pattern[str]:
    """One ignore line as moby's patternmatcher reads it: ``**`` any number of directories, ``*`` and ``?``
    never across ``/``, ``[...]`` a character class, matched against the whole cleaned path."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        elif glob[i] == "[" and "]" in glob[i + 1 :]:
            end = glob.index("]", i + 1)
            out, i = out + "[" + glob[i + 1 : end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


@dataclass(frozen=True, slots=True)
class Rule:
    exception: bool
    """A ``!`` line: lets back in what an earlier line left out."""
    glob: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class IgnoreRules:
    """The lines of one ignore file, in order; the last line matching a path or one of its parent
    directories decides whether the path is in the context (Docker's rule)."""

    rules: tuple[Rule, ...]

    @classmethod
    def parse(cls, text: str) -> IgnoreRules:
        rules: list[Rule] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            glob = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
            rules.append(Rule(exception, glob, _pattern(glob)))
        return cls(tuple(rules))

    @classmethod
    def beside(cls, dockerfile: Path) -> IgnoreRules:
        path = ignore_file(dockerfile)
        if not path.is_file():
            raise ImageContextError(f"{path}: missing; every image needs its allow-list beside its Dockerfile")
        return cls.parse(path.read_text())

    def admits(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, ``/``-separated) reaches the build."""
        parts = path.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        admitted = True
        for rule in self.rules:
            if any(rule.pattern.fullmatch(p) for p in prefixes):
                admitted = rule.exception
        return admitted

    @cached_property
    def _exceptions(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(rule.glob.split("/")) for rule in self.rules if rule.exception)

    def may_admit_below(self, directory: str) -> bool:
        """Whether anything under ``directory`` could reach the build: it is admitted, or some ``!`` line
        reaches below it. A directory that cannot is not walked (it may be big, or unreadable)."""
        parts = directory.split("/")
        return self.admits(directory) or any(_reaches_below(globs, parts) for globs in self._exceptions)


def _reaches_below(globs: tuple[str, ...], parts: list[str]) -> bool:
    """Whether a pattern split at ``/`` could match some path strictly under the directory ``parts``."""
    for glob, part in zip(globs, parts, strict=False):
        if glob == "**":
            return True
        if not _pattern(glob).fullmatch(part):
            return False
    return len(globs) > len(parts)


def context_files(root: Path, dockerfile: Path) -> list[str]:
    """Every file of the context ``root`` the Dockerfile's allow-list admits, sorted, relative and
    ``/``-separated. Symbolic links are not followed (Docker sends a link as a link)."""
    rules = IgnoreRules.beside(dockerfile)
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder).relative_to(root).as_posix()
        prefix = "" if here == "." else f"{here}/"
        dirs[:] = sorted(d for d in dirs if rules.may_admit_below(prefix + d))
        found += [prefix + name for name in names if rules.admits(prefix + name)]
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Copy:
    """One ``COPY`` instruction (not ``--from`` another stage or image): its sources and destination."""

    sources: tuple[str, ...]
    destination: str


def copies(dockerfile: Path) -> list[Copy]:
    """The Dockerfile's ``COPY``/``ADD`` instructions that take files from the build context."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found: list[Copy] = []
    for line in text.splitlines():
        words = line.strip().split(maxsplit=1)
        if len(words) < 2 or words[0].upper() not in ("COPY", "ADD"):
            continue
        rest = words[1].strip()
        args = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        flags = [a for a in args if a.startswith("--")]
        paths = [a for a in args if not a.startswith("--")]
        if any(flag.startswith("--from") for flag in flags):
            continue
        if len(paths) < 2:
            raise ImageContextError(f"{dockerfile}: {line.strip()!r} names no source")
        found.append(Copy(tuple(paths[:-1]), paths[-1]))
    return found


def _selects(source: str, path: str) -> bool:
    """Whether a ``COPY`` source takes ``path``: the file itself, a file under the directory, or a glob."""
    source = posixpath.normpath(source).lstrip("/")
    if source == ".":
        return True
    if _GLOB_CHARS.search(source):
        return _pattern(source).fullmatch(path) is not None
    return path == source or path.startswith(source + "/")


def copied_files(dockerfile: Path, context: Iterable[str]) -> dict[str, list[str]]:
    """Per ``COPY`` source, the files of ``context`` it takes."""
    files = list(context)
    return {source: [f for f in files if _selects(source, f)] for copy in copies(dockerfile) for source in copy.sources}


def source_tag(root: Path, dockerfile: Path, platform: str) -> str:
    """``src-<16 hex>``: a SHA-256 of the platform, the Dockerfile, its ignore file and every context file
    it admits (path, executable bit, bytes). Equal exactly when the builder would send the same context."""
    digest = hashlib.sha256()

    def add(*parts: bytes) -> None:
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)

    add(platform.encode(), dockerfile.read_bytes(), ignore_file(dockerfile).read_bytes())
    for name in context_files(root, dockerfile):
        path = root / name
        executable = b"x" if os.access(path, os.X_OK) and not path.is_symlink() else b"-"
        add(name.encode(), executable, os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return f"src-{digest.hexdigest()[:16]}"
