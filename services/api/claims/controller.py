"""Ownership claims with V5C uploads straight to R2; administrators approve or reject."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from litestar.params import Parameter

from services.api.claims.schemas import (
    ClaimList,
    ClaimRequest,
    ClaimView,
    DocumentLink,
    DocumentRequest,
    DocumentUpload,
    DocumentView,
)
from services.api.controllers import DomainController, Id, action, blocking_get, blocking_post, domain_service
from services.api.errors import Conflict, Invalid, Malformed, NotFound
from services.api.http_errors import errors
from services.api.paging import Cursor, Limit
from services.api.principal import Principal
from services.api.registrations import parse_mark
from services.api.schemas import ReviewRequest
from services.api.security import SIGNED_IN, admin_only
from services.api.settings import ApiSettings
from services.core.statuses import ClaimStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.claims.service import Claims
    from services.api.storage import DocumentStore


def _claims(session: Session, caller: Principal, settings: ApiSettings) -> Claims:
    from services.api.claims.service import Claims  # noqa: PLC0415 - the write path loads SQLAlchemy on first use

    return Claims(session, caller, settings.market)


class _ClaimsController(DomainController):
    path = "/claims"
    security = SIGNED_IN
    dependencies, signature_namespace = domain_service("claims", _claims)


class ClaimController(_ClaimsController):
    tags = ("claims",)

    @blocking_post(responses=errors(Conflict, Invalid))
    def create_claim(self, data: ClaimRequest, claims: Claims) -> ClaimView:
        """Claim that you own a registration; then add V5C documents to it."""
        return claims.create(parse_mark(data.registration))

    @blocking_get(responses=errors(Malformed))
    def list_claims(
        self,
        claims: Claims,
        everyone: Annotated[bool, Parameter(query="all", description="Administrators: every claim")] = False,
        status: ClaimStatus | None = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ClaimList:
        """Your claims, newest first (administrators: ``all=true``, optionally filtered by ``status``), a page
        at a time: pass the answer's ``next_cursor`` as ``cursor`` for the next page."""
        return claims.listing(everyone=everyone, status=status, cursor=cursor, limit=limit)

    @blocking_get("/{claim_id:int}", responses=errors(NotFound))
    def get_claim(self, claim_id: Id, claims: Claims) -> ClaimView:
        """One of your claims with its documents (administrators: any claim)."""
        return claims.get(claim_id)

    @blocking_post("/{claim_id:int}/documents", responses=errors(NotFound, Conflict))
    def add_document(self, claim_id: Id, data: DocumentRequest, store: DocumentStore, claims: Claims) -> DocumentUpload:
        """Declare a V5C scan (JPEG, PNG or PDF, up to 10 MB) and get a presigned PUT URL for it, valid
        five minutes; the declared type and size are part of the signature."""
        return claims.add_document(claim_id, data, store)

    @action("/{claim_id:int}/documents/{document_id:int}/confirm", responses=errors(NotFound, Conflict, Invalid))
    def confirm_document(self, claim_id: Id, document_id: Id, store: DocumentStore, claims: Claims) -> DocumentView:
        """Confirm an upload while the claim is pending: the API checks the stored object's size, type and
        first bytes against the declaration, then keeps a copy no upload URL can replace."""
        return claims.confirm_document(claim_id, document_id, store)


class ClaimReviewController(_ClaimsController):
    tags = ("claims", "admin")
    guards = (admin_only,)

    @blocking_get("/{claim_id:int}/documents/{document_id:int}/view", responses=errors(NotFound, Conflict))
    def view_document(self, claim_id: Id, document_id: Id, store: DocumentStore, claims: Claims) -> DocumentLink:
        """Administrators: a link to a confirmed document, valid one minute (audit-logged)."""
        return claims.view_document(claim_id, document_id, store)

    @action("/{claim_id:int}/approve", responses=errors(NotFound, Conflict))
    def approve_claim(self, claim_id: Id, claims: Claims, data: ReviewRequest | None = None) -> ClaimView:
        """Administrators: approve a pending claim with at least one confirmed document (audit-logged)."""
        return claims.review(claim_id, approve=True, note=data.note if data else None)

    @action("/{claim_id:int}/reject", responses=errors(NotFound, Conflict))
    def reject_claim(self, claim_id: Id, claims: Claims, data: ReviewRequest | None = None) -> ClaimView:
        """Administrators: reject a pending claim (audit-logged)."""
        return claims.review(claim_id, approve=False, note=data.note if data else None)
