"""The audit log and the payment issues as administrators read them: newest first, filtered, paged with
cursors (:mod:`services.api.paging`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.api.accounts import CallerSession
from services.api.admin.schemas import AuditEntry, AuditPage, PaymentIssuePage, PaymentIssueView
from services.api.errors import Conflict, NotFound
from services.api.paging import Page, Paging
from services.core.audit import audit
from services.core.models import AuditLog, PaymentIssue

AUDIT = Paging("audit", AuditLog.created_at, AuditLog.id)
PAYMENT_ISSUES = Paging("payment_issues", PaymentIssue.created_at, PaymentIssue.id)
T = TypeVar("T", AuditLog, PaymentIssue)


def _page(session: Session, paging: Paging, statement: Select[T], cursor: str | None, limit: int) -> Page[T]:
    rows = session.scalars(paging.select(statement, cursor=cursor, limit=limit)).all()
    return paging.page(rows, limit=limit)


class AdminViews(CallerSession):
    """What administrators read and settle, in one request's session (the controller's guard admits them)."""

    def audit(
        self, *, cursor: str | None, limit: int, action: str | None, target_type: str | None, target_id: str | None
    ) -> AuditPage:
        statement = select(AuditLog)
        if action:
            statement = statement.where(AuditLog.action == action)
        if target_type:
            statement = statement.where(AuditLog.target_type == target_type)
        if target_id:
            statement = statement.where(AuditLog.target_id == target_id)
        page = _page(self.session, AUDIT, statement, cursor, limit)
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
            for row in page.rows
        ]
        return AuditPage(items=items, limit=limit, next_cursor=page.next_cursor)

    def payment_issues(self, *, cursor: str | None, limit: int, status: str | None) -> PaymentIssuePage:
        statement = select(PaymentIssue)
        if status:
            statement = statement.where(PaymentIssue.status == status)
        page = _page(self.session, PAYMENT_ISSUES, statement, cursor, limit)
        return PaymentIssuePage(
            items=[_issue_view(row) for row in page.rows], limit=limit, next_cursor=page.next_cursor
        )

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
