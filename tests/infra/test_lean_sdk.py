"""The lean SDK import used by `python -m infra`: same classes, same plan, far fewer modules loaded."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from infra.lean_sdk import _module_candidates  # pyright: ignore[reportPrivateUsage]
from infra.plan import main

ROOT = Path(__file__).resolve().parents[2]


def test_names_map_to_their_defining_modules() -> None:
    assert _module_candidates("DnsRecord")[0] == "dns_record"
    assert _module_candidates("R2BucketCors")[0] == "r2_bucket_cors"
    assert _module_candidates("SecurityGroupIngressRule")[0] == "security_group_ingress_rule"
    assert _module_candidates("get_ami_output")[0] == "get_ami"
    assert _module_candidates("RegistryArgs") == ["_inputs", "registry"]
    assert _module_candidates("ClusterParameterGroupArgs")[1] == "cluster_parameter_group"
    assert _module_candidates("ec2") == ["ec2", "ec2"]


def _in_fresh_process(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return proc.stdout


def test_lean_packages_give_the_real_classes_and_fall_back_for_anything_else() -> None:
    out = _in_fresh_process(
        "from infra import lean_sdk; lean_sdk.install()\n"
        "import sys, pulumi_cloudflare as cf, pulumi_docker as docker\n"
        "from pulumi_cloudflare.dns_record import DnsRecord\n"
        "print(cf.DnsRecord is DnsRecord, docker.DockerBuildArgs.__module__)\n"
        "print(len([m for m in sys.modules if m.startswith('pulumi_cloudflare.')]) < 10)\n"
        "try:\n    cf.NoSuchThing\nexcept AttributeError:\n    print('missing', hasattr(cf, 'AccessApplication'))\n"
    )
    assert out.split() == ["True", "pulumi_docker._inputs", "True", "missing", "True"]


@pytest.mark.slow
def test_the_plan_never_falls_back_to_a_whole_sdk() -> None:
    out = _in_fresh_process(
        "from infra import lean_sdk; lean_sdk.install()\n"
        "import io, sys\n"
        "from infra.plan import main\n"
        "assert main(['--stack', 'production'], out=io.StringIO()) == 0\n"
        "print(sorted(n for n, m in sys.modules.items() if '_lean_full' in getattr(m, '__dict__', {})))\n"
    )
    assert out.strip() == "[]"


@pytest.mark.slow
def test_lean_plan_prints_exactly_the_normal_plan() -> None:
    lean = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--stack", "dev-demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    normal = io.StringIO()
    code = main(["--stack", "dev-demo"], out=normal)
    assert lean.returncode == code == 0
    assert lean.stdout == normal.getvalue()
