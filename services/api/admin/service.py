"""The audit log and the payment issues as administrators read them: newest first, filtered, paged.

Pages are ``page``/``limit`` (offset) like the plate search; one row more than asked for is read to
know whether a next page exists, so no count is run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.api.accounts import CallerSession
from services.api.admin.schemas import AuditEntry, AuditPage, PaymentIssuePage, PaymentIssueView
from services.api.errors import Conflict, NotFound
from services.core.audit import audit
from services.core.models import AuditLog, PaymentIssue

T = TypeVar("T")


def _page(session: Session, statement: Select[T], page: int, limit: int) -> tuple[Sequence[T], int | None]:
    rows = session.scalars(statement.offset((page - 1) * limit).limit(limit + 1)).all()
    return rows[:limit], page + 1 if len(rows) > limit else None


class AdminViews(CallerSession):
    """What administrators read and settle, in one request's session (the controller's guard admits them)."""

    def audit(
        self, *, page: int, limit: int, action: str | None, target_type: str | None, target_id: str | None
    ) -> AuditPage:
        statement = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        if action:
            statement = statement.where(AuditLog.action == action)
        if target_type:
            statement = statement.where(AuditLog.target_type == target_type)
        if target_id:
            statement = statement.where(AuditLog.target_id == target_id)
        rows, next_page = _page(self.session, statement, page, limit)
        items = [
            AuditEntry(
                id=row.id,
                actor_id=row.actor_id,
                action=row.action,
                target_type=row.target_type,
                target_id=row.target_id,
                details=row.details,
                created_at=row.created_at,
            )
            for row in rows
        ]
        return AuditPage(items=items, page=page, limit=limit, next_page=next_page)

    def payment_issues(self, *, page: int, limit: int, status: str | None) -> PaymentIssuePage:
        statement = select(PaymentIssue).order_by(PaymentIssue.created_at.desc(), PaymentIssue.id.desc())
        if status:
            statement = statement.where(PaymentIssue.status == status)
        rows, next_page = _page(self.session, statement, page, limit)
        return PaymentIssuePage(items=[_issue_view(row) for row in rows], page=page, limit=limit, next_page=next_page)

    def resolve_issue(self, issue_id: int, *, note: str | None) -> PaymentIssueView:
        """Mark a payment issue dealt with (refunded in Stripe, or found harmless); audit-logged."""
        issue = self.session.scalar(select(PaymentIssue).where(PaymentIssue.id == issue_id).with_for_update())
        if issue is None:
            raise NotFound("The payment issue was not found.")
        if issue.status == "resolved":
            raise Conflict("This payment issue is already resolved.", code="issue_resolved")
        issue.status = "resolved"
        issue.resolved_at = datetime.now(UTC)
        audit(
            self.session,
            actor_id=self.member_id,
            action="payment.issue_resolved",
            target_type="payment",
            target_id=issue.payment_key,
            issue_id=issue.id,
            note=note,
        )
        self.session.flush()
        return _issue_view(issue)


def _issue_view(row: PaymentIssue) -> PaymentIssueView:
    return PaymentIssueView(
        id=row.id,
        kind=row.kind,
        reason=row.reason,
        offer_id=row.offer_id,
        payment_reference=row.payment_key,
        checkout_session_id=row.checkout_session_id,
        event_id=row.event_id,
        event_type=row.event_type,
        amount_minor=row.amount_minor,
        currency=row.currency,
        status=row.status,
        created_at=row.created_at,
    )
