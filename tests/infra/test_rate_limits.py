"""Limits per client in the plans of production, staging and a personal stage: the zone's one rate-limiting
ruleset (declared by its owner only, covering every stage's API host, stricter on the costly routes), and API
Gateway's per-route throttles (the webhooks on a budget of their own)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from infra.mocks import Recording
from infra.plan import record_plan
from infra.planned import PlannedResource
from infra.policy.rules import evaluate
from infra.registry import REPO_ROOT
from services.api.deploy import SPEC as API_SPEC
from services.api.http_errors import ErrorBody

RULESET = "cloudflare:index/ruleset:Ruleset"
STAGE = "aws:apigatewayv2/stage:Stage"
PERSONAL = {"personalApiDomain": "true"}
STACKS = {"production": {}, "staging": {}, "dev-demo": PERSONAL}
API_HOSTS = ("api.reggie.co.uk", "staging-api.reggie.co.uk", "dev-demo-api.reggie.co.uk")
SITE_HOSTS = ("reggie.co.uk", "admin.reggie.co.uk", "staging.reggie.co.uk", "staging-admin.reggie.co.uk",
              "dev-demo.reggie.co.uk", "dev-demo-admin.reggie.co.uk")  # fmt: skip
COSTLY = {f"{r.method} {r.path}" for r in API_SPEC.routes if r.budget == "costly"}
WEBHOOKS = {f"{r.method} {r.path}" for r in API_SPEC.routes if r.budget == "webhook"}
# stack: (standard, costly, webhook) as (requests per second, burst): the stage matrix
THROTTLES = {
    "production": ((100, 200), (10, 20), (25, 50)),
    "staging": ((50, 100), (5, 10), (10, 20)),
    "dev-demo": ((20, 40), (2, 5), (5, 10)),
}


@pytest.fixture(scope="module")
def plans() -> dict[str, Recording]:
    return {stack: record_plan(stack, config) for stack, config in STACKS.items()}


def _rulesets(rec: Recording) -> list[PlannedResource]:
    return [r for r in rec.resources if r.type == RULESET]


def _matches_host(expression: str, host: str) -> bool:
    """Whether the expression's host clause admits ``host`` (its ``eq`` and ``wildcard`` terms; Cloudflare's
    wildcard ``*`` spans any characters)."""
    exact = re.findall(r'http\.host eq "([^"]+)"', expression)
    patterns = re.findall(r'http\.host wildcard "([^"]+)"', expression)
    return host in exact or any(fnmatch.fnmatchcase(host, p) for p in patterns)


def _paths(expression: str) -> set[str]:
    (listed,) = re.findall(r"http\.request\.uri\.path in \{([^}]*)\}", expression)
    return set(re.findall(r'"([^"]+)"', listed))


def test_production_owns_the_zones_rate_limits_and_staging_and_personal_stages_declare_none(
    plans: dict[str, Recording],
) -> None:
    assert [len(_rulesets(plans[stack])) for stack in STACKS] == [1, 0, 0]
    ruleset = _rulesets(plans["production"])[0].inputs
    assert (ruleset["phase"], ruleset["kind"], ruleset["zoneId"]) == ("http_ratelimit", "zone", "0ff11e00" * 4)
    assert "(from production)" in ruleset["description"]


def test_every_stages_api_host_is_limited_per_address_and_the_costly_routes_more_strictly(
    plans: dict[str, Recording],
) -> None:
    costly, general = _rulesets(plans["production"])[0].inputs["rules"]
    assert (costly["ref"], general["ref"]) == ("costly", "api")
    for rule in (costly, general):
        assert rule["action"] == "block"
        assert rule["ratelimit"]["characteristics"] == ["cf.colo.id", "ip.src"]
        # counted over a minute (Pro's longest), a client over the limit blocked for as long
        assert rule["ratelimit"]["period"] == rule["ratelimit"]["mitigationTimeout"] == 60
        # the API hosts of production, staging and a personal stage (which declare nothing); no site host
        assert all(_matches_host(rule["expression"], host) for host in API_HOSTS)
        assert not any(_matches_host(rule["expression"], host) for host in SITE_HOSTS)
        response = rule["actionParameters"]["response"]
        assert (response["statusCode"], response["contentType"]) == (429, "application/json")
        body = msgspec.json.decode(response["content"], type=ErrorBody, strict=True)  # the API's own error shape
        assert (body.status, body.code) == (429, "too_many_requests")
        assert "wait 1 minute" in body.message
    assert (costly["ratelimit"]["requestsPerPeriod"], general["ratelimit"]["requestsPerPeriod"]) == (30, 600)
    # the costly rule: exactly the valuation and deep health routes' paths; the general one every path
    assert _paths(costly["expression"]) == {key.split(" ", 1)[1] for key in COSTLY}
    assert _paths(costly["expression"]) == {"/api/v1/health/deep", "/api/v1/valuations", "/api/v1/valuations/batch"}
    assert "uri.path" not in general["expression"]


@pytest.mark.parametrize("stack", STACKS)
def test_each_stage_throttles_its_routes_with_the_webhooks_on_their_own_budget(
    plans: dict[str, Recording], stack: str
) -> None:
    (stage,) = [r for r in plans[stack].resources if r.type == STAGE]
    standard, costly, webhook = THROTTLES[stack]
    default = stage.inputs["defaultRouteSettings"]
    assert (default["throttlingRateLimit"], default["throttlingBurstLimit"]) == standard
    settings = {
        s["routeKey"]: (s["throttlingRateLimit"], s["throttlingBurstLimit"]) for s in stage.inputs["routeSettings"]
    }
    assert settings == dict.fromkeys(COSTLY, costly) | dict.fromkeys(WEBHOOKS, webhook)
    assert {"POST /api/v1/webhooks/clerk", "POST /api/v1/webhooks/stripe"} == WEBHOOKS
    # every route setting names a declared route, which the stage waits for
    routes = {r.inputs["routeKey"]: r.urn for r in plans[stack].resources if r.type == "aws:apigatewayv2/route:Route"}
    assert set(settings) <= set(routes)
    assert {routes[key] for key in settings} <= set(plans[stack].options[stage.urn].dependencies)
    found = [v for v in evaluate(plans[stack].resources) if v.rule in ("api-stage-throttled", "ratelimit-per-client")]
    assert found == []


@pytest.mark.parametrize(("owner", "declares"), [("staging", "staging"), ("none", None)])
def test_the_owner_is_one_setting_and_only_it_declares_the_rules(owner: str, declares: str | None) -> None:
    for stack in ("production", "staging"):
        rulesets = _rulesets(record_plan(stack, {"rateLimitOwner": owner}))
        assert len(rulesets) == (1 if stack == declares else 0), stack
        if rulesets:
            assert f"(from {stack})" in rulesets[0].inputs["description"]
            assert all(_matches_host(r["expression"], "api.reggie.co.uk") for r in rulesets[0].inputs["rules"])


def test_a_free_zone_gets_its_one_rule_on_the_costly_paths_alone() -> None:
    (ruleset,) = _rulesets(record_plan("production", {"cloudflarePlan": "free"}))
    (rule,) = ruleset.inputs["rules"]
    assert rule["ref"] == "costly"
    assert "http.host" not in rule["expression"]  # Free rules may match on the path only
    assert _paths(rule["expression"]) == {key.split(" ", 1)[1] for key in COSTLY}
    assert (rule["ratelimit"]["period"], rule["ratelimit"]["mitigationTimeout"]) == (10, 10)
    assert rule["ratelimit"]["requestsPerPeriod"] == 5  # 30 a minute, over 10 s
    assert "actionParameters" not in rule  # Cloudflare's own 429 page


def test_a_business_zone_may_count_over_ten_minutes() -> None:
    config = {"cloudflarePlan": "business", "rateLimitPeriod": "600", "rateLimitCostlyRequests": "200"}
    (ruleset,) = _rulesets(record_plan("production", config))
    costly, general = ruleset.inputs["rules"]
    assert [r["ratelimit"]["period"] for r in (costly, general)] == [600, 600]
    assert [r["ratelimit"]["requestsPerPeriod"] for r in (costly, general)] == [200, 6000]
    assert "wait 10 minutes" in costly["actionParameters"]["response"]["content"]


ZONE_KEYS = ("cloudflarePlan", "rateLimitOwner", "rateLimitPeriod", "rateLimitRequests", "rateLimitCostlyRequests")


def test_the_zones_rate_limit_settings_are_never_one_stacks() -> None:
    """Every stack must agree on who owns the zone's rules (two owners: the second is refused by Cloudflare; none:
    no limits), so these keys belong in Pulumi.yaml, never in a Pulumi.<stack>.yaml."""
    stack_files = sorted(Path(REPO_ROOT).glob("Pulumi.*.yaml"))
    assert stack_files
    for path in stack_files:
        config: dict[str, Any] = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        assert not {key.removeprefix("reggie:") for key in config} & set(ZONE_KEYS), path.name
