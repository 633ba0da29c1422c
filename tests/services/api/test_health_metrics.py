"""The deep health check as the platform's scheduled probe runs it: the probe's own event (built by
``infra/monitoring.py``) through the real Lambda handler, and the embedded-metric lines it writes, which
CloudWatch turns into the ``HealthCheckFailed`` metrics the stage's alarms watch."""

from __future__ import annotations

import json
from typing import Any

from infra.monitoring import probe_event
from services.api.deploy import SPEC
from services.api.health.service import CHECKS
from services.core import metrics
from tests.servers import free_port
from tests.services.api.test_lambda_handler import drive_with_output

assert SPEC.health_check is not None
PROBE = probe_event(SPEC.health_check.path)


def _metric_lines(logged: list[str]) -> list[dict[str, Any]]:
    found = []
    for line in logged:
        if line.startswith("{") and '"_aws"' in line:
            found.append(json.loads(line))
    return found


def _failures(documents: list[dict[str, Any]]) -> dict[str, int]:
    """By check, the value of its ``HealthCheckFailed`` line; each document checked against the EMF spec."""
    failures: dict[str, int] = {}
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == metrics.NAMESPACE == "Reggie"
        assert directive["Metrics"] == [{"Name": "HealthCheckFailed", "Unit": "Count"}]
        assert directive["Dimensions"] == [["Stage", "Service", "Check"]]  # exactly what the alarms watch
        assert isinstance(document["_aws"]["Timestamp"], int)
        assert (document["Stage"], document["Service"]) == ("ci", "api")
        failures[document["Check"]] = document["HealthCheckFailed"]
    return failures


def test_the_spec_declares_the_checks_the_api_reports() -> None:
    assert SPEC.health_check is not None
    assert SPEC.health_check.checks == CHECKS


def test_the_probe_runs_the_deep_check_and_writes_one_metric_per_dependency(base_env: dict[str, str]) -> None:
    report, logged = drive_with_output(base_env, [PROBE])
    (response,) = report[1]["responses"]
    assert response["statusCode"] == 200, response["body"]
    assert set(json.loads(response["body"])["checks"]) == set(CHECKS)
    assert _failures(_metric_lines(logged)) == dict.fromkeys(CHECKS, 0)  # a pass is written too: 0


def test_a_failing_dependency_is_a_metric_of_one(base_env: dict[str, str]) -> None:
    dead_storage = {**base_env, "BUCKET_ENDPOINT": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    report, logged = drive_with_output(dead_storage, [PROBE])
    (response,) = report[1]["responses"]
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["checks"]["storage"]["status"] == "fail"
    assert _failures(_metric_lines(logged)) == {"database": 0, "valuation": 0, "storage": 1}
