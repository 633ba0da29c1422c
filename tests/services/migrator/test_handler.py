"""The migrator handler on a real PostgreSQL: success, concurrency, a failing revision, bad settings."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, pool

from services.core.schema import REPO_ROOT, current_revision, head_revision
from services.migrator.handler import handler, migrate

HEAD = head_revision()


def _migrations_plus(tmp_path: Path, name: str, body: str) -> Path:
    """A copy of migrations/ with one extra revision on top of head."""
    folder = tmp_path / "migrations"
    shutil.copytree(REPO_ROOT / "migrations", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / f"{name}.py").write_text(
        f'"""test revision"""\n\nfrom alembic import op\n\nrevision = "{name}"\ndown_revision = "{HEAD}"\n'
        f"branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n{body}\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )
    return folder


def _has_table(url: str, table: str) -> bool:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return inspect(engine).has_table(table)
    finally:
        engine.dispose()


def _deploy_run_metrics(output: str) -> list[tuple[str, str, int]]:
    """(stage, service, DeployRunFailed) of every embedded-metric line the handler wrote."""
    found = []
    for line in output.splitlines():
        document = json.loads(line) if line.startswith('{"_aws"') else None
        if document is not None:
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "Reggie"
            assert directive["Dimensions"] == [["Stage", "Service"]]
            found.append((document["Stage"], document["Service"], document["DeployRunFailed"]))
    return found


def test_handler_migrates_from_empty_to_head(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STAGE", "dev-test")
    monkeypatch.setenv("SERVICE_NAME", "migrator")
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    assert handler({}, None) == {"status": "success", "from": None, "to": HEAD}
    assert handler({}, None) == {"status": "success", "from": HEAD, "to": HEAD}  # idempotent
    # each run is a metric: 0 for a success, which clears the stage's failed-run alarm
    assert _deploy_run_metrics(capsys.readouterr().out) == [("dev-test", "migrator", 0)] * 2


def test_a_failed_run_is_a_metric_of_one(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STAGE", "dev-test")
    monkeypatch.setenv("SERVICE_NAME", "migrator")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/reggie")  # nothing listens there
    assert handler({}, None)["status"] == "error"
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")  # bad settings: still reported, under the stage as set
    assert handler({}, None)["status"] == "error"
    assert _deploy_run_metrics(capsys.readouterr().out) == [("dev-test", "migrator", 1)] * 2


def test_two_concurrent_invocations_migrate_once(fresh_database_url: str, tmp_path: Path) -> None:
    # A slow top revision makes sure the two runs overlap: the second must wait on the lock.
    scripts = _migrations_plus(tmp_path, "slow_top", '    op.execute("SELECT pg_sleep(1)")')
    barrier = threading.Barrier(2)
    answers: list[dict[str, Any]] = []

    def run() -> None:
        barrier.wait()
        answers.append(migrate(fresh_database_url, script_location=scripts))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(answer["status"] == "success" for answer in answers), answers
    assert sorted((a["from"] or "", a["to"]) for a in answers) == [("", "slow_top"), ("slow_top", "slow_top")]
    assert current_revision(fresh_database_url) == "slow_top"


def test_failing_revision_leaves_previous_revision(fresh_database_url: str, tmp_path: Path) -> None:
    body = '    op.execute("CREATE TABLE half_done (id int)")\n    op.execute("SELECT 1 / 0")'
    scripts = _migrations_plus(tmp_path, "broken_top", body)
    answer = migrate(fresh_database_url, script_location=scripts)
    assert answer["status"] == "error"
    assert "division by zero" in answer["message"]
    assert answer["at"] == HEAD
    assert current_revision(fresh_database_url) == HEAD  # every revision before the broken one applied
    assert not _has_table(fresh_database_url, "half_done")  # the broken one rolled back entirely


def test_lock_timeout_stops_ddl_waiting_behind_a_live_query(fresh_database_url: str, tmp_path: Path) -> None:
    migrate(fresh_database_url)
    scripts = _migrations_plus(tmp_path, "add_column", '    op.execute("ALTER TABLE plates ADD COLUMN note text")')
    engine = create_engine(fresh_database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as api_connection:  # an API transaction holding a lock on plates
            api_connection.exec_driver_sql("SELECT count(*) FROM plates")
            answer = migrate(fresh_database_url, script_location=scripts, lock_timeout="200ms")
            api_connection.rollback()
    finally:
        engine.dispose()
    assert answer["status"] == "error"
    assert "lock timeout" in answer["message"]
    assert current_revision(fresh_database_url) == HEAD


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SERVICE_NAME": "migrator", "DATABASE_URL": "postgresql://u@127.0.0.1:1/x"}, "STAGE is not set"),
        ({"STAGE": "dev-x", "SERVICE_NAME": "migrator"}, "no database configured"),
        ({"STAGE": "dev-x", "SERVICE_NAME": "migrator", "DATABASE_URL": "mysql://h/x"}, "DATABASE_URL is malformed"),
    ],
)
def test_bad_settings_answer_an_error(env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STAGE", "SERVICE_NAME", "DATABASE_URL", "DB_HOST", "DB_NAME", "DB_SECRET_ARN", "DB_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    answer = handler({}, None)
    assert answer["status"] == "error"
    assert expected in answer["message"]


def test_unreachable_database_answers_an_error() -> None:
    answer = migrate("postgresql+psycopg://postgres@127.0.0.1:1/reggie", connect_wait_s=1)
    assert answer["status"] == "error"
    assert answer["message"].startswith("DatabaseUnreachable: no connection after ")
    assert "OperationalError" in answer["message"]
    assert "\n" not in answer["message"]
