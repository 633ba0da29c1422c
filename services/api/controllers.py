"""What every domain's controller shares: its base class, the route decorators of blocking handlers,
the id path parameter, and how injected write-path types are named to Litestar.

A domain package (``services/api/<domain>/``) holds ``controller.py`` (a :class:`DomainController`
with its path, tags, security and guards declared once on the class), ``service.py`` (the logic,
raising :mod:`services.api.errors`) and ``schemas.py`` (its bodies). Controllers stay thin: each
route parses nothing itself and gets what it needs as dependencies (:mod:`services.api.dependencies`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.params import Parameter

from services.api.http_errors import ANY_REQUEST_ERRORS, SIGNED_IN_ERRORS, responses

__all__ = ["DomainController", "Id", "action", "blocking_get", "blocking_post", "domain_service", "opaque"]

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
"""A row id in a path (``/offers/{offer_id:int}``): positive and within PostgreSQL's bigint."""

# Handlers that use a SQLAlchemy session or an SDK client block, so they run on a worker thread.
blocking_get = partial(get, sync_to_thread=True)
blocking_post = partial(post, sync_to_thread=True)
"""``POST`` that creates something: 201."""
action = partial(post, sync_to_thread=True, status_code=200)
"""``POST`` answering 200: an action on something that exists (withdraw, accept, confirm) or a
computation (a valuation), nothing created at a new address."""


def opaque(*names: str) -> dict[str, Any]:
    """A ``signature_namespace`` naming injected types as ``Any`` for Litestar.

    Litestar resolves every annotation of a handler and of its dependencies when the app is built.
    The write path's types (the SQLAlchemy ``Session``, a domain's service) live in modules that
    import SQLAlchemy or botocore, which the read path must not load; naming them here lets the
    controller import them for the type checker only. Litestar never parses injected values from the
    request, so it loses no validation of client input.
    """
    return dict.fromkeys(names, Any)


def domain_service(name: str, provide: Callable[..., Any]) -> tuple[dict[str, Provide], dict[str, Any]]:
    """A controller's ``dependencies`` and ``signature_namespace`` for its domain's service, injected as
    ``name`` by ``provide``, which imports the service's module on first use (so its class, the
    provider's return annotation, is named to Litestar as opaque)::

        dependencies, signature_namespace = domain_service("offers", _offers)
    """
    returned = provide.__annotations__["return"]
    return {name: Provide(provide, sync_to_thread=False)}, opaque(getattr(returned, "__name__", str(returned)))


class DomainController(Controller):
    """A controller whose routes document, besides their own errors, those any request may meet
    (400, 413, 503, and 401 and 403 when the controller declares bearer security)."""

    def get_route_handlers(self) -> list[BaseRouteHandler]:
        handlers = super().get_route_handlers()
        shared = (*ANY_REQUEST_ERRORS, *SIGNED_IN_ERRORS) if self.security else ANY_REQUEST_ERRORS
        for handler in handlers:
            if isinstance(handler, HTTPRouteHandler):
                handler.responses = {**responses(*shared), **(handler.responses or {})}
        return handlers
