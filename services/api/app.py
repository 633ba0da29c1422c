"""The Litestar application: every domain's controller under ``/api/v1``; OpenAPI at ``/api/v1/schema``.

:func:`create_app` builds an app around the process's :class:`~services.api.resources.Resources`
and whatever the caller hands in that only it has (the local stack: its token minter for
``/dev/info``). The module-level ``app`` is the deployed one, built once per process from the
environment (:mod:`services.api.handler` on Lambda); the local stack serves :mod:`services.local.api`.
"""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components
from litestar.types import ControllerRouterHandler

from services.api.admin.controller import AdminController
from services.api.auctions.controller import AuctionEventController
from services.api.claims.controller import ClaimController, ClaimReviewController
from services.api.controllers import opaque
from services.api.dependencies import app_dependencies, constant
from services.api.dev.controller import DevController, TokenMinter
from services.api.health.controller import HealthController
from services.api.http_errors import EXCEPTION_HANDLERS
from services.api.listings.controller import ListingAdminController, ListingController
from services.api.offers.controller import OfferController
from services.api.plates.controller import PlateController
from services.api.request_ids import add_request_id_header
from services.api.resources import Resources, build_resources
from services.api.security import SECURITY_SCHEMES, BearerAuthentication
from services.api.settings import get_api_settings
from services.api.valuations.controller import ValuationController
from services.api.webhooks.controller import WebhookController

__all__ = ["CONTROLLERS", "MAX_BODY_BYTES", "PREFIX", "app", "create_app", "resources"]

PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024

CONTROLLERS: tuple[ControllerRouterHandler, ...] = (
    HealthController,
    PlateController,
    ValuationController,
    ListingController,
    ListingAdminController,
    OfferController,
    ClaimController,
    ClaimReviewController,
    WebhookController,
    AuctionEventController,
    AdminController,
)
"""Every domain the deployed API serves."""


def create_app(resources: Resources, *, mint: TokenMinter | None = None) -> Litestar:
    """The app over ``resources``; with ``mint`` (the local stack's), also ``GET /dev/info``."""
    settings = resources.settings
    origins = list(settings.core.allowed_origins)
    handlers: list[ControllerRouterHandler] = list(CONTROLLERS)
    dependencies = app_dependencies(resources)
    if mint is not None:
        handlers.append(DevController)
        dependencies["mint"] = constant(mint)
    return Litestar(
        route_handlers=[Router(PREFIX, route_handlers=handlers)],
        dependencies=dependencies,
        # Injected types Litestar has no need to check: the write path's (named without importing
        # SQLAlchemy or botocore, see services.api.controllers.opaque) and the minter's protocol.
        signature_namespace=opaque("Session", "DocumentStore", "TokenMinter", "Payments", "VehicleEnquiry"),
        middleware=[BearerAuthentication(resources.verify)],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[add_request_id_header],
        request_max_body_size=MAX_BODY_BYTES,
        cors_config=CORSConfig(allow_origins=origins, allow_credentials=True) if origins else None,
        openapi_config=OpenAPIConfig(
            title="Reggie API",
            version=settings.version,
            description=(
                "UK personalised registrations: plates, valuations, offers and ownership claims. Money is in "
                "integer pence; errors share one shape {status, code, message, details}."
            ),
            path=PREFIX + "/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
        debug=False,
    )


resources = build_resources(get_api_settings())
"""The deployed app's resources (the Lambda handler hands them to the SnapStart restore hook)."""
app = create_app(resources)
