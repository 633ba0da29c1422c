"""Small helpers every route module shares: reach the process's dependencies, authenticate, and map
a verified caller to their ``users`` row."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.api.auth import Principal
from services.api.deps import Dependencies
from services.api.errors import ApiError
from services.core.models import AuditLog

BEARER = [{"BearerAuth": []}]
"""The OpenAPI security requirement of a route that needs a signed-in caller."""


def deps_of(request: Request[Any, Any, Any]) -> Dependencies:
    return request.app.state["deps"]


def signed_in(request: Request[Any, Any, Any]) -> Principal:
    return deps_of(request).authenticate(request.headers.get("authorization"))


def admin(request: Request[Any, Any, Any]) -> Principal:
    principal = signed_in(request)
    if not principal.is_admin:
        raise ApiError(403, "forbidden", "Only administrators may do this.")
    return principal


_UPSERT_USER = text(
    """
    INSERT INTO users (clerk_user_id, email, role)
    VALUES (:clerk_user_id, :email, :role)
    ON CONFLICT (clerk_user_id) DO UPDATE
        SET role = EXCLUDED.role, email = COALESCE(EXCLUDED.email, users.email)
    RETURNING id, deleted_at
    """
)


def user_id(session: Session, principal: Principal) -> int:
    """The caller's ``users.id``, creating the row on first sight (the Clerk webhook may lag)."""
    row = session.execute(
        _UPSERT_USER, {"clerk_user_id": principal.user_id, "email": principal.email, "role": principal.role}
    ).one()
    if row.deleted_at is not None:
        raise ApiError(403, "account_deleted", "This account has been deleted.")
    return int(row.id)


def audit(
    session: Session, *, actor_id: int | None, action: str, target_type: str, target_id: int | str, **details: Any
) -> None:
    """Record an administrative action in ``audit_log`` (same transaction as the action itself)."""
    session.add(
        AuditLog(
            actor_id=actor_id, action=action, target_type=target_type, target_id=str(target_id), details=details or None
        )
    )
