"""The write path's view of people: a verified caller's ``users`` row, and the audit log of what
administrators do. Used by the domain services, inside their request's session."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.api.errors import Forbidden
from services.api.principal import Principal
from services.core.audit import audit

__all__ = ["CallerSession", "audit", "member_id"]

_UPSERT_USER = text(
    """
    INSERT INTO users (clerk_user_id, email, role)
    VALUES (:clerk_user_id, :email, :role)
    ON CONFLICT (clerk_user_id) DO UPDATE
        SET role = EXCLUDED.role, email = COALESCE(EXCLUDED.email, users.email)
    RETURNING id, deleted_at
    """
)


def member_id(session: Session, principal: Principal) -> int:
    """The caller's ``users.id``, creating the row on first sight (the Clerk webhook may lag)."""
    row = session.execute(
        _UPSERT_USER, {"clerk_user_id": principal.user_id, "email": principal.email, "role": principal.role}
    ).one()
    if row.deleted_at is not None:
        raise Forbidden("This account has been deleted.", code="account_deleted")
    return int(row.id)


class CallerSession:
    """What a write-path domain service works with: one request's session and its verified caller."""

    def __init__(self, session: Session, caller: Principal) -> None:
        self.session = session
        self.caller = caller

    @cached_property
    def member_id(self) -> int:
        """The caller's ``users.id`` (see :func:`member_id`), looked up once per request."""
        return member_id(self.session, self.caller)

    def require_admin(self) -> None:
        if not self.caller.is_admin:
            raise Forbidden("Only administrators may do this.")
