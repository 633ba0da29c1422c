"""Fetch each site's build output into the folder the stage config names, before `pulumi preview`/`up`.

    python scripts/fetch_site_builds.py [--dest build/sites] [SITE ...]

The frontends are built in their own repositories; their CI publishes each build as a gzipped tarball
with ``index.html`` at its top (a release asset, an object in a bucket: any HTTPS URL). For every site
(default: each folder under ``sites/``) this reads the URL from ``<SITE>_BUILD_URL`` (``WEB_BUILD_URL``,
``ADMIN_BUILD_URL``), sends ``Authorization: Bearer $SITE_BUILD_TOKEN`` when that is set (a private
release), and unpacks it into ``<dest>/<site>`` (``build/sites/web``: what Pulumi.production.yaml and
Pulumi.staging.yaml name), replacing what was there only once the new build has unpacked whole.

A build is refused, and nothing replaced, when it is not a gzipped tar, holds a member outside its own
folder (an absolute path, ``..``), a link or a device, is over the size limits, or has no ``index.html`` at
its top. Standard library only, so CI runs it before any virtualenv exists. Exits 0 when every site was
fetched, 1 with one line per failure otherwise.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
SITES_DIR = REPO_ROOT / "sites"
DEFAULT_DEST = REPO_ROOT / "build" / "sites"
TOKEN_VARIABLE = "SITE_BUILD_TOKEN"  # noqa: S105 - the variable's name, not a token
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
MAX_UNPACKED_BYTES = 500 * 1024 * 1024
MAX_MEMBERS = 20_000
TIMEOUT_S = 60


class BuildRefused(Exception):
    """A build that cannot be used; the message says why, in one line."""


def url_variable(site: str) -> str:
    """The variable holding a site's build URL: ``web`` → ``WEB_BUILD_URL``."""
    return f"{site.upper()}_BUILD_URL"


def site_names(sites_dir: Path = SITES_DIR) -> list[str]:
    return sorted(p.parent.name for p in sites_dir.glob("*/site.py"))


def download(url: str, token: str | None) -> bytes:
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")):
        raise BuildRefused(f"{url!r} is not an https URL")
    headers = {"User-Agent": "reggie-fetch-site-builds"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https (or loopback http), checked above
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
            body = answer.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise BuildRefused(f"{url} answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise BuildRefused(f"{url} could not be fetched: {error}") from None
    if len(body) > MAX_DOWNLOAD_BYTES:
        raise BuildRefused(f"{url} is over {MAX_DOWNLOAD_BYTES // 2**20} MB")
    return body


def unpack(archive: bytes, target: Path) -> int:
    """Unpack a gzipped tar of a build into ``target`` (replacing it only when all went well); the number
    of files. :class:`BuildRefused` for anything unsafe or not a build."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            files = _checked_files(tar.getmembers())
            _extract(tar, files, target)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BuildRefused(f"not a gzipped tar archive ({error})") from None
    return len(files)


def _checked_files(members: list[tarfile.TarInfo]) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    """The archive's files with their paths inside the build, or :class:`BuildRefused` saying what is wrong."""
    if len(members) > MAX_MEMBERS:
        raise BuildRefused(f"{len(members)} members, over {MAX_MEMBERS}")
    files: list[tuple[tarfile.TarInfo, PurePosixPath]] = []
    total = 0
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise BuildRefused(f"member {member.name!r} points outside the build")
        if member.isdir():
            continue
        if not member.isfile():
            raise BuildRefused(f"member {member.name!r} is not a regular file (links and devices are refused)")
        total += member.size
        if total > MAX_UNPACKED_BYTES:
            raise BuildRefused(f"over {MAX_UNPACKED_BYTES // 2**20} MB unpacked")
        files.append((member, PurePosixPath(*[p for p in path.parts if p != "."])))
    if PurePosixPath("index.html") not in {relative for _, relative in files}:
        raise BuildRefused("no index.html at the top of the archive")
    return files


def _extract(tar: tarfile.TarFile, files: list[tuple[tarfile.TarInfo, PurePosixPath]], target: Path) -> None:
    """Write ``files`` beside ``target``, then swap the whole folder in (a failure leaves the old build)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for member, relative in files:
            source = tar.extractfile(member)
            if source is None:
                raise BuildRefused(f"member {member.name!r} cannot be read")
            destination = staging.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with source, destination.open("wb") as out:
                shutil.copyfileobj(source, out)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fetch_site_builds", description="Fetch each site's build output.")
    parser.add_argument("sites", nargs="*", help="the sites to fetch (default: every folder under sites/)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where <site>/ folders go")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_VARIABLE) or None
    failures: list[str] = []
    for site in args.sites or site_names():
        url = os.environ.get(url_variable(site), "").strip()
        if not url:
            failures.append(f"{site}: set {url_variable(site)} to the URL of its build (a .tar.gz)")
            continue
        try:
            count = unpack(download(url, token), args.dest / site)
        except BuildRefused as refused:
            failures.append(f"{site}: {refused}")
            continue
        print(f"fetch_site_builds: {site}: {count} files into {args.dest / site}")
    for failure in failures:
        print(f"fetch_site_builds: FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
