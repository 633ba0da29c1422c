"""``GET /dev/info`` (the local stage's cheat sheet) and ``GET /dev/emails`` (what the local Resend
stand-in received). Served only by an app the local stack builds (:mod:`services.local.api`), which
hands in its token minter; the deployed app has no minter, so the routes, and their entries in the
OpenAPI document, are absent from every deployed stage."""

from __future__ import annotations

from typing import Any, Protocol

from litestar import get

from services.api.controllers import DomainController
from services.api.errors import Unavailable
from services.api.secrets import Secrets
from services.api.settings import ApiSettings

USER_SUBJECT = "user_local_demo"
ADMIN_SUBJECT = "user_local_admin"
TOKEN_TTL_S = 12 * 3600


class TokenMinter(Protocol):
    """Signs a Clerk-shaped session token for ``subject`` (the local issuer's key)."""

    def __call__(self, *, subject: str, role: str, azp: str | None, ttl_s: int) -> str: ...


class DevController(DomainController):
    path = "/dev"
    tags = ("dev",)

    @get("/info", sync_to_thread=True)
    def dev_info(self, settings: ApiSettings, mint: TokenMinter) -> dict[str, Any]:
        """Ready-to-use tokens for a user and an administrator, the local URLs and example calls."""
        origin = settings.core.allowed_origins[0] if settings.core.allowed_origins else None
        user_token = mint(subject=USER_SUBJECT, role="user", azp=origin, ttl_s=TOKEN_TTL_S)
        admin_token = mint(subject=ADMIN_SUBJECT, role="admin", azp=origin, ttl_s=TOKEN_TTL_S)
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
            "tokens": {"user": user_token, "admin": admin_token, "valid_for_hours": TOKEN_TTL_S // 3600},
            "examples": [
                f"curl {base}/plates/AB12CDE",
                f"curl '{base}/plates?q=sam&sort=price_asc'",
                f"curl -X POST {base}/valuations -H 'content-type: application/json' -d '{{\"registration\": \"A1\"}}'",
                f"curl {base}/offers -H 'authorization: Bearer {user_token}'",
            ],
        }

    @get("/emails", sync_to_thread=True)
    def dev_emails(self, settings: ApiSettings, secrets: Secrets) -> dict[str, Any]:
        """Every email the local Resend stand-in accepted, newest first (what the outbox sender sent)."""
        import httpx  # noqa: PLC0415 - the local stage only

        try:
            answer = httpx.get(
                settings.market.resend_api_url + "/emails",
                headers={"Authorization": f"Bearer {secrets.get('resend_api_key')}"},
                timeout=5,
            )
            answer.raise_for_status()
        except Exception as exc:
            raise Unavailable(
                "The local Resend stand-in is not answering.", code="emails_unavailable", reason=str(exc)
            ) from None
        return {"items": answer.json().get("data", [])}
