"""The API's Lambda zip: a cold build from the registries, a cache hit, and a code-only rebuild.

Run: ``.venv/bin/python bench/bench_artifacts.py``. Builds into a fresh temporary folder (so the first
build downloads and installs every wheel for arm64), then asks again (the cache by input hash), then
changes one source file in a copy of the tree (dependencies reused, only the zip is assembled again).
Uses ``services/api/requirements.txt`` when ``make lock`` has compiled it, else the API's runtime set.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FALLBACK = ("litestar", "msgspec", "mangum", "pyjwt[crypto]", "psycopg[binary]", "sqlalchemy")


def main() -> None:
    from infra import artifacts
    from infra.service_spec import ServiceSpec

    spec = ServiceSpec(name="api", package="zip", handler="services.api.handler.handler", architecture="arm64")
    with tempfile.TemporaryDirectory(prefix="bench-artifacts-") as scratch:
        root = Path(scratch) / "repo"
        (root / "services").mkdir(parents=True)
        shutil.copy(REPO / "services/__init__.py", root / "services/__init__.py")
        for name in ("core", "api"):
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(REPO / "services" / name, root / "services" / name, ignore=ignore)
        requirements = REPO / "services/api/requirements.txt"
        if not requirements.is_file():
            requirements = Path(scratch) / "requirements.txt"
            requirements.write_text("\n".join(FALLBACK) + "\n")
            print(f"requirements: fallback set {', '.join(FALLBACK)}")
        build = Path(scratch) / "build"

        def timed() -> tuple[float, artifacts.ZipArtifact]:
            start = time.perf_counter()
            built = artifacts.build_zip(spec, repo_root=root, build_dir=build, requirements=requirements)
            return time.perf_counter() - start, built

        cold_s, cold = timed()
        cached_s, cached = timed()
        (root / "services/core/registration.py").write_text(
            (root / "services/core/registration.py").read_text() + "\n# a code-only change\n"
        )
        code_s, changed = timed()
        zip_bytes = cold.path.stat().st_size

    print(f"byte-code for CPython 3.12: {'yes' if cold.compiled else 'no (sources only)'}")
    print(f"zip: {zip_bytes / 2**20:.1f} MiB, {cold.sha256_b64}")
    print(f"unzipped: {cold.unzipped_bytes / 2**20:.1f} MiB (Lambda's limit 250 MiB)")
    print(f"cold build (download, install, compile, zip): {cold_s:.1f} s")
    print(f"cache hit: {cached_s * 1000:.0f} ms (same hash: {cached.sha256_b64 == cold.sha256_b64})")
    print(
        f"code-only rebuild (dependencies cached): {code_s:.1f} s (new hash: {changed.sha256_b64 != cold.sha256_b64})"
    )


if __name__ == "__main__":
    main()
