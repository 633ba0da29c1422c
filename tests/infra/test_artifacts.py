"""Lambda zip artifacts: contents, determinism, caching, guards, and the skip under mocks.

The fast tests run the real pip against wheels built here (a requirements file with ``--no-index
--find-links``), so they need no registry; the slow test builds the API-style zip for arm64 from the
registries, as `pulumi up` does.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pulumi
import pytest

from infra import artifacts
from infra.service_spec import ServiceSpec

REPO = Path(__file__).resolve().parents[2]
API_SPEC = ServiceSpec(name="api", package="zip", handler="services.api.handler.handler", architecture="arm64")


def _make_wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal valid pure-Python wheel, so pip installs it for any platform."""
    dist_info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    contents[f"{dist_info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record: list[str] = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
    return wheel


def _fake_repo(root: Path) -> Path:
    """A repository with the layout the build reads, plus everything it must leave out."""
    files = {
        "services/__init__.py": "",
        "services/core/__init__.py": "",
        "services/core/registration.py": "def parse(text):\n    return text.upper()\n",
        "services/api/__init__.py": "",
        "services/api/handler.py": "import tinydep\n\ndef handler(event, context):\n    return tinydep.VALUE\n",
        "services/api/openapi.json": "{}\n",
        "services/api/deploy.py": "from infra.service_spec import ServiceSpec\n",
        "services/api/requirements.in": "tinydep\n",
        "services/api/tests/test_handler.py": "def test(): pass\n",
        "services/api/__pycache__/handler.cpython-311.pyc": "stale",
        "services/api/.hidden": "x",
        "services/valuation/model.py": "never shipped with the api\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    directory = tmp_path / "wheelhouse"
    directory.mkdir()
    _make_wheel(directory, "tinydep", "1.0", {"tinydep/__init__.py": "VALUE = 42\n"})
    _make_wheel(directory, "pytest", "0.0.1", {"pytest_fake/__init__.py": ""})
    return directory


def _requirements(path: Path, wheelhouse: Path, *names: str) -> Path:
    path.write_text(f"--no-index\n--find-links {wheelhouse}\n" + "".join(f"{n}\n" for n in names))
    return path


@pytest.fixture
def repo(tmp_path: Path, wheelhouse: Path) -> Path:
    root = _fake_repo(tmp_path / "repo")
    _requirements(root / "services/api/requirements.txt", wheelhouse, "tinydep==1.0")
    return root


def test_zip_holds_code_and_dependencies_and_nothing_else(repo: Path, tmp_path: Path) -> None:
    built = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "build", python=False)
    with zipfile.ZipFile(built.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {"services/__init__.py", "services/core/registration.py", "services/api/handler.py"} <= set(names)
    assert "services/api/openapi.json" in names  # data files beside the code ship too
    assert "tinydep/__init__.py" in names
    assert any(name.startswith("tinydep-1.0.dist-info/") for name in names)
    for left_out in ("deploy.py", "/tests/", "__pycache__", "requirements", ".hidden", "valuation", "bin/"):
        assert not [name for name in names if left_out in name], left_out
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert built.unzipped_bytes == sum(info.file_size for info in infos)
    assert built.sha256_b64 == base64.b64encode(hashlib.sha256(built.path.read_bytes()).digest()).decode()
    assert built.compiled is False


def test_same_inputs_same_bytes_and_cache_hits(repo: Path, tmp_path: Path) -> None:
    first = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "a", python=False)
    independent = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "b", python=False)
    assert first.sha256_b64 == independent.sha256_b64
    assert first.path.read_bytes() == independent.path.read_bytes()

    stamp = first.path.stat().st_mtime_ns
    again = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "a", python=False)
    assert again.path == first.path
    assert again.path.stat().st_mtime_ns == stamp  # served from the cache, not rebuilt

    (repo / "services/core/registration.py").write_text("def parse(text):\n    return text.lower()\n")
    changed = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "a", python=False)
    assert changed.sha256_b64 != first.sha256_b64
    # a code-only change reuses the installed dependencies
    assert len(list((tmp_path / "a" / "deps").iterdir())) == 1


