"""scripts/fetch_site_builds.py against a real HTTP server on loopback playing the frontends' release host:
a build unpacks into the folder the stage config names, and an unsafe or broken one replaces nothing."""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.ci.scripts import load_script, serving

fetch = load_script("fetch_site_builds")


def tarball(files: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return out.getvalue()


class Host:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.authorizations: list[str | None] = []


@pytest.fixture
def host() -> Iterator[tuple[str, Host]]:
    state = Host()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.authorizations.append(self.headers.get("Authorization"))
            body = state.files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            return

    with serving(Handler) as url:
        yield url, state


BUILD = {"index.html": b"<!doctype html>", "assets/app-1a2b.js": b"console.log(1)", "./robots.txt": b"x"}


def test_each_site_unpacks_into_its_folder_with_the_token(
    host: tuple[str, Host], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = host
    state.files = {"/web.tar.gz": tarball(BUILD), "/admin.tar.gz": tarball({"index.html": b"admin"})}
    monkeypatch.setenv("WEB_BUILD_URL", url + "/web.tar.gz")
    monkeypatch.setenv("ADMIN_BUILD_URL", url + "/admin.tar.gz")
    monkeypatch.setenv("SITE_BUILD_TOKEN", "t0k")
    old = tmp_path / "web" / "stale.js"
    old.parent.mkdir(parents=True)
    old.write_text("from the last deploy")
    assert fetch.main(["--dest", str(tmp_path), "web", "admin"]) == 0
    assert (tmp_path / "web" / "assets" / "app-1a2b.js").read_bytes() == b"console.log(1)"
    assert (tmp_path / "web" / "robots.txt").exists()
    assert not old.exists()  # the folder is the new build, nothing of the old one mixed in
    assert (tmp_path / "admin" / "index.html").read_bytes() == b"admin"
    assert state.authorizations == ["Bearer t0k", "Bearer t0k"]
    assert fetch.site_names() == ["admin", "web"]  # the default: every folder under sites/


@pytest.mark.parametrize(
    "case",
    [
        (tarball({"../escape.html": b"x", "index.html": b"x"}), "points outside the build"),
        (tarball({"/etc/cron.d/x": b"x", "index.html": b"x"}), "points outside the build"),
        (tarball({"index.html": b"x"}, links={"assets": "/etc"}), "not a regular file"),
        (tarball({"dist/index.html": b"x"}), "no index.html at the top"),
        (b"<html>not an archive</html>", "not a gzipped tar archive"),
    ],
)
def test_an_unsafe_or_broken_build_is_refused_and_replaces_nothing(
    host: tuple[str, Host], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[bytes, str]
) -> None:
    archive, reason = case
    url, state = host
    state.files = {"/web.tar.gz": archive}
    monkeypatch.setenv("WEB_BUILD_URL", url + "/web.tar.gz")
    live = tmp_path / "web" / "index.html"
    live.parent.mkdir(parents=True)
    live.write_text("the last good build")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert fetch.main(["--dest", str(tmp_path), "web"]) == 1
    assert reason in err.getvalue()
    assert live.read_text() == "the last good build"
    assert not (tmp_path.parent / "escape.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web"]  # no half-unpacked folder left behind


def test_a_missing_url_or_a_failed_download_names_the_site(
    host: tuple[str, Host], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = host
    monkeypatch.delenv("WEB_BUILD_URL", raising=False)
    monkeypatch.setenv("ADMIN_BUILD_URL", url + "/nowhere.tar.gz")
    assert fetch.main(["--dest", str(tmp_path), "web", "admin"]) == 1
    err = capsys.readouterr().err
    assert "FAIL web: set WEB_BUILD_URL" in err
    assert "FAIL admin: " in err
    assert "answered 404" in err
    monkeypatch.setenv("WEB_BUILD_URL", "http://example.com/web.tar.gz")
    assert fetch.main(["--dest", str(tmp_path), "web"]) == 1
    assert "is not an https URL" in capsys.readouterr().err
