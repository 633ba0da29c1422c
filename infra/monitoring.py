"""The stage's alarms, made from what the program declared: every function, the API, the database, the NATs and
each service's health check. Where the stage has alarms (``reggie:alarms``: production and staging), they go to
one SNS topic that emails ``reggie:alarmEmail``, and a dashboard shows them (``components/alarms.py``).

Each alarm watches a real CloudWatch metric by its real dimensions, and its description says what it means and
what to check first (the README's runbook has the same, at more length). ``treat_missing_data`` follows what a
silent metric means for it:

- ``notBreaching`` where no data means nothing happened: no requests, no invocations, a paused database;
- ``missing`` (hold the state) where data comes from an occasional event: a deploy's migration, a health probe
  (a failure stays raised until a later run or probe passes; a probe that stops is the API's own errors alarm);
- ``breaching`` where silence is itself the failure: no NAT instance in service, a lone NAT instance stopped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi_aws as aws

from components import Alarm, Alarms, AlarmsArgs, AuroraPostgres, Function, HttpApi, Metric, MetricMath, Network, Probe
from infra.config import Stage
from infra.naming import physical_name
from infra.network import NetworkLike
from infra.service_spec import HealthCheck, ServiceSpec
from services.core import metrics

FIVE_MINUTES = 300
API_5XX_PERCENT = 5
API_5XX_MIN_REQUESTS = 20
"""Below this many requests in five minutes a rate says little (one failure of two requests is 50%)."""
API_P99_MS = 3000
FUNCTION_ERRORS_PER_5_MIN = 5
"""For functions that serve requests; a scheduled or run-on-deploy function alarms on its first error."""
DURATION_SHARE_OF_TIMEOUT = 0.9
CONNECTIONS_SHARE = 0.8
PROBE_SCHEDULE = "rate(5 minutes)"
PROBE_USER_AGENT = "reggie-health-probe"

_LAMBDA, _APIGW, _RDS, _EC2, _ASG = "AWS/Lambda", "AWS/ApiGateway", "AWS/RDS", "AWS/EC2", "AWS/AutoScaling"


def monitor(
    stage: Stage,
    *,
    specs: Sequence[ServiceSpec] = (),
    functions: Mapping[str, Function] | None = None,
    api: HttpApi | None = None,
    database: AuroraPostgres | None = None,
    network: NetworkLike | None = None,
) -> Alarms | None:
    """The stage's alarms, dashboard and health probes over what it declared; ``None`` where it has no alarms."""
    if not stage.alarms:
        return None
    functions = functions or {}
    alarms: list[Alarm] = []
    if api is not None:
        alarms += api_alarms(api)
    probes: list[Probe] = []
    for spec in specs:
        function = functions.get(spec.name)
        if function is None:
            continue
        alarms += function_alarms(stage, spec, function)
        if spec.run_on_deploy:
            alarms.append(deploy_run_alarm(stage, spec))
        if spec.health_check is not None:
            alarms += health_alarms(stage, spec, spec.health_check)
            probes.append(health_probe(spec, spec.health_check, function))
    if database is not None:
        alarms += database_alarms(database)
    if isinstance(network, Network):
        alarms += nat_alarms(network)
    return Alarms(
        "alarms",
        AlarmsArgs(
            name_prefix=physical_name(stage.name, ""),
            region=stage.region,
            alarms=alarms,
            email=stage.alarm_email,
            probes=probes,
            tags=stage.tags,
        ),
    )


