"""Ownership claims: a user claims a registration, uploads V5C scans straight to R2 through presigned
URLs, confirms each upload (the API checks the stored object's size and type), and an administrator
approves or rejects the claim (audit-logged)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from services.api.context import audit
from services.api.errors import ApiError, not_found
from services.api.schemas import ClaimView, DocumentUpload, DocumentView, UploadInstructions
from services.api.storage import ALLOWED_CONTENT_TYPES, DocumentStore
from services.core.models import Claim, ClaimDocument, ClaimDocumentStatus, ClaimStatus
from services.core.registration import Registration

MAX_DOCUMENTS_PER_CLAIM = 5


def document_view(doc: ClaimDocument) -> DocumentView:
    return DocumentView(
        id=doc.id,
        content_type=doc.content_type,
        declared_size_bytes=doc.declared_size_bytes,
        confirmed_size_bytes=doc.confirmed_size_bytes,
        status=doc.status,
        created_at=doc.created_at,
    )


def claim_view(claim: Claim) -> ClaimView:
    return ClaimView(
        id=claim.id,
        registration=claim.registration_display,
        status=claim.status,
        review_note=claim.review_note,
        created_at=claim.created_at,
        documents=[document_view(d) for d in claim.documents],
    )


def create(session: Session, *, user_id: int, mark: Registration) -> ClaimView:
    existing = session.scalar(
        select(Claim.id).where(
            Claim.user_id == user_id,
            Claim.registration == mark.normalized,
            Claim.status == ClaimStatus.PENDING.value,
        )
    )
    if existing is not None:
        raise ApiError(
            409, "claim_exists", f"You already have a pending claim on {mark.display}.", {"claim_id": existing}
        )
    claim = Claim(user_id=user_id, registration=mark.normalized, registration_display=mark.display)
    session.add(claim)
    session.flush()
    return get(session, claim_id=claim.id, user_id=user_id, as_admin=False)


def get(session: Session, *, claim_id: int, user_id: int, as_admin: bool, lock: bool = False) -> ClaimView:
    return claim_view(_load(session, claim_id, user_id, as_admin, lock=lock))


def _load(session: Session, claim_id: int, user_id: int, as_admin: bool, *, lock: bool = False) -> Claim:
    statement = select(Claim).where(Claim.id == claim_id).options(selectinload(Claim.documents))
    if lock:
        statement = statement.with_for_update()
    claim = session.scalar(statement.execution_options(populate_existing=True))
    if claim is None or (not as_admin and claim.user_id != user_id):
        raise not_found("The claim")
    return claim


def list_claims(session: Session, *, user_id: int | None, status: str | None = None) -> list[ClaimView]:
    statement = select(Claim).options(selectinload(Claim.documents))
    if user_id is not None:
        statement = statement.where(Claim.user_id == user_id)
    if status is not None:
        statement = statement.where(Claim.status == status)
    statement = statement.order_by(Claim.created_at.desc(), Claim.id.desc()).limit(200)
    return [claim_view(c) for c in session.scalars(statement)]


def add_document(
    session: Session, store: DocumentStore, *, claim_id: int, user_id: int, content_type: str, size_bytes: int
) -> DocumentUpload:
    claim = _load(session, claim_id, user_id, as_admin=False, lock=True)
    if claim.status != ClaimStatus.PENDING.value:
        raise ApiError(409, "claim_closed", f"This claim is {claim.status}; it takes no more documents.")
    count = session.scalar(select(func.count()).where(ClaimDocument.claim_id == claim.id)) or 0
    if count >= MAX_DOCUMENTS_PER_CLAIM:
        raise ApiError(409, "too_many_documents", f"A claim holds at most {MAX_DOCUMENTS_PER_CLAIM} documents.")
    key = f"claims/{claim.id}/{uuid.uuid4().hex}.{ALLOWED_CONTENT_TYPES[content_type]}"
    upload = store.presign_upload(key, content_type=content_type, size_bytes=size_bytes)
    doc = ClaimDocument(claim_id=claim.id, object_key=key, content_type=content_type, declared_size_bytes=size_bytes)
    session.add(doc)
    session.flush()
    session.refresh(doc)
    return DocumentUpload(
        document=document_view(doc),
        upload=UploadInstructions(url=upload.url, method="PUT", headers=upload.headers, expires_at=upload.expires_at),
    )


def confirm_document(
    session: Session, store: DocumentStore, *, claim_id: int, document_id: int, user_id: int
) -> DocumentView:
    claim = _load(session, claim_id, user_id, as_admin=False, lock=True)
    doc = next((d for d in claim.documents if d.id == document_id), None)
    if doc is None:
        raise not_found("The document")
    if doc.status == ClaimDocumentStatus.UPLOADED.value:
        return document_view(doc)  # confirming twice is harmless
    if doc.status != ClaimDocumentStatus.PENDING_UPLOAD.value:
        raise ApiError(409, "document_rejected", "This document was rejected; request a new upload URL.")
    stored = store.stat(doc.object_key)
    if stored is None:
        raise ApiError(409, "upload_missing", "Nothing has been uploaded for this document yet.")
    if stored.size_bytes != doc.declared_size_bytes or stored.content_type != doc.content_type:
        doc.status = ClaimDocumentStatus.REJECTED.value
        doc.confirmed_size_bytes = stored.size_bytes
        session.commit()  # the rejection must outlive the error response below
        store.delete(doc.object_key)
        raise ApiError(
            422,
            "upload_mismatch",
            "The stored file does not match the declared type and size, so it was discarded.",
            {"stored_size_bytes": stored.size_bytes, "stored_content_type": stored.content_type},
        )
    doc.status = ClaimDocumentStatus.UPLOADED.value
    doc.confirmed_size_bytes = stored.size_bytes
    doc.confirmed_at = datetime.now(UTC)
    session.flush()
    return document_view(doc)


def review(session: Session, *, claim_id: int, admin_id: int, approve: bool, note: str | None) -> ClaimView:
    claim = _load(session, claim_id, admin_id, as_admin=True, lock=True)
    if claim.status != ClaimStatus.PENDING.value:
        raise ApiError(409, "claim_closed", f"This claim is already {claim.status}.", {"status": claim.status})
    if approve and not any(d.status == ClaimDocumentStatus.UPLOADED.value for d in claim.documents):
        raise ApiError(409, "no_documents", "A claim needs at least one confirmed document before approval.")
    claim.status = (ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED).value
    claim.reviewer_id = admin_id
    claim.reviewed_at = datetime.now(UTC)
    claim.review_note = note
    audit(
        session,
        actor_id=admin_id,
        action=f"claim.{claim.status}",
        target_type="claim",
        target_id=claim.id,
        registration=claim.registration,
        note=note,
    )
    session.flush()
    return claim_view(claim)
