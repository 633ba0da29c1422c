"""`python -m infra plan`: the tree and policy report, exit codes, one-line errors without a traceback."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import plan
from infra.plan import load_config, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def diagram_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Default diagrams go to a temporary folder, not the repository's build/plan/."""
    monkeypatch.setattr(plan, "DIAGRAM_DIR", tmp_path / "plan")
    return tmp_path / "plan"


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
        # A typo is refused rather than silently ignored, with the keys it may have meant.
        (
            "reggie:auroraMax=3",
            "config reggie:auroraMax=...: not allowed; this program reads no such key; did you "
            "mean reggie:auroraMaxAcu?",
        ),
        (
            "reggie:nat=gateway",
            "did you mean reggie:natAmi or reggie:natCount or reggie:natHealing or reggie:natInstanceType or "
            "reggie:natMode?",
        ),
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


def _total(out: str, profile: str) -> float:
    found = re.search(rf"^Monthly cost estimate, eu-west-2, {profile}: USD ([\d,.]+)$", out, re.MULTILINE)
    assert found, out
    return float(found.group(1).replace(",", ""))


def test_plan_prints_the_cost_and_writes_the_diagram(diagram_dir: Path) -> None:
    code, out, err = _main("--stack", "dev-demo")
    assert code == 0, out + err
    idle, loaded = _total(out, "idle"), _total(out, "launch load")
    assert 0 < idle <= 5  # the personal-stage goal: the shared network's NAT is paid once, by dev-network
    assert loaded > idle
    assert "database-key" in out
    assert "customer managed key" in out
    diagram = (diagram_dir / "dev-demo.mmd").read_text()
    assert diagram.startswith("---\ntitle: reggie dev-demo\n---\nflowchart LR\n")
    assert "Diagram (Mermaid): " in out
    assert 'subgraph vpc["shared network (StackReference)"]' in diagram
    assert "λ api-function<br/>zip · arm64 · 1024 MB" in diagram
    assert out.rstrip().endswith("advisory")


def test_json_replaces_the_tree_and_reports_go_to_stderr(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "prod.mmd"
    code, out, err = _main("--stack", "production", "--json", "--diagram", str(target))
    assert code == 0, err
    doc = json.loads(out)  # stdout is the document alone
    types = {step["newState"]["type"] for step in doc["steps"]}
    assert {"pulumi:pulumi:Stack", "aws:rds/cluster:Cluster", "aws:lambda/invocation:Invocation"} <= types
    assert doc["changeSummary"] == {"create": len(doc["steps"])}
    assert doc["config"]["reggie:stripeSecretKey"] == "[secret]"
    assert doc["config"]["reggie:domain"] == "reggie.co.uk"
    assert "Cluster database-cluster" not in out
    assert _total(err, "idle") > 5  # production keeps half an ACU and two NAT instances running
    assert "Monthly cost estimate" not in out
    assert "0 mandatory violation(s)" in err
    assert target.read_text().startswith("---\ntitle: reggie production\n")
