"""Who may call what: the bearer security a controller declares is the security it gets.

* A controller (or route) that declares ``security = SIGNED_IN`` is documented in the OpenAPI as
  needing a Clerk session token, and :class:`BearerAuthentication` demands one on exactly those
  routes: it verifies the token and sets ``request.user`` to the :class:`Principal`, or answers 401.
  The document and the enforcement cannot drift apart.
* Guards authorise: :func:`admin_only` lets administrators through.
* The ``caller`` dependency (:func:`caller`) hands a handler the verified :class:`Principal`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import Reference, SecurityRequirement, SecurityScheme
from litestar.types import ASGIApp, Receive, Scope, Send

from services.api.errors import Forbidden, Unauthenticated, Unavailable
from services.api.principal import Principal

__all__ = ["SECURITY_SCHEMES", "SIGNED_IN", "BearerAuthentication", "admin_only", "bearer_token", "caller"]

_SCHEME = "BearerAuth"
SIGNED_IN: list[SecurityRequirement] = [{_SCHEME: []}]
"""The OpenAPI security requirement of a route that needs a signed-in caller."""
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    _SCHEME: SecurityScheme(type="http", scheme="bearer", bearer_format="JWT", description="A Clerk session token")
}

Verify = Callable[[str], Principal]
"""Turns a session token into the caller, or raises :class:`Unauthenticated` / :class:`Unavailable`."""


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Sign in: send 'Authorization: Bearer <session token>'.", code="missing_token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <session token>'.", code="missing_token")
    return token.strip()


def _requires_bearer(handler: BaseRouteHandler) -> bool:
    return isinstance(handler, HTTPRouteHandler) and any(_SCHEME in needed for needed in handler.resolve_security())


class BearerAuthentication(ASGIMiddleware):
    """Verifies the bearer token of every request to a route that declares :data:`SIGNED_IN`."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, verify: Verify | None) -> None:
        """``verify=None``: sign-in is not configured, and signed-in routes answer 503."""
        self._verify = verify

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if _requires_bearer(scope["route_handler"]):
            token = bearer_token(Headers.from_scope(scope).get("authorization"))
            if self._verify is None:
                raise Unavailable("Sign-in is not configured for this stage.", code="auth_unavailable")
            # On a worker thread: a key rotation makes the verifier fetch the JWKS, which would block the loop.
            scope["user"] = await anyio.to_thread.run_sync(self._verify, token)
        await next_app(scope, receive, send)


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: only administrators."""
    principal: Principal = connection.user
    if not principal.is_admin:
        raise Forbidden("Only administrators may do this.")


def caller(request: Request[Principal, Any, Any]) -> Principal:
    """The ``caller`` dependency: the signed-in caller, verified by :class:`BearerAuthentication`."""
    return request.user
