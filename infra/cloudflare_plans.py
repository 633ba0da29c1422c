"""What each Cloudflare plan allows of rate-limiting rules, so a stage's settings are refused before anything is
declared rather than by Cloudflare halfway through a deploy.

From Cloudflare's rate limiting documentation ("Availability", and the rule parameters' API values):

| plan | rules | fields in the expression | counted by | counting periods | blocked for up to |
|---|---|---|---|---|---|
| Free | 1 | path (and verified bots) | IP | 10 s | 10 s |
| Pro | 2 | host, URI, path, full URI, query | IP | 10 s, 1 min | 1 h |
| Business | 5 | besides: method, source IP, user agent | IP, IP with NAT support | up to 10 min | 1 day |
| Enterprise | 100 (by contract) | request fields and headers | many | up to 1 h here | 1 day |

A Free zone's rule answers with Cloudflare's own 429 page: this platform does not rely on a custom response there.
Counting periods and timeouts are those of Cloudflare's list for the API (10 s, 1, 2, 5, 10 min, 1 h; timeouts also
1 day) up to the plan's longest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PlanName = Literal["free", "pro", "business", "enterprise"]
PLAN_NAMES: tuple[PlanName, ...] = ("free", "pro", "business", "enterprise")


@dataclass(frozen=True, slots=True)
class CloudflarePlan:
    title: str
    rate_limit_rules: int
    """How many rate-limiting rules the zone may have."""
    periods_s: tuple[int, ...]
    """The counting periods its rules may use."""
    max_mitigation_s: int
    """The longest a rule may block a client."""
    host_field: bool
    """Whether ``http.host`` may appear in a rule's expression (Free: the path only)."""
    custom_response: bool
    """Whether the block action answers with our JSON body rather than Cloudflare's page."""


PLANS: dict[PlanName, CloudflarePlan] = {
    "free": CloudflarePlan("Free", 1, (10,), 10, host_field=False, custom_response=False),
    "pro": CloudflarePlan("Pro", 2, (10, 60), 3600, host_field=True, custom_response=True),
    "business": CloudflarePlan("Business", 5, (10, 60, 120, 300, 600), 86400, host_field=True, custom_response=True),
    "enterprise": CloudflarePlan(
        "Enterprise", 100, (10, 60, 120, 300, 600, 3600), 86400, host_field=True, custom_response=True
    ),
}


@dataclass(frozen=True, slots=True)
class RateLimits:
    """A stage's per-client limits at Cloudflare (``reggie:rateLimit*``)."""

    owner: str | None
    """The stack that declares the zone's rate-limiting rules for every stage (``None``: nobody does)."""
    plan: PlanName
    period_s: int
    requests: int
    """Requests one address may send to the API hosts (webhooks aside) per period."""
    costly_requests: int
    """Requests one address may send to the costly routes (valuations, the deep health check) per period."""

    @property
    def limits(self) -> CloudflarePlan:
        return PLANS[self.plan]


DEFAULT_PER_MINUTE = 600
"""Requests per minute per address to the API (ten a second: a page of the apps makes a handful)."""
DEFAULT_COSTLY_PER_MINUTE = 30
"""Requests per minute per address to the costly routes (a batch values up to 100 marks)."""


def default_period(plan: PlanName) -> int:
    """A minute where the plan counts over one; else its longest period."""
    periods = PLANS[plan].periods_s
    return 60 if 60 in periods else max(periods)


def scaled(per_minute: int, period_s: int) -> int:
    """``per_minute`` over ``period_s`` seconds, at least one."""
    return max(1, -(-per_minute * period_s // 60))