def api_alarms(api: HttpApi) -> list[Alarm]:
    """The HTTP API's 5xx rate and p99 latency (``AWS/ApiGateway`` by ``ApiId``, as HTTP APIs publish them)."""
    by_api = {"ApiId": api.api_id}
    return [
        Alarm(
            key="api-5xx-rate",
            title="API 5xx rate (%)",
            description=(
                f"More than {API_5XX_PERCENT}% of API requests answered 5xx in 2 of the last 3 five-minute periods "
                f"(with at least {API_5XX_MIN_REQUESTS} requests). Clients are failing. Check: 1) the api function's "
                "errors, duration and throttles alarms and its log group for tracebacks; 2) GET /api/v1/health/deep "
                "and the database alarms (a 503 names the dependency that is down); 3) whether a deploy just went "
                "out (pulumi stack history): roll back by redeploying the previous commit."
            ),
            watch=MetricMath(
                expression=f"IF(requests >= {API_5XX_MIN_REQUESTS}, 100 * errors / requests, 0)",
                metrics={
                    "errors": Metric(_APIGW, "5xx", by_api, "Sum"),
                    "requests": Metric(_APIGW, "Count", by_api, "Sum"),
                },
                label="5xx %",
            ),
            comparison=">",
            threshold=API_5XX_PERCENT,
            treat_missing_data="notBreaching",  # no requests, no errors
            period_s=FIVE_MINUTES,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            group="API",
        ),
        Alarm(
            key="api-latency-p99",
            title="API latency p99 (ms)",
            description=(
                f"The slowest 1% of API requests took over {API_P99_MS} ms for 15 minutes (API Gateway's Latency, "
                "which includes the function). Check: 1) the database alarms (capacity at its maximum, connections) "
                "and the api function's duration; 2) cold starts (the api log group's Init Duration lines, "
                "throttles); 3) the valuation function's duration if valuations are slow."
            ),
            watch=Metric(_APIGW, "Latency", by_api, "p99"),
            comparison=">",
            threshold=API_P99_MS,
            treat_missing_data="notBreaching",  # no requests, no latency
            period_s=FIVE_MINUTES,
            evaluation_periods=3,
            group="API",
        ),
    ]


def _runs_alone(spec: ServiceSpec) -> bool:
    """Scheduled and run-on-deploy functions run rarely, so one error is already worth a look."""
    return spec.schedule is not None or spec.run_on_deploy


def function_alarms(stage: Stage, spec: ServiceSpec, function: Function) -> list[Alarm]:
    """Errors, throttles and a duration near the timeout (``AWS/Lambda`` by ``FunctionName``: every version and
    alias together, so the SnapStart alias is included)."""
    name = spec.name
    by_function = {"FunctionName": function.function_name}
    errors = 1 if _runs_alone(spec) else FUNCTION_ERRORS_PER_5_MIN
    near_timeout_ms = DURATION_SHARE_OF_TIMEOUT * spec.timeout_s * 1000
    logs = f"its log group /aws/lambda/{physical_name(stage.name, name, 'lambda')}"
    return [
        Alarm(
            key=f"{name}-errors",
            title=f"{name}: errors",
            description=(
                f"The {name} function failed {errors} or more invocation(s) in five minutes (unhandled exceptions, "
                f"timeouts, out of memory, a failed init). Check: 1) {logs} for the traceback or 'Task timed out'; "
                "2) whether a deploy just changed it (pulumi stack history); 3) what it depends on: the database, "
                "the NAT (its egress) and the duration alarm."
            ),
            watch=Metric(_LAMBDA, "Errors", by_function, "Sum"),
            comparison=">=",
            threshold=errors,
            treat_missing_data="notBreaching",  # not invoked, no errors
            group="Functions",
        ),
        Alarm(
            key=f"{name}-throttles",
            title=f"{name}: throttles",
            description=(
                f"Lambda refused invocations of the {name} function (its reserved concurrency or the account's "
                "limit is reached), so callers got errors. Check: 1) its ConcurrentExecutions and whether traffic "
                "spiked (the API's request count); 2) its reserved concurrency (the service's deploy spec) and "
                "the account's concurrency quota; 3) whether slow invocations (the duration alarm) pile up."
            ),
            watch=Metric(_LAMBDA, "Throttles", by_function, "Sum"),
            comparison=">=",
            threshold=1,
            treat_missing_data="notBreaching",
            group="Functions",
        ),
        Alarm(
            key=f"{name}-duration",
            title=f"{name}: longest invocation (ms)",
            description=(
                f"An invocation of the {name} function ran over {DURATION_SHARE_OF_TIMEOUT:.0%} of its "
                f"{spec.timeout_s} s timeout: the next slow one fails. Check: 1) {logs}: which request or run was "
                "slow; 2) the database (capacity at its maximum, connections, slow queries in its PostgreSQL "
                "log) and calls out through the NAT; 3) whether the timeout or memory (the deploy spec) fit the work."
            ),
            watch=Metric(_LAMBDA, "Duration", by_function, "Maximum"),
            comparison=">=",
            threshold=near_timeout_ms,
            treat_missing_data="notBreaching",
            group="Functions",
        ),
    ]


