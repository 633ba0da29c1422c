"""The audit log: who did what to which object, written in the same transaction as the action."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.core.models import AuditLog

__all__ = ["audit"]


def audit(
    session: Session, *, actor_id: int | None, action: str, target_type: str, target_id: int | str, **details: Any
) -> None:
    """Record ``action`` (``actor_id`` ``None``: the platform itself, a webhook or a scheduled run)."""
    session.add(
        AuditLog(
            actor_id=actor_id,
            action=action[:64],
            target_type=target_type,
            target_id=str(target_id),
            details=details or None,
        )
    )
