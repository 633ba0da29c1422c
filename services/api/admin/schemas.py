"""Administrators' read-only views: the audit log and the payment issues, paged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class AuditEntry(Struct, kw_only=True):
    id: int
    actor_id: int | None
    """``users.id`` of who acted; ``None`` for the platform itself (a webhook, a scheduled run)."""
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any] | None
    created_at: datetime


class AuditPage(Struct, kw_only=True):
    items: list[AuditEntry]
    limit: int
    next_cursor: str | None
    """Pass it as ``cursor`` for the next page; ``None`` on the last."""


class PaymentIssueView(Struct, kw_only=True):
    id: int
    kind: str
    """``refund_needed`` or ``payment_conflict``."""
    reason: str
    offer_id: int | None
    payment_reference: str
    checkout_session_id: str | None
    event_id: str
    event_type: str
    amount_minor: int | None
    currency: str | None
    status: str
    created_at: datetime


class PaymentIssuePage(Struct, kw_only=True):
    items: list[PaymentIssueView]
    limit: int
    next_cursor: str | None
    """Pass it as ``cursor`` for the next page; ``None`` on the last."""