def test_byte_code_for_lambda_python(repo: Path, tmp_path: Path) -> None:
    python = artifacts.find_python("3.12")
    built = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "build", python=python or False)
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
        pycs = [name for name in names if name.endswith(".pyc")]
        if python is None:  # no CPython 3.12 on this machine: sources only, and the artifact says so
            assert built.compiled is False
            assert pycs == []
            return
        assert built.compiled is True
        assert "services/api/__pycache__/handler.cpython-312.pyc" in names
        assert "tinydep/__pycache__/__init__.cpython-312.pyc" in names
        assert all(".cpython-312." in name for name in pycs)
        pycs_by_source = {
            "/var/task/services/api/handler.py": archive.read("services/api/__pycache__/handler.cpython-312.pyc"),
            "/var/task/tinydep/__init__.py": archive.read("tinydep/__pycache__/__init__.cpython-312.pyc"),
        }
    # Unchecked-hash pycs (flags 0b01): no timestamp inside; file names point at Lambda's task root, for the
    # service's code (compiled at assembly) and its dependencies (compiled once into their cache) alike.
    probe = "import marshal, sys; print(marshal.loads(sys.stdin.buffer.read()[16:]).co_filename)"
    for source, pyc in pycs_by_source.items():
        assert int.from_bytes(pyc[4:8], "little") == 1
        shown = subprocess.run([str(python), "-c", probe], input=pyc, capture_output=True, check=True)
        assert shown.stdout.decode().strip() == source
    again = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "other", python=python)
    assert again.sha256_b64 == built.sha256_b64


def test_test_tools_in_the_requirements_fail_the_build(repo: Path, tmp_path: Path, wheelhouse: Path) -> None:
    requirements = _requirements(tmp_path / "req.txt", wheelhouse, "tinydep==1.0", "pytest==0.0.1")
    with pytest.raises(artifacts.ArtifactError, match=r"test or build tools.*pytest"):
        artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "b", requirements=requirements, python=False)


def test_unresolvable_requirements_name_the_platform(repo: Path, tmp_path: Path, wheelhouse: Path) -> None:
    requirements = _requirements(tmp_path / "req.txt", wheelhouse, "nosuchdep==1.0")
    with pytest.raises(artifacts.ArtifactError, match=r"CPython 3\.12, arm64"):
        artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "b", requirements=requirements, python=False)


def test_bad_specs_are_refused_with_a_reason(repo: Path, tmp_path: Path) -> None:
    missing_handler = ServiceSpec(name="api", package="zip", handler="services.api.nothere.handler")
    with pytest.raises(artifacts.ArtifactError, match=r"services/api/nothere\.py"):
        artifacts.build_zip(missing_handler, repo_root=repo, build_dir=tmp_path, python=False)
    image = ServiceSpec(name="valuation", package="image", handler="app.handler", dockerfile="x/Dockerfile")
    with pytest.raises(artifacts.ArtifactError, match="not as a zip"):
        artifacts.build_zip(image, repo_root=repo, build_dir=tmp_path, python=False)
    (repo / "services/api/stray.py").write_text("from services.valuation.model import predict\n")
    with pytest.raises(artifacts.ArtifactError, match=r"stray\.py:1 imports services\.valuation\.model"):
        artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path, python=False)
    (repo / "services/api/stray.py").write_text("def f():\n    import infra.config\n")
    with pytest.raises(artifacts.ArtifactError, match=r"stray\.py:2 imports infra\.config"):
        artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path, python=False)
    (repo / "services/api/stray.py").unlink()
    (repo / "services/api/requirements.txt").unlink()
    with pytest.raises(artifacts.ArtifactError, match=r"requirements\.txt is missing.*make lock"):
        artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path, python=False)


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, object]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, object], list[tuple[str, str]] | None]:
        return {}, None


