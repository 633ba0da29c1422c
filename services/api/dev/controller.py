"""``GET /dev/info``: the local stage's cheat sheet. Registered only when ``STAGE=local``, so it is
absent from every deployed stage and from its OpenAPI document."""

from __future__ import annotations

import importlib
from typing import Any

from litestar import Request, get

from services.api.context import deps_of
from services.api.errors import ApiError
from services.api.routes.common import errors

USER_SUBJECT = "user_local_demo"
ADMIN_SUBJECT = "user_local_admin"


def _mint(subject: str, role: str, origin: str | None) -> str:
    try:
        issuer: Any = importlib.import_module("services.local.issuer")
    except ImportError:
        raise ApiError(503, "issuer_unavailable", "The local token issuer is not available.") from None
    kwargs: dict[str, Any] = {"subject": subject, "role": role, "ttl_s": 12 * 3600}
    if origin is not None:
        kwargs["azp"] = origin
    return str(issuer.mint_token(**kwargs))


@get("/dev/info", sync_to_thread=True, tags=["dev"], responses=errors())
def dev_info(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Ready-to-use tokens for a user and an administrator, the local URLs and example calls."""
    settings = deps_of(request).settings
    origin = settings.core.allowed_origins[0] if settings.core.allowed_origins else None
    user_token, admin_token = _mint(USER_SUBJECT, "user", origin), _mint(ADMIN_SUBJECT, "admin", origin)
    base = settings.public_url + "/api/v1"
    return {
        "stage": settings.stage,
        "urls": {
            "api": base,
            "openapi": base + "/schema",
            "swagger": base + "/schema/swagger",
            "jwks": settings.core.clerk_jwks_url,
            "bucket_endpoint": settings.core.bucket_endpoint,
        },
        "tokens": {"user": user_token, "admin": admin_token, "valid_for_hours": 12},
        "examples": [
            f"curl {base}/plates/AB12CDE",
            f"curl '{base}/plates?q=sam&sort=price_asc'",
            f"curl -X POST {base}/valuations -H 'content-type: application/json' -d '{{\"registration\": \"A1\"}}'",
            f"curl {base}/offers -H 'authorization: Bearer {user_token}'",
        ],
    }


ROUTES = [dev_info]
