"""Administrators: the audit log and the payment issues (money to refund, payment ids reused)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from litestar.params import Parameter

from services.api.admin.schemas import AuditPage, PaymentIssuePage, PaymentIssueView
from services.api.controllers import DomainController, Id, action, blocking_get, domain_service
from services.api.errors import Conflict, Malformed, NotFound
from services.api.http_errors import errors
from services.api.paging import Cursor, Limit
from services.api.principal import Principal
from services.api.schemas import ReviewRequest
from services.api.security import SIGNED_IN, admin_only

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.admin.service import AdminViews

Filter = Annotated[str | None, Parameter(max_length=64)]


def _views(session: Session, caller: Principal) -> AdminViews:
    from services.api.admin.service import AdminViews  # noqa: PLC0415 - the write path loads SQLAlchemy on first use

    return AdminViews(session, caller)


class AdminController(DomainController):
    path = "/admin"
    tags = ("admin",)
    security = SIGNED_IN
    guards = (admin_only,)
    dependencies, signature_namespace = domain_service("views", _views)

    @blocking_get("/audit", responses=errors(Malformed))
    def audit_log(
        self,
        views: AdminViews,
        *,
        cursor: Cursor = None,
        limit: Limit = 50,
        action: Filter = None,
        target_type: Filter = None,
        target_id: Filter = None,
    ) -> AuditPage:
        """The audit log, newest first: every administrative action, webhook outcome and scheduled lapse,
        optionally filtered by ``action`` (``offer.accepted``), ``target_type`` and ``target_id``."""
        return views.audit(cursor=cursor, limit=limit, action=action, target_type=target_type, target_id=target_id)

    @blocking_get("/payment-issues", responses=errors(Malformed))
    def payment_issues(
        self,
        views: AdminViews,
        *,
        cursor: Cursor = None,
        limit: Limit = 50,
        status: Literal["open", "resolved"] | None = None,
    ) -> PaymentIssuePage:
        """Payments the marketplace could not keep (``refund_needed``) and payment ids reported for a
        second offer (``payment_conflict``), newest first."""
        return views.payment_issues(cursor=cursor, limit=limit, status=status)

    @action("/payment-issues/{issue_id:int}/resolve", responses=errors(NotFound, Conflict))
    def resolve_payment_issue(
        self, issue_id: Id, views: AdminViews, data: ReviewRequest | None = None
    ) -> PaymentIssueView:
        """Mark a payment issue dealt with (refunded in the Stripe dashboard, or harmless); audit-logged."""
        return views.resolve_issue(issue_id, note=data.note if data else None)
