"""The training package's command line: ``predict`` on good and bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.valuation.training", *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_predict_cli_values_rows_and_reports_invalid_ones(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("registration,owner\nAB12 CDE,x\nbad!,y\n1 A,z\n,w\n")
    target = tmp_path / "out.csv"
    done = _run("predict", str(source), str(target))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(target.open()))
    assert [r["owner"] for r in rows] == ["x", "y", "z", "w"]
    assert int(rows[0]["low"]) <= int(rows[0]["predicted_price"]) <= int(rows[0]["high"])
    assert rows[0]["error"] == ""
    assert "only letters" in rows[1]["error"]
    assert rows[1]["predicted_price"] == ""
    assert int(rows[2]["predicted_price"]) > int(rows[0]["predicted_price"])
    assert rows[3]["error"] == "it is empty"


def test_predict_cli_refuses_a_file_without_the_column(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("reg\nAB12 CDE\n")
    done = _run("predict", str(source), str(tmp_path / "out.csv"))
    assert done.returncode == 2
    assert "no 'registration' column" in done.stderr
