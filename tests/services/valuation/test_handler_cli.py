"""The Lambda handler and the predict CLI on good and bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from services.valuation.handler import MAX_BATCH, handler

REPO = Path(__file__).resolve().parents[3]


def test_single_and_batch() -> None:
    one = handler({"registration": "AB12 CDE"}, None)
    assert one["registration"] == "AB12 CDE"
    assert one["price"] > 0
    batch = handler({"registrations": ["1 A", "nope"]}, None)
    assert [r["registration"] for r in batch["results"]] == ["1 A", "nope"]
    assert batch["results"][1]["error"]["code"] == "invalid_registration"


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (None, "invalid_event"),
        ([], "invalid_event"),
        ("AB12 CDE", "invalid_event"),
        ({}, "invalid_event"),
        ({"registration": 5}, "invalid_event"),
        ({"registrations": "AB12 CDE"}, "invalid_event"),
        ({"registrations": [1, 2]}, "invalid_event"),
        ({"registrations": []}, "invalid_event"),
        ({"registration": "A", "registrations": ["B"]}, "invalid_event"),
        ({"registrations": ["1 A"] * (MAX_BATCH + 1)}, "too_many_registrations"),
    ],
)
def test_bad_events_answer_errors(event: object, code: str) -> None:
    answer = handler(event, None)
    assert answer["error"]["code"] == code
    assert answer["error"]["message"]


def test_invalid_mark_in_single_event() -> None:
    answer = handler({"registration": "ZZZZZZZZ"}, None)
    assert answer["error"]["code"] == "invalid_registration"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.valuation", *args],
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
