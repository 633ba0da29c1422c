"""Reserved concurrency per stage, sized against the database's connections.

Every Lambda execution environment that links the database holds its own connections (the API two: its
read connection and its write engine's; the others one; the migrator two, its lock and its migration). So a
function's concurrency is, multiplied out, a number of PostgreSQL connections, and Aurora Serverless v2 has
a fixed ``max_connections``, set by the cluster's *maximum* capacity. Reserving concurrency both guarantees
a function its executions and caps it there, so a burst on the API can exhaust neither the database nor the
account's concurrency for the other functions.

Where the stage reserves (production and staging; the stage matrix), the budget is Aurora's
``max_connections`` at the stage's capacity range, less the slots PostgreSQL keeps for administrators, a
margin for people and tools, and the connections of the services with a fixed or no reservation (the
migrator reserves nothing: it runs on deploys only, and two runs at once queue on its advisory lock). Each
service with a ``share`` (:class:`~infra.service_spec.Concurrency`) reserves the executions whose
connections fill that share of the budget. Personal stages reserve nothing: their accounts are small, and
Lambda refuses any reservation that would leave less than 100 executions unreserved.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from infra.config import StageConfigError
from infra.service_spec import ServiceSpec

AURORA_POSTGRES_MAX_CONNECTIONS: tuple[tuple[float, int], ...] = ((1, 189), (4, 823), (8, 1669), (16, 3360), (32, 5000))
"""Aurora PostgreSQL's default max_connections for a Serverless v2 maximum capacity (ACU), from the Aurora
User Guide's table (aurora-serverless-v2.setting-capacity, "Maximum connections for Aurora Serverless v2");
between two rows the smaller is interpolated linearly (the default follows instance memory), and from 32
ACU on it is 5,000."""
MIN_BELOW_ONE_ACU_CAP = 2000
"""With a minimum capacity below 1 ACU (0 or 0.5), Aurora PostgreSQL caps max_connections at 2,000."""
RESERVED_SLOTS = 5
"""Connections PostgreSQL keeps for administrators: superuser_reserved_connections (3) and RDS's
rds.rds_superuser_reserved_connections (2)."""
OPERATOR_HEADROOM = 10
"""Connections left for people and tools (psql, a console, monitoring)."""
UNRESERVED_MINIMUM = 100
"""Lambda keeps at least this many of the account's executions unreserved; a reservation that would leave
fewer is refused."""


def max_connections(min_acu: float, max_acu: float) -> int:
    """Aurora PostgreSQL's default max_connections for a Serverless v2 capacity range."""
    table = AURORA_POSTGRES_MAX_CONNECTIONS
    if max_acu <= table[0][0]:
        value = table[0][1]
    elif max_acu >= table[-1][0]:
        value = table[-1][1]
    else:
        (low_acu, low), (high_acu, high) = next((a, b) for a, b in itertools.pairwise(table) if a[0] <= max_acu <= b[0])
        value = math.floor(low + (high - low) * (max_acu - low_acu) / (high_acu - low_acu))
    return min(value, MIN_BELOW_ONE_ACU_CAP) if min_acu < 1 else value


@dataclass(frozen=True, slots=True)
class Plan:
    """What a stage reserves, and the arithmetic behind it."""

    max_connections: int
    budget: int
    """Connections left for the services that reserve a share."""
    reserved: Mapping[str, int | None]
    """Per service: its reserved concurrency, or ``None`` for the account's unreserved pool."""

    @property
    def total_reserved(self) -> int:
        return sum(n for n in self.reserved.values() if n is not None)

    @property
    def account_concurrency_needed(self) -> int:
        """The account's concurrent-executions quota this plan needs: every reservation, plus the 100 Lambda
        keeps unreserved (the default regional quota is 1,000; new accounts may start far lower)."""
        return self.total_reserved + UNRESERVED_MINIMUM


def plan(specs: Iterable[ServiceSpec], *, min_acu: float, max_acu: float, reserve: bool) -> Plan:
    """Each service's reservation for a stage whose database scales from ``min_acu`` to ``max_acu``;
    ``reserve`` is the stage matrix's column (nothing is reserved without it)."""
    services = list(specs)
    ceiling = max_connections(min_acu, max_acu)
    held_back = sum((s.concurrency.fixed or 1) * s.concurrency.connections for s in services if not s.concurrency.share)
    budget = ceiling - RESERVED_SLOTS - OPERATOR_HEADROOM - held_back
    if not reserve:
        return Plan(ceiling, budget, dict.fromkeys((s.name for s in services), None))
    reserved: dict[str, int | None] = {}
    for spec in services:
        wanted = spec.concurrency
        if wanted.share:
            reserved[spec.name] = math.floor(budget * wanted.share / wanted.connections)
        else:
            reserved[spec.name] = wanted.fixed
    starved = sorted(name for name, n in reserved.items() if n is not None and n < 1)
    if starved:
        raise StageConfigError(
            "auroraMaxAcu",
            max_acu,
            f"its {ceiling} database connections leave {budget} for the services that reserve a share, too few "
            f"for one execution of {', '.join(starved)}; raise it",
        )
    return Plan(ceiling, budget, reserved)
