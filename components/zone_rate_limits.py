"""ZoneRateLimits: a Cloudflare zone's rate-limiting rules, counted per client address at each data centre.

The rules are the zone's entry-point ruleset of the ``http_ratelimit`` phase, which a zone has exactly one of:
whoever declares it owns every rate-limiting rule of the zone (Cloudflare refuses a second ruleset for the phase,
and a dashboard-made one must be imported before this one can be created). So one program, one stack, declares
it for every host of the zone that needs limits.

Each rule blocks a client (``ip.src``, counted per Cloudflare data centre: ``cf.colo.id`` is mandatory) that sends
more than ``requests_per_period`` matching requests in ``period_s``, for ``mitigation_timeout_s``, answering 429
with the rule's JSON body when it has one. Rules run in order; a request counts towards every rule it matches.
Which periods, timeouts, fields and how many rules a zone may use depends on its plan: the caller checks that
(``infra/rate_limits.py``); this component checks what the API accepts at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import pulumi
import pulumi_cloudflare as cloudflare

from components._common import Component, ComponentArgsError, Transform, check_transform_keys, roles_of

PHASE = "http_ratelimit"
PERIODS_S = (10, 60, 120, 300, 600, 3600)
"""The counting periods (seconds) Cloudflare's rule parameters list for the API; a plan allows those up to its
longest (Free 10 s, Pro 1 min, Business 10 min). Cloudflare now also lists values in between (15, 20, 30 s...),
which this component does not offer."""
MITIGATION_TIMEOUTS_S = (10, 60, 120, 300, 600, 3600, 86400)
"""The blocking durations (seconds) listed for the API, 0 aside (throttling with the block action: Enterprise
only); a plan allows those up to its longest (Free 10 s, Pro 1 h, Business and up 1 day)."""
PER_CLIENT = ("cf.colo.id", "ip.src")
"""Counted per client address, in each data centre (``cf.colo.id`` is mandatory in every rule)."""
CLIENT_KEYS = ("ip.src", "cf.unique_visitor_id")
"""What tells one client from another: its address, or its address with NAT support (never both in one rule)."""
MAX_EXPRESSION = 4096
"""The Rules language's longest expression (characters)."""
MAX_RESPONSE_BYTES = 2048
"""The custom body's size this component allows: the WAF's limit for block responses (rate-limiting rules now
accept up to 30 KB; an error body needs far less)."""
_REF = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ZoneRateLimitsTransforms(TypedDict, total=False):
    """The roles of :class:`ZoneRateLimits`' children, each with its transform hook's args type."""

    ruleset: Transform[cloudflare.RulesetArgs]
    """The zone's ``http_ratelimit`` entry-point ruleset (``<name>-ruleset``)."""


ROLES = roles_of(ZoneRateLimitsTransforms)


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """One rule: which requests it counts, how many a client may send, and what it answers beyond."""

    ref: str
    """Stable reference (lowercase letters, digits, ``-``): Cloudflare keeps the rule's identity by it."""
    description: str
    expression: str
    """The Rules language expression of the requests it counts (only the fields the zone's plan allows)."""
    requests_per_period: int
    period_s: int
    mitigation_timeout_s: int
    """How long a client over the limit is blocked."""
    json_response: str | None = None
    """The 429 body (``application/json``); ``None`` answers with Cloudflare's own page."""
    characteristics: tuple[str, ...] = PER_CLIENT

    def __post_init__(self) -> None:
        where = f"RateLimitRule {self.ref!r}"
        if not _REF.match(self.ref):
            raise ComponentArgsError(f"{where}: ref must be lowercase letters, digits and '-'")
        if not 0 < len(self.expression) <= MAX_EXPRESSION:
            raise ComponentArgsError(f"{where}: the expression must be 1-{MAX_EXPRESSION} characters")
        if self.requests_per_period < 1:
            raise ComponentArgsError(f"{where}: requests_per_period must be at least 1")
        if self.period_s not in PERIODS_S:
            raise ComponentArgsError(f"{where}: period_s {self.period_s} is not one of {PERIODS_S}")
        if self.mitigation_timeout_s not in MITIGATION_TIMEOUTS_S:
            raise ComponentArgsError(
                f"{where}: mitigation_timeout_s {self.mitigation_timeout_s} not in {MITIGATION_TIMEOUTS_S}"
            )
        if "cf.colo.id" not in self.characteristics:
            raise ComponentArgsError(f"{where}: characteristics must include cf.colo.id")
        if sum(key in self.characteristics for key in CLIENT_KEYS) != 1:
            raise ComponentArgsError(f"{where}: characteristics must count per client: exactly one of {CLIENT_KEYS}")
        if self.json_response is not None and len(self.json_response.encode()) > MAX_RESPONSE_BYTES:
            raise ComponentArgsError(f"{where}: the response body exceeds {MAX_RESPONSE_BYTES} bytes")


