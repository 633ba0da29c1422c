"""The platform's own CloudWatch metrics, written as CloudWatch embedded metric format (EMF) log lines.

A service prints one JSON document per observation to standard output; on Lambda, CloudWatch Logs turns
every such line into a metric datapoint (no API call, no ``cloudwatch:PutMetricData`` grant, nothing on
the request path but one ``write``). With the functions' JSON log format a ``print`` stays plain text, so
the line reaches CloudWatch Logs exactly as written, which is what EMF extraction needs. Locally the same
line goes to the terminal.

The names live here once: the services write them, and the alarms in ``infra/monitoring.py`` watch them,
both importing this module (standard library only).

- ``HealthCheckFailed`` (1 failed, 0 passed): the API's deep health check, once per dependency, under the
  dimensions ``Stage``, ``Service``, ``Check`` (one metric per dependency, each its own alarm);
- ``DeployRunFailed`` (1 failed, 0 succeeded): a run-on-deploy service (the migrator), once per run, under
  ``Stage``, ``Service``.

Every observation is written, successes as 0, so a metric that stops arriving means nothing was checked
(the alarms treat that as they must: see their ``treat_missing_data``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

NAMESPACE = "Reggie"
"""The custom namespace of every platform metric (AWS's own are ``AWS/...``)."""
STAGE, SERVICE, CHECK = "Stage", "Service", "Check"
"""Dimension names."""
HEALTH_CHECK_FAILED = "HealthCheckFailed"
DEPLOY_RUN_FAILED = "DeployRunFailed"


def emf_line(
    metrics: Mapping[str, float],
    dimensions: Mapping[str, str],
    rollups: Sequence[Sequence[str]],
    *,
    timestamp_ms: int | None = None,
) -> str:
    """One EMF document: ``metrics`` (name to value, unit Count) published under every dimension set in
    ``rollups`` (each a subset of ``dimensions``' names), as a single line of JSON."""
    for rollup in rollups:
        missing = [name for name in rollup if name not in dimensions]
        if missing:
            raise ValueError(f"EMF dimension set {list(rollup)} names {missing}, which have no value")
    clashes = set(metrics) & set(dimensions)
    if clashes:
        raise ValueError(f"EMF metric and dimension names must differ: {sorted(clashes)}")
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(rollup) for rollup in rollups],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in metrics],
                }
            ],
        },
        **dimensions,
        **metrics,
    }
    return json.dumps(document, separators=(",", ":"))


def publish(line: str, stream: TextIO | None = None) -> None:
    """Write one EMF line to standard output (where Lambda's log capture picks it up), flushed so that a
    function frozen right after the invocation does not keep it in a buffer."""
    out = stream if stream is not None else sys.stdout
    out.write(line + "\n")
    out.flush()


def health_check(stage: str, service: str, check: str, *, failed: bool) -> str:
    """The ``HealthCheckFailed`` line of one dependency check. Only the dimension set the alarms watch is
    published: every other set would be one more custom metric billed each month."""
    return emf_line(
        {HEALTH_CHECK_FAILED: 1 if failed else 0},
        {STAGE: stage, SERVICE: service, CHECK: check},
        [(STAGE, SERVICE, CHECK)],
    )


def deploy_run(stage: str, service: str, *, failed: bool) -> str:
    """The ``DeployRunFailed`` line of one run-on-deploy invocation."""
    return emf_line({DEPLOY_RUN_FAILED: 1 if failed else 0}, {STAGE: stage, SERVICE: service}, [(STAGE, SERVICE)])
