"""The Litestar application: every route under ``/api/v1``; OpenAPI at ``/api/v1/schema``.

:func:`create_app` builds an app around a :class:`services.api.deps.Dependencies`; the module-level
``app`` is built once per process from the environment (``uvicorn services.api.app:app`` locally,
:mod:`services.api.handler` on Lambda).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from psycopg import DataError as PsycopgDataError
from sqlalchemy.exc import DataError, OperationalError

from services.api.deps import Dependencies, build_dependencies
from services.api.errors import EXCEPTION_HANDLERS, ApiError, ErrorBody, api_error_handler
from services.api.reads import DatabaseUnavailable
from services.api.routes import claims, dev, health, offers, plates, valuations, webhooks
from services.api.settings import get_api_settings
from services.api.storage import StorageUnavailable
from services.api.valuation_client import ValuationUnavailable

PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024


def _unavailable(code: str, message: str) -> Any:
    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
        logging.getLogger("reggie.api").warning("%s: %s", code, exc)
        return api_error_handler(request, ApiError(503, code, message))

    return handler


def _refused_data(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    logging.getLogger("reggie.api").info("the database refused a value: %s", str(exc).splitlines()[0])
    return api_error_handler(request, ApiError(400, "invalid_data", "A value in the request cannot be stored."))


def route_handlers(*, local: bool) -> list[Any]:
    handlers = [
        *health.ROUTES,
        *plates.ROUTES,
        *valuations.ROUTES,
        *offers.ROUTES,
        *claims.ROUTES,
        *webhooks.ROUTES,
    ]
    if local:
        handlers += dev.ROUTES
    return handlers


def create_app(deps: Dependencies) -> Litestar:
    settings = deps.settings
    origins = list(settings.core.allowed_origins)
    return Litestar(
        route_handlers=[Router(PREFIX, route_handlers=route_handlers(local=settings.is_local))],
        state=State({"deps": deps}),
        exception_handlers={
            **EXCEPTION_HANDLERS,
            StorageUnavailable: _unavailable("storage_unavailable", "Document storage is not answering right now."),
            ValuationUnavailable: _unavailable("valuation_unavailable", "The valuation service is not answering."),
            # The database refusing a value (a NUL byte in text, a number out of range) is the input's fault;
            # the database being unreachable is a dependency being down, never a 500.
            DataError: _refused_data,
            PsycopgDataError: _refused_data,
            OperationalError: _unavailable("database_unavailable", "The database is not answering right now."),
            DatabaseUnavailable: _unavailable("database_unavailable", "The database is not answering right now."),
        },
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
            components=Components(
                security_schemes={
                    "BearerAuth": SecurityScheme(
                        type="http", scheme="bearer", bearer_format="JWT", description="A Clerk session token"
                    )
                }
            ),
        ),
        debug=False,
    )


app = create_app(build_dependencies(get_api_settings()))
