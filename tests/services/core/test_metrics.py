"""Embedded metric format lines: the shape CloudWatch Logs extracts metrics from, one line each."""

from __future__ import annotations

import io
import json

import pytest

from services.core import metrics


def test_a_health_check_line_is_one_emf_document() -> None:
    line = metrics.health_check("production", "api", "storage", failed=True)
    assert "\n" not in line
    document = json.loads(line)
    assert document == {
        "_aws": {
            "Timestamp": document["_aws"]["Timestamp"],
            "CloudWatchMetrics": [
                {
                    "Namespace": "Reggie",
                    "Dimensions": [["Stage", "Service", "Check"]],
                    "Metrics": [{"Name": "HealthCheckFailed", "Unit": "Count"}],
                }
            ],
        },
        "Stage": "production",
        "Service": "api",
        "Check": "storage",
        "HealthCheckFailed": 1,
    }
    assert json.loads(metrics.health_check("production", "api", "storage", failed=False))["HealthCheckFailed"] == 0


def test_a_deploy_run_line_and_the_timestamp() -> None:
    document = json.loads(metrics.emf_line({"DeployRunFailed": 0}, {"Stage": "s"}, [("Stage",)], timestamp_ms=42))
    assert document["_aws"]["Timestamp"] == 42
    assert json.loads(metrics.deploy_run("s", "migrator", failed=True))["DeployRunFailed"] == 1


def test_publish_writes_one_flushed_line() -> None:
    out = io.StringIO()
    metrics.publish('{"a":1}', out)
    assert out.getvalue() == '{"a":1}\n'


@pytest.mark.parametrize(
    ("metric_values", "dimensions", "rollups", "message"),
    [
        ({"M": 1}, {"Stage": "s"}, [("Stage", "Check")], "have no value"),
        ({"Stage": 1}, {"Stage": "s"}, [("Stage",)], "must differ"),
    ],
)
def test_inconsistent_documents_are_refused(
    metric_values: dict[str, float], dimensions: dict[str, str], rollups: list[tuple[str, ...]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.emf_line(metric_values, dimensions, rollups)
