"""ZoneRateLimits under mocks: the zone's one http_ratelimit entry point, its rules per client, refused arguments."""

from __future__ import annotations

import json

import pytest

from components import ComponentArgsError, RateLimitRule, ZoneRateLimits, ZoneRateLimitsArgs
from tests.components.helpers import children_of, component, one, run

ZONE = "ab" * 16
BODY = json.dumps({"status": 429, "code": "too_many_requests"})


def _rule(**overrides: object) -> RateLimitRule:
    base: dict[str, object] = {
        "ref": "api",
        "description": "every API route",
        "expression": 'http.host eq "api.reggie.co.uk"',
        "requests_per_period": 600,
        "period_s": 60,
        "mitigation_timeout_s": 60,
        "json_response": BODY,
    }
    return RateLimitRule(**(base | overrides))  # type: ignore[arg-type]


def test_the_rules_are_the_zones_rate_limiting_entry_point_in_order() -> None:
    costly = _rule(ref="costly", expression='http.request.uri.path eq "/v"', requests_per_period=30)
    bare = _rule(ref="bare", json_response=None, period_s=10, mitigation_timeout_s=10)
    rules = [costly, _rule(), bare]
    res = run(lambda: ZoneRateLimits("limits", ZoneRateLimitsArgs(ZONE, rules, description="from production")))
    ruleset = one(res.resources, "cloudflare:index/ruleset:Ruleset")
    limits = component(res.resources, "reggie:components:ZoneRateLimits")
    assert [r.urn for r in children_of(res.resources, limits)] == [ruleset.urn]
    inputs = ruleset.inputs
    # the zone's entry point of the phase: Cloudflare's kind, phase and name for it
    assert (inputs["zoneId"], inputs["kind"], inputs["phase"]) == (ZONE, "zone", "http_ratelimit")
    assert (inputs["name"], inputs["description"]) == ("default", "from production")
    assert [r["ref"] for r in inputs["rules"]] == ["costly", "api", "bare"]
    first = inputs["rules"][0]
    assert (first["action"], first["enabled"], first["expression"]) == ("block", True, 'http.request.uri.path eq "/v"')
    assert first["ratelimit"] == {
        "characteristics": ["cf.colo.id", "ip.src"],
        "period": 60,
        "requestsPerPeriod": 30,
        "mitigationTimeout": 60,
    }
    response = first["actionParameters"]["response"]
    assert response == {"statusCode": 429, "contentType": "application/json", "content": BODY}
    # without a body of its own, Cloudflare answers with its 429 page
    assert "actionParameters" not in inputs["rules"][2]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"ref": "API rule"}, "ref must be lowercase"),
        ({"expression": ""}, "expression must be 1-4096"),
        ({"expression": "x" * 4097}, "expression must be 1-4096"),
        ({"requests_per_period": 0}, "requests_per_period must be at least 1"),
        ({"period_s": 30}, "period_s 30 is not one of"),
        ({"mitigation_timeout_s": 0}, "mitigation_timeout_s 0 not in"),  # 0 throttles: Enterprise only
        ({"characteristics": ("ip.src",)}, "must include cf.colo.id"),
        ({"characteristics": ("cf.colo.id",)}, "count per client"),
        ({"characteristics": ("cf.colo.id", "ip.src", "cf.unique_visitor_id")}, "count per client"),  # incompatible
        ({"json_response": "x" * 2049}, "exceeds 2048 bytes"),
    ],
)
def test_a_rule_cloudflare_would_refuse_is_refused_up_front(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ComponentArgsError, match=message):
        _rule(**rule)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"zone_id": "zone"}, "32-character hex zone id"),
        ({"rules": []}, "at least one rule"),
        ({"rules": [_rule(), _rule()]}, r"refs repeat \(api, api\)"),
        ({"transforms": {"rule": lambda *_: None}}, "rule"),
    ],
)
def test_bad_arguments_are_refused_up_front(args: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"zone_id": ZONE, "rules": [_rule()]}
    with pytest.raises(ComponentArgsError, match=message):
        ZoneRateLimitsArgs(**(base | args))  # type: ignore[arg-type]
