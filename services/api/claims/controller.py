"""Ownership claims with V5C uploads straight to R2; administrators approve or reject."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import Parameter

from services.api import claims
from services.api.context import BEARER, admin, deps_of, signed_in, user_id
from services.api.routes.common import AUTH, errors
from services.api.routes.plates import parse_or_422
from services.api.schemas import (
    ClaimList,
    ClaimRequest,
    ClaimView,
    DocumentRequest,
    DocumentUpload,
    DocumentView,
    ReviewRequest,
)
from services.core.models import ClaimStatus

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]


@post("/claims", sync_to_thread=True, tags=["claims"], security=BEARER, responses=errors(*AUTH, 409, 422))
def create_claim(request: Request[Any, Any, Any], data: ClaimRequest) -> ClaimView:
    """Claim that you own a registration; then add V5C documents to it."""
    principal = signed_in(request)
    mark = parse_or_422(data.registration)
    with deps_of(request).session() as session:
        return claims.create(session, user_id=user_id(session, principal), mark=mark)


@get("/claims", sync_to_thread=True, tags=["claims"], security=BEARER, responses=errors(*AUTH))
def list_claims(
    request: Request[Any, Any, Any],
    all_claims: Annotated[bool, Parameter(query="all", description="Administrators: every claim")] = False,
    status: ClaimStatus | None = None,
) -> ClaimList:
    """Your claims, newest first (administrators: ``all=true``, optionally filtered by ``status``)."""
    principal = admin(request) if all_claims else signed_in(request)
    with deps_of(request).session() as session:
        owner = None if all_claims else user_id(session, principal)
        return ClaimList(items=claims.list_claims(session, user_id=owner, status=status.value if status else None))


@get("/claims/{claim_id:int}", sync_to_thread=True, tags=["claims"], security=BEARER, responses=errors(*AUTH, 404))
def get_claim(request: Request[Any, Any, Any], claim_id: Id) -> ClaimView:
    """One of your claims with its documents (administrators: any claim)."""
    principal = signed_in(request)
    with deps_of(request).session() as session:
        return claims.get(session, claim_id=claim_id, user_id=user_id(session, principal), as_admin=principal.is_admin)


@post(
    "/claims/{claim_id:int}/documents",
    sync_to_thread=True,
    tags=["claims"],
    security=BEARER,
    responses=errors(*AUTH, 404, 409),
)
def add_document(request: Request[Any, Any, Any], claim_id: Id, data: DocumentRequest) -> DocumentUpload:
    """Declare a V5C scan (JPEG, PNG or PDF, up to 10 MB) and get a presigned PUT URL for it, valid
    five minutes; the declared type and size are part of the signature."""
    principal = signed_in(request)
    deps = deps_of(request)
    store = deps.require_store()
    with deps.session() as session:
        return claims.add_document(
            session,
            store,
            claim_id=claim_id,
            user_id=user_id(session, principal),
            content_type=data.content_type,
            size_bytes=data.size_bytes,
        )


@post(
    "/claims/{claim_id:int}/documents/{document_id:int}/confirm",
    status_code=200,
    sync_to_thread=True,
    tags=["claims"],
    security=BEARER,
    responses=errors(*AUTH, 404, 409, 422),
)
def confirm_document(request: Request[Any, Any, Any], claim_id: Id, document_id: Id) -> DocumentView:
    """Confirm an upload: the API checks the stored object's size and type against the declaration."""
    principal = signed_in(request)
    deps = deps_of(request)
    store = deps.require_store()
    with deps.session() as session:
        return claims.confirm_document(
            session, store, claim_id=claim_id, document_id=document_id, user_id=user_id(session, principal)
        )


def _review(request: Request[Any, Any, Any], claim_id: int, data: ReviewRequest | None, *, approve: bool) -> ClaimView:
    principal = admin(request)
    with deps_of(request).session() as session:
        return claims.review(
            session,
            claim_id=claim_id,
            admin_id=user_id(session, principal),
            approve=approve,
            note=data.note if data else None,
        )


@post(
    "/claims/{claim_id:int}/approve",
    status_code=200,
    sync_to_thread=True,
    tags=["claims", "admin"],
    security=BEARER,
    responses=errors(*AUTH, 404, 409),
)
def approve_claim(request: Request[Any, Any, Any], claim_id: Id, data: ReviewRequest | None = None) -> ClaimView:
    """Administrators: approve a pending claim with at least one confirmed document (audit-logged)."""
    return _review(request, claim_id, data, approve=True)


@post(
    "/claims/{claim_id:int}/reject",
    status_code=200,
    sync_to_thread=True,
    tags=["claims", "admin"],
    security=BEARER,
    responses=errors(*AUTH, 404, 409),
)
def reject_claim(request: Request[Any, Any, Any], claim_id: Id, data: ReviewRequest | None = None) -> ClaimView:
    """Administrators: reject a pending claim (audit-logged)."""
    return _review(request, claim_id, data, approve=False)


ROUTES = [create_claim, list_claims, get_claim, add_document, confirm_document, approve_claim, reject_claim]