def deploy_run_alarm(stage: Stage, spec: ServiceSpec) -> Alarm:
    """A run-on-deploy service (the migrator) answered failure: it never raises, so Lambda counts no error."""
    return Alarm(
        key=f"{spec.name}-run-failed",
        title=f"{spec.name}: failed deploy runs",
        description=(
            f"The {spec.name} run of a deploy failed (the deploy stopped before new API code served). It stays "
            "raised until a run succeeds. Check: 1) the failed pulumi up output, which quotes the service's "
            f"message, and the {spec.name} log group; 2) the database alarms and whether another migration held "
            "the lock; 3) fix the revision forward and deploy again (the message gives the pulumi up --replace "
            "command that runs it again)."
        ),
        watch=Metric(
            metrics.NAMESPACE,
            metrics.DEPLOY_RUN_FAILED,
            {metrics.STAGE: stage.name, metrics.SERVICE: spec.name},
            "Maximum",
        ),
        comparison=">=",
        threshold=1,
        treat_missing_data="missing",  # no deploy, no run: the last run's outcome holds
        group="Deploys",
    )


def health_alarms(stage: Stage, spec: ServiceSpec, check: HealthCheck) -> list[Alarm]:
    """One alarm per dependency the service's health check reports (``HealthCheckFailed`` by ``Check``)."""
    first_steps = {
        "storage": "the R2 bucket (Cloudflare status, the R2 API token in reggie:r2AccessKeyId/SecretAccessKey "
        "still valid, the bucket still there) and the NAT (R2 is reached through it)",
        "valuation": "the valuation function's errors, throttles and duration alarms and its log group (a "
        "missing or broken image, an import error)",
        "database": "the database alarms, the Aurora cluster's events (a failover, a reboot) and the NAT",
    }
    alarms: list[Alarm] = []
    for name in check.checks:
        what = first_steps.get(name, f"the {name} dependency")
        alarms.append(
            Alarm(
                key=f"{spec.name}-health-{name.replace('_', '-')}",
                title=f"{spec.name} health: {name}",
                description=(
                    f"The {spec.name} service's deep health check ({check.path}, run every five minutes) reports "
                    f"{name} failing twice in a row; requests that need it answer 503. Check: 1) GET {check.path}: "
                    f"the failing check's detail; 2) {what}; 3) the {spec.name} log group around the failures. "
                    "It clears on the first passing check."
                ),
                watch=Metric(
                    metrics.NAMESPACE,
                    metrics.HEALTH_CHECK_FAILED,
                    {metrics.STAGE: stage.name, metrics.SERVICE: spec.name, metrics.CHECK: name},
                    "Maximum",
                ),
                comparison=">=",
                threshold=1,
                # The probe reports every five minutes; if it stops, the function's errors alarm says why.
                treat_missing_data="missing",
                period_s=FIVE_MINUTES,
                evaluation_periods=2,
                group="Health",
            )
        )
    return alarms


def health_probe(spec: ServiceSpec, check: HealthCheck, function: Function) -> Probe:
    """A scheduled synthetic ``GET`` of the health check, sent straight to the function (as API Gateway would,
    payload format 2.0), through its SnapStart alias when it has one."""
    return Probe(
        key=f"{spec.name}-health",
        function_arn=function.entry_arn,
        function_name=function.function_name,
        qualifier=function.entry_qualifier,
        payload=json.dumps(probe_event(check.path), sort_keys=True),
        description=f"Runs the {spec.name} health check ({check.path}), whose metric the stage's alarms watch",
        schedule=PROBE_SCHEDULE,
    )


