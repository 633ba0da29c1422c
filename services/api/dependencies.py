"""The app's dependencies: what a handler may ask for by name, provided once per process from the
:class:`~services.api.resources.Resources` (Litestar's ``dependencies=``; nothing is fetched from
``app.state``).

=============  ==========================================================================
``settings``   the API's :class:`~services.api.settings.ApiSettings`
``reads``      the :class:`~services.api.reads.ReadPool` (503 when there is no database)
``session``    a SQLAlchemy session, one unit of work per request (see :mod:`services.api.database`)
``store``      the claim documents' :class:`~services.api.storage.DocumentStore` (503 when unconfigured)
``valuations`` the :class:`~services.api.valuations.client.ValuationClient`
``secrets``    the :class:`~services.api.secrets.Secrets`
``readiness``  the deep health check's :class:`~services.api.health.service.Readiness`
``caller``     the signed-in :class:`~services.api.principal.Principal` (routes with bearer security)
``payments``   Stripe Checkout (:class:`~services.core.external.payments.Payments`; 503 when unconfigured)
``vehicles``   the DVLA Vehicle Enquiry Service (:class:`~services.core.external.dvla.VehicleEnquiry`)
=============  ==========================================================================

Each domain's controller adds its own (``mark``, ``offers``, ``claims``...) on top.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar.di import Provide

from services.api.health.service import Readiness, publish_checks
from services.api.resources import Resources
from services.api.security import caller

__all__ = ["app_dependencies", "constant"]


def constant(value: Any) -> Provide:
    """A dependency that is always ``value``."""
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def app_dependencies(resources: Resources) -> dict[str, Provide]:
    settings = resources.settings
    readiness = Readiness(
        reads=resources.require_reads,
        valuations=resources.valuations,
        store=resources.require_store,
        on_report=partial(publish_checks, stage=settings.stage, service=settings.core.service_name),
    )
    return {
        "settings": constant(resources.settings),
        "reads": Provide(resources.require_reads, sync_to_thread=False),
        "session": Provide(resources.database.session),
        "store": Provide(resources.require_store, sync_to_thread=False),
        "valuations": constant(resources.valuations),
        "secrets": constant(resources.secrets),
        "readiness": constant(readiness),
        "caller": Provide(caller, sync_to_thread=False),
        # Building either reads its secret (from SSM when deployed): on a worker thread.
        "payments": Provide(resources.require_payments, sync_to_thread=True),
        "vehicles": Provide(resources.require_vehicles, sync_to_thread=True),
    }
