"""Limits per client at Cloudflare, for the API hosts of every stage, declared by one stack.

A zone has exactly one rate-limiting ruleset (the ``http_ratelimit`` phase's entry point), and production,
staging and personal stages share the zone of the domain: were each stack to declare it, the second would be
refused (or, had it been made in the dashboard, overwrite the first's rules). So one stack owns it,
``reggie:rateLimitOwner`` (production unless set; ``none`` for no rules), and its rules cover the API host of
every stage at once: ``api.<domain>`` and every ``*-api.<domain>`` (``staging-api.``, a personal stage's
``<stack>-api.``), matched by the host, so a new stage is covered without a deploy of the owner. Every other stack
declares none. A personal stage on its execute-api URL (no custom domain) is not behind Cloudflare at all: only its
API Gateway throttles apply.

The rules, in the order Cloudflare runs them, each per client address (per data centre):

1. ``costly``: the costly routes (the specs' routes with ``budget="costly"``: valuations, the deep health check),
   ``reggie:rateLimitCostlyRequests`` per ``reggie:rateLimitPeriod`` seconds;
2. ``api``: every route of the API hosts, ``reggie:rateLimitRequests`` per period. The webhooks too: Stripe and
   Clerk deliver from a few addresses each at a small fraction of that rate (and retry anything refused), while a
   single address flooding the webhook paths would otherwise drain their API Gateway budget unhindered.

A client over a limit is blocked for one period, with the API's own 429 error body. The Free plan allows one rule
on the path alone, so there only the first is declared (matching the costly paths on every host of the zone, which
no site serves). Which periods and how many rules a plan allows: ``infra/cloudflare_plans.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from components import RateLimitRule, ZoneRateLimits, ZoneRateLimitsArgs
from infra.config import Stage
from infra.service_spec import HttpRoute, RouteBudget, ServiceSpec


def too_many_requests(blocked_s: int) -> str:
    """The API's error body (``services.api.http_errors.ErrorBody``) for a client Cloudflare blocks for
    ``blocked_s`` seconds (no request id: the request never reached the API)."""
    wait = f"{blocked_s // 60} minute{'s' if blocked_s >= 120 else ''}" if blocked_s >= 60 else f"{blocked_s} seconds"
    return json.dumps(
        {
            "status": 429,
            "code": "too_many_requests",
            "message": f"Too many requests from this address; wait {wait}, then try again.",
            "details": None,
            "request_id": None,
        },
        separators=(",", ":"),
    )


def api_hosts(domain: str) -> str:
    """The API hosts of every stage of ``domain``: production's, and every ``<stage>-api.`` one."""
    return f'(http.host eq "api.{domain}" or http.host wildcard "*-api.{domain}")'


def routes_with(specs: Iterable[ServiceSpec], budget: RouteBudget) -> list[HttpRoute]:
    """Every HTTP route of ``specs`` that draws on ``budget``."""
    return [route for spec in specs for route in spec.routes if route.budget == budget]


def paths(routes: Sequence[HttpRoute]) -> str:
    """An expression matching the routes' paths: literal ones in one set, ``{param}`` segments as wildcards."""
    literal = sorted({r.path for r in routes if "{" not in r.path})
    patterns = sorted({re.sub(r"\{[^}]+\}", "*", r.path) for r in routes if "{" in r.path})
    clauses = [f"http.request.uri.path in {{{' '.join(json.dumps(p) for p in literal)}}}"] if literal else []
    clauses += [f"http.request.uri.path wildcard {json.dumps(p)}" for p in patterns]
    return "(" + " or ".join(clauses) + ")"


def rules_for(stage: Stage, specs: Sequence[ServiceSpec]) -> list[RateLimitRule]:
    """The zone's rules for the API hosts of every stage of ``stage.domain``, as far as the zone's plan allows."""
    limits = stage.rate_limits
    plan = limits.limits
    costly = routes_with(specs, "costly")
    period = limits.period_s
    response = too_many_requests(period) if plan.custom_response else None
    hosts = f"{api_hosts(stage.domain)} and " if plan.host_field else ""
    rules: list[RateLimitRule] = []
    if costly:
        rules.append(
            RateLimitRule(
                ref="costly",
                description="Per address: valuations and the deep health check (each request invokes or checks much)",
                expression=hosts + paths(costly),
                requests_per_period=limits.costly_requests,
                period_s=period,
                mitigation_timeout_s=period,
                json_response=response,
            )
        )
    if plan.host_field and len(rules) < plan.rate_limit_rules:
        rules.append(
            RateLimitRule(
                ref="api",
                description="Per address: every route of the API hosts of every stage",
                expression=api_hosts(stage.domain),
                requests_per_period=limits.requests,
                period_s=period,
                mitigation_timeout_s=period,
                json_response=response,
            )
        )
    return rules


def declare_rate_limits(stage: Stage, specs: Sequence[ServiceSpec]) -> ZoneRateLimits | None:
    """The zone's rate-limiting rules, if this stage is the one that owns them (and there are any)."""
    if stage.rate_limits.owner != stage.name:
        return None
    rules = rules_for(stage, specs)
    if not rules:
        return None
    return ZoneRateLimits(
        "rate-limits",
        ZoneRateLimitsArgs(
            zone_id=stage.cloudflare_zone_id,
            rules=rules,
            description=f"Per-client limits on the API hosts of every stage of {stage.domain} (from {stage.name})",
        ),
    )
