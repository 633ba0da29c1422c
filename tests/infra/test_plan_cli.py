"""`python -m infra plan`: the tree and policy report, exit codes, one-line errors without a traceback."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from infra.plan import load_config, main

ROOT = Path(__file__).resolve().parents[2]


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_production_plan_prints_the_tree_and_passes_the_pack() -> None:
    code, out, err = _main("--stack", "production")
    assert code == 0, out + err
    assert "Stack reggie-production" in out
    assert "  AuroraPostgres database" in out
    assert "    Cluster database-cluster  [clusterIdentifier=reggie-production-db" in out
    assert "deletionProtection=true" in out
    assert "Domain" in out
    assert "api.reggie.co.uk" in out
    assert out.rstrip().endswith("advisory")
    assert "0 mandatory violation(s)" in out


def test_a_mandatory_violation_exits_non_zero() -> None:
    code, out, _ = _main("--stack", "production", "--policy-config", "productionMinBackupRetentionDays=30")
    assert code == 1
    assert "MANDATORY aurora-backup-retention: database-cluster: backup retention is 14 day(s)" in out


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("reggie:auroraMaxAcu=0.25", "config reggie:auroraMaxAcu=0.25: not allowed; a multiple of 0.5 from 1 to 256"),
        ("natMode=nat-box", "config reggie:natMode=nat-box: not allowed; one of instance, gateway, none"),
        ("nonsense", "use key=value"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(config: str, expected: str) -> None:
    code, out, err = _main("--stack", "production", "--config", config)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert expected in err


def test_stack_files_and_overrides_layer_up() -> None:
    config, secrets = load_config("production", {"auroraMaxAcu": "8"})
    assert config["aws:region"] == "eu-west-2"  # Pulumi.yaml value
    assert config["reggie:clerkIssuer"] == "https://clerk.reggie.co.uk"  # Pulumi.production.yaml
    assert config["reggie:auroraMaxAcu"] == "8"  # override
    assert "reggie:stripeSecretKey" in secrets  # placeholder secret for the offline run
    personal, personal_secrets = load_config("dev-demo")
    assert personal_secrets == []
    assert "reggie:stripeSecretKey" not in personal


@pytest.mark.slow
def test_whole_process_bad_stage_value_has_no_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--stack", "production", "--config", "reggie:auroraMaxAcu=0.25"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: config reggie:auroraMaxAcu=0.25: not allowed; a multiple of 0.5 from 1 to 256"
    ]
    assert "Traceback" not in proc.stderr
