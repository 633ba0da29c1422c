"""Reading a build folder: which files are served, with which headers, and what an invalidation covers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.site_build import (
    HTML_CACHE,
    IMMUTABLE_CACHE,
    MAX_INVALIDATION_PATHS,
    OTHER_CACHE,
    SiteBuildError,
    content_type,
    scan_build,
)

SAMPLE = Path(__file__).parent / "sample_site"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    shutil.copytree(SAMPLE, folder)
    return folder


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("ABOUT.HTM", "text/html; charset=utf-8"),
        ("assets/app-1a2b3c4d.mjs", "text/javascript; charset=utf-8"),
        ("assets/app-1a2b3c4d.js.map", "application/json; charset=utf-8"),
        ("site.webmanifest", "application/manifest+json; charset=utf-8"),
        ("sitemap.xml", "application/xml; charset=utf-8"),
        ("img/hero.avif", "image/avif"),
        ("img/hero.webp", "image/webp"),
        ("fonts/inter.woff2", "font/woff2"),
        ("wasm/valuer.wasm", "application/wasm"),
        ("docs/terms.pdf", "application/pdf"),
        ("video/intro.mp4", "video/mp4"),
        (".well-known/apple-app-site-association", "application/octet-stream"),
        ("data/archive.zip", "application/zip"),  # Python's own table, the same on every machine
    ],
)
def test_content_types_do_not_depend_on_the_machine(key: str, expected: str) -> None:
    assert content_type(key) == expected


def test_the_sample_build_is_listed_with_its_headers() -> None:
    listing = scan_build(SAMPLE)
    by_key = {f.key: f for f in listing.files}
    assert sorted(by_key) == [
        ".well-known/security.txt",
        "assets/index-B3xk9Q2a.js",
        "assets/index-Dx7sKq1P.css",
        "assets/inter-latin-4f5e6d7c.woff2",
        "assets/logo-a1b2c3d4.svg",
        "favicon.ico",
        "index.html",
        "manifest.webmanifest",
        "robots.txt",
    ]
    assert {k for k, f in by_key.items() if f.cache_control == IMMUTABLE_CACHE} == {
        k for k in by_key if k.startswith("assets/")
    }
    assert by_key["index.html"].cache_control == HTML_CACHE
    assert by_key["robots.txt"].cache_control == OTHER_CACHE
    assert all(f.path == SAMPLE / f.key for f in listing.files)
    assert listing.invalidation_paths == (
        "/.well-known/security.txt",
        "/favicon.ico",
        "/index.html",
        "/manifest.webmanifest",
        "/robots.txt",
    )


def test_other_immutable_folders_follow_the_site(build: Path) -> None:
    (build / "_next" / "static" / "chunks").mkdir(parents=True)
    (build / "_next" / "static" / "chunks" / "main-9f8e7d6c.js").write_text("1")
    listing = scan_build(build, ("_next/static/",))
    by_key = {f.key: f for f in listing.files}
    assert by_key["_next/static/chunks/main-9f8e7d6c.js"].cache_control == IMMUTABLE_CACHE
    assert by_key["assets/index-B3xk9Q2a.js"].cache_control == OTHER_CACHE  # not hashed by this site's rule


def test_litter_and_build_internals_stay_out_but_well_known_is_served(build: Path) -> None:
    (build / ".DS_Store").write_bytes(b"\0")
    (build / "assets" / "Thumbs.db").write_bytes(b"\0")
    (build / ".vite").mkdir()
    (build / ".vite" / "manifest.json").write_text("{}")
    (build / ".env").write_text("SECRET=1")
    keys = {f.key for f in scan_build(build).files}
    assert ".well-known/security.txt" in keys
    assert not {k for k in keys if k.startswith(".") and not k.startswith(".well-known/")}
    assert "assets/Thumbs.db" not in keys


def test_the_digest_follows_names_bytes_and_headers(build: Path) -> None:
    first = scan_build(build).digest
    assert scan_build(build).digest == first
    (build / "robots.txt").rename(build / "robots2.txt")
    renamed = scan_build(build).digest
    assert renamed != first
    assert scan_build(build, ("assets/", "img/")).digest == renamed  # no file under img/: same headers
    assert scan_build(build, ()).digest != renamed  # assets lose their year-long cache header


def test_many_changing_files_are_one_wildcard_invalidation(build: Path) -> None:
    for i in range(MAX_INVALIDATION_PATHS):
        (build / f"page-{i}.html").write_text("<p>")
    assert scan_build(build).invalidation_paths == ("/*",)


def test_paths_are_url_encoded_for_cloudfront(build: Path) -> None:
    (build / "über uns.html").write_text("<p>")
    assert "/%C3%BCber%20uns.html" in scan_build(build).invalidation_paths


def test_a_name_that_cannot_be_a_key_is_refused(build: Path) -> None:
    (build / "a::b.txt").write_text("x")
    with pytest.raises(SiteBuildError, match=r"the file name 'a::b.txt' cannot be an object key"):
        scan_build(build)