def test_under_mocks_nothing_is_built(repo: Path, tmp_path: Path) -> None:
    pulumi.runtime.set_mocks(_Mocks(), project="reggie", stack="dev-test", preview=False)
    assert artifacts.under_mocks()
    code = artifacts.lambda_code(API_SPEC, repo_root=repo, build_dir=tmp_path / "build")
    assert isinstance(code.archive, pulumi.AssetArchive)
    assert code.source_code_hash is None
    assert not (tmp_path / "build").exists()

    built = artifacts.lambda_code(API_SPEC, build=True, repo_root=repo, build_dir=tmp_path / "build")
    assert isinstance(built.archive, pulumi.FileArchive)
    assert Path(built.archive.path).is_file()
    rebuilt = artifacts.build_zip(API_SPEC, repo_root=repo, build_dir=tmp_path / "build")
    assert built.source_code_hash == rebuilt.sha256_b64


# ------------------------------------------------------------------------------------ the real thing

API_RUNTIME_FALLBACK = ("litestar", "msgspec", "mangum", "pyjwt[crypto]", "psycopg[binary]", "sqlalchemy")
"""The API's runtime dependencies, used until ``services/api/requirements.txt`` is compiled by ``make lock``."""


def _api_tree(root: Path) -> Path:
    """A copy of the real ``services/`` code the API ships; a minimal Mangum handler if the API has none yet."""
    shutil.copy(REPO / "services/__init__.py", root / "services/__init__.py")
    for name in ("core", "api"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "services" / name, root / "services" / name, ignore=ignore)
    handler = root / "services/api/handler.py"
    if not handler.exists():
        handler.write_text("from mangum import Mangum\n\nfrom services.api.app import app\n\nhandler = Mangum(app)\n")
    return root


@pytest.mark.slow
def test_real_api_zip_for_arm64(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "services").mkdir(parents=True)
    _api_tree(root)
    requirements = REPO / "services/api/requirements.txt"
    if not requirements.is_file():
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("\n".join(API_RUNTIME_FALLBACK) + "\n")
    spec = ServiceSpec(name="api", package="zip", handler="services.api.handler.handler", architecture="arm64")

    first = artifacts.build_zip(spec, repo_root=root, build_dir=tmp_path / "one", requirements=requirements)
    assert first.unzipped_bytes < artifacts.LAMBDA_MAX_UNZIPPED_BYTES
    with zipfile.ZipFile(first.path) as archive:
        names = set(archive.namelist())
    assert "services/api/handler.py" in names
    assert "services/api/app.py" in names
    assert "services/core/registration.py" in names
    for package in ("litestar", "msgspec", "mangum", "jwt", "sqlalchemy", "psycopg", "psycopg_binary"):
        assert f"{package}/__init__.py" in names, package
    # compiled extensions are the aarch64 builds for CPython 3.12
    extensions = [name for name in names if name.endswith(".so") and name.startswith(("msgspec/", "psycopg_binary/"))]
    assert extensions
    assert all("x86_64" not in name and "311" not in name for name in extensions)
    assert any("aarch64" in name or "cpython-312" in name for name in extensions)
    top_level = {name.split("/", 1)[0].split("-", 1)[0].lower() for name in names}
    for forbidden in ("pytest", "hypothesis", "ruff", "pyright", "moto", "pip", "_pytest", "setuptools"):
        assert forbidden not in top_level, forbidden
    assert not [name for name in names if name.startswith(("bin/", "services/api/tests/", "services/core/tests/"))]

    # a second, fully independent build (fresh caches) gives the very same bytes
    second = artifacts.build_zip(spec, repo_root=root, build_dir=tmp_path / "two", requirements=requirements)
    assert second.sha256_b64 == first.sha256_b64
    assert artifacts.build_zip(spec, repo_root=root, build_dir=tmp_path / "one", requirements=requirements).path == (
        first.path
    )
