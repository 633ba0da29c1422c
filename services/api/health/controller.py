"""Health: liveness, readiness of every dependency, and the running version."""

from __future__ import annotations

from litestar import Response, get

from services.api.controllers import DomainController
from services.api.health.schemas import DeepHealth, Health, Version
from services.api.health.service import Readiness, publish_checks
from services.api.settings import ApiSettings


class HealthController(DomainController):
    path = "/health"
    tags = ("health",)

    @get(sync_to_thread=False)
    def health(self) -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @get("/deep")
    async def health_deep(self, readiness: Readiness, settings: ApiSettings) -> Response[DeepHealth]:
        """Readiness: the database, the valuation service and document storage, each with its status and
        latency; 503 when any of them fails."""
        report = await readiness.check()
        publish_checks(report, settings.stage, settings.core.service_name)
        return Response(report, status_code=200 if report.status == "ok" else 503)

    @get("/version", sync_to_thread=False)
    def version(self, settings: ApiSettings) -> Version:
        """The running version, the commit it was built from, and the stage."""
        return Version(version=settings.version, commit=settings.commit, stage=settings.stage)