def probe_event(path: str) -> dict[str, object]:
    """An API Gateway HTTP API (payload 2.0) event for ``GET <path>``, as the probe sends it."""
    route = f"GET {path}"
    headers = {"host": "health-probe.internal", "user-agent": PROBE_USER_AGENT, "x-forwarded-proto": "https"}
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": PROBE_USER_AGENT,
            },
            "routeKey": route,
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def database_alarms(database: AuroraPostgres) -> list[Alarm]:
    """Aurora capacity pinned at its maximum, and connections near ``max_connections`` (``AWS/RDS`` by
    ``DBClusterIdentifier``: the Maximum statistic is the busiest instance's)."""
    by_cluster = {"DBClusterIdentifier": database.cluster_identifier}
    near = int(CONNECTIONS_SHARE * database.max_connections)
    return [
        Alarm(
            key="database-acu-at-max",
            title="Database capacity (ACU)",
            description=(
                f"Aurora has run at its maximum capacity ({database.max_acu:g} ACU) for 15 minutes: it cannot grow "
                "and queries queue. Check: 1) Performance Insights or the PostgreSQL log's slow statements "
                "(log_min_duration_statement is 1 s); 2) the API's request count and the scraper's schedule for a "
                "burst; 3) raise reggie:auroraMaxAcu if the load is real."
            ),
            watch=Metric(_RDS, "ServerlessDatabaseCapacity", by_cluster, "Maximum"),
            comparison=">=",
            threshold=database.max_acu,
            treat_missing_data="notBreaching",  # a paused cluster reports nothing
            period_s=FIVE_MINUTES,
            evaluation_periods=3,
            group="Database",
        ),
        Alarm(
            key="database-connections",
            title="Database connections",
            description=(
                f"An Aurora instance holds over {near} connections, {CONNECTIONS_SHARE:.0%} of the about "
                f"{database.max_connections} it allows at this capacity range; new connections will be refused. "
                "Check: 1) pg_stat_activity (by application and state: idle sessions close after 5 minutes); "
                "2) the functions' concurrency (each environment holds its own connections) and throttles; "
                "3) a connection leak in a recent deploy."
            ),
            watch=Metric(_RDS, "DatabaseConnections", by_cluster, "Maximum"),
            comparison=">=",
            threshold=near,
            treat_missing_data="notBreaching",
            period_s=FIVE_MINUTES,
            evaluation_periods=2,
            group="Database",
        ),
    ]


def nat_alarms(network: Network) -> list[Alarm]:
    """Each NAT instance's EC2 status checks; for a self-healing NAT also whether its group has one in service
    (a replaced instance reports under the group's name, so the alarm follows the replacement)."""
    alarms: list[Alarm] = []
    for slot, group in sorted(network.keyed_nodes("nat_group", aws.autoscaling.Group).items()):
        by_group = {"AutoScalingGroupName": group.name}
        alarms += [
            Alarm(
                key=f"nat-{slot}-status-check",
                title=f"NAT {slot}: status checks failed",
                description=(
                    f"NAT instance {slot} fails its EC2 status checks, so the private subnets routed through it "
                    "lose egress (Clerk, Stripe, R2, DVLA). Its Auto Scaling group replaces it by itself; the new "
                    "instance takes over the same interface and Elastic IP. Check: 1) the group's activity history "
                    "(aws autoscaling describe-scaling-activities); 2) the instance's console output or a Session "
                    "Manager shell (systemctl status fck-nat); 3) the in-service alarm: it must clear in minutes."
                ),
                watch=Metric(_EC2, "StatusCheckFailed", by_group, "Maximum"),
                comparison=">=",
                threshold=1,
                treat_missing_data="notBreaching",  # no instance at all is the in-service alarm's
                period_s=60,
                evaluation_periods=3,
                group="NAT",
            ),
            Alarm(
                key=f"nat-{slot}-in-service",
                title=f"NAT {slot}: instances in service",
                description=(
                    f"NAT {slot}'s Auto Scaling group has had no instance in service for 5 minutes, so egress from "
                    "the private subnets it serves is down. Check: 1) the group's activity history for a failed "
                    "launch (capacity, the launch template, an IAM error); 2) the newest instance's console output "
                    "(fck-nat attaching its interface); 3) the route tables still pointing at the NAT's interface."
                ),
                watch=Metric(_ASG, "GroupInServiceInstances", by_group, "Minimum"),
                comparison="<",
                threshold=1,
                treat_missing_data="breaching",  # the group reports every minute; silence is not health
                period_s=60,
                evaluation_periods=5,
                group="NAT",
            ),
        ]
    for slot, instance in sorted(network.keyed_nodes("nat_instance", aws.ec2.Instance).items()):
        alarms.append(
            Alarm(
                key=f"nat-{slot}-status-check",
                title=f"NAT {slot}: status checks failed",
                description=(
                    f"The lone NAT instance {slot} fails its EC2 status checks or reports nothing (stopped), so "
                    "egress from the private subnets it serves is down, and nothing replaces it. Check: 1) the "
                    "instance's state and status checks in the EC2 console; 2) reboot it, or start it if stopped; "
                    "3) its console output or a Session Manager shell (systemctl status fck-nat)."
                ),
                watch=Metric(_EC2, "StatusCheckFailed", {"InstanceId": instance.id}, "Maximum"),
                comparison=">=",
                threshold=1,
                treat_missing_data="breaching",  # a stopped instance reports nothing
                period_s=60,
                evaluation_periods=3,
                group="NAT",
            )
        )
    return alarms