def _no_rules() -> list[RateLimitRule]:
    return []


@dataclass(frozen=True, slots=True)
class ZoneRateLimitsArgs:
    """Arguments of :class:`ZoneRateLimits`."""

    zone_id: str
    """The Cloudflare zone (32 hex characters)."""
    rules: Sequence[RateLimitRule] = field(default_factory=_no_rules)
    """In the order Cloudflare evaluates them (at least one)."""
    description: str = "Rate limits per client"
    transforms: ZoneRateLimitsTransforms = field(default_factory=ZoneRateLimitsTransforms)
    """Per-child hooks keyed by role (see :class:`ZoneRateLimitsTransforms`)."""

    def __post_init__(self) -> None:
        if not re.match(r"^[0-9a-f]{32}$", self.zone_id):
            raise ComponentArgsError("ZoneRateLimitsArgs.zone_id: a 32-character hex zone id")
        if not self.rules:
            raise ComponentArgsError("ZoneRateLimitsArgs.rules: at least one rule")
        refs = [rule.ref for rule in self.rules]
        if len(set(refs)) != len(refs):
            raise ComponentArgsError(f"ZoneRateLimitsArgs.rules: refs repeat ({', '.join(refs)})")
        check_transform_keys("ZoneRateLimits", self.transforms, ROLES)


class ZoneRateLimits(Component):
    """The zone's rate-limiting rules, as its one ``http_ratelimit`` entry-point ruleset.

    Roles (``nodes`` and ``transforms``): ``ruleset``.
    """

    ruleset_id: pulumi.Output[str]

    def __init__(self, name: str, args: ZoneRateLimitsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:ZoneRateLimits", name, args.transforms, ROLES, opts)
        ruleset = self.child(
            "ruleset",
            cloudflare.Ruleset,
            cloudflare.RulesetArgs(
                zone_id=args.zone_id,
                kind="zone",
                phase=PHASE,
                # The entry point's name is Cloudflare's ("default"); the description says whose it is.
                name="default",
                description=args.description,
                rules=[_rule(rule) for rule in args.rules],
            ),
            "ruleset",
        )
        self.ruleset_id = ruleset.id
        self.register_outputs({"ruleset_id": self.ruleset_id})


def _rule(rule: RateLimitRule) -> cloudflare.RulesetRuleArgs:
    response = (
        cloudflare.RulesetRuleActionParametersArgs(
            response=cloudflare.RulesetRuleActionParametersResponseArgs(
                status_code=429, content_type="application/json", content=rule.json_response
            )
        )
        if rule.json_response is not None
        else None
    )
    return cloudflare.RulesetRuleArgs(
        ref=rule.ref,
        description=rule.description,
        expression=rule.expression,
        action="block",
        action_parameters=response,
        enabled=True,
        ratelimit=cloudflare.RulesetRuleRatelimitArgs(
            characteristics=list(rule.characteristics),
            period=rule.period_s,
            requests_per_period=rule.requests_per_period,
            mitigation_timeout=rule.mitigation_timeout_s,
        ),
    )
