"""Ownership claims: a user claims a registration, uploads V5C scans straight to R2 through presigned
URLs, confirms each upload while the claim is pending (the API checks the stored object's size, type
and first bytes, copies it where no upload URL points and deletes the upload), and an administrator
views the documents through a short-lived link and approves or rejects the claim (audit-logged, the
claimant is emailed). An approved claim is what lets its owner list the plate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from services.api.accounts import CallerSession, audit
from services.api.claims.schemas import (
    DOCUMENT_EXTENSIONS,
    MAGIC_BYTES,
    MAGIC_LENGTH,
    ClaimList,
    ClaimView,
    DocumentLink,
    DocumentRequest,
    DocumentUpload,
    DocumentView,
    UploadInstructions,
)
from services.api.errors import Conflict, Invalid, NotFound
from services.api.paging import Paging
from services.core.document_keys import stored_key, upload_key
from services.core.market_settings import MarketSettings
from services.core.models import Claim, ClaimDocument, ClaimDocumentStatus, ClaimStatus, User
from services.core.notifications import EmailKind, notify
from services.core.registration import Registration

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.principal import Principal
    from services.api.storage import DocumentStore

_CHANGED = "The upload changed while it was being confirmed; confirm it again."

CLAIMS = Paging("claims", Claim.created_at, Claim.id)


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


class Claims(CallerSession):
    """The claims ``caller`` may see and act on, in one request's session, within ``market``'s quotas."""

    def __init__(self, session: Session, caller: Principal, market: MarketSettings) -> None:
        super().__init__(session, caller)
        self.market = market

    def create(self, mark: Registration) -> ClaimView:
        session = self.session
        user_id = self.member_id
        # The user's row lock serializes their claim creations, so two at once cannot both count N-1 and
        # both insert: the second counts after the first commits.
        session.execute(select(User.id).where(User.id == user_id).with_for_update())
        limit = self.market.max_open_claims
        open_claims = session.scalar(
            select(func.count()).where(Claim.user_id == user_id, Claim.status == ClaimStatus.PENDING.value)
        )
        if (open_claims or 0) >= limit:
            raise Conflict(
                f"You have {limit} pending claims, the most one account may have; wait for a review or "
                "ask for one to be closed.",
                code="too_many_claims",
                details={"limit": limit},
            )
        existing = session.scalar(
            select(Claim.id).where(
                Claim.user_id == user_id,
                Claim.registration == mark.normalized,
                Claim.status == ClaimStatus.PENDING.value,
            )
        )
        if existing is not None:
            raise Conflict(
                f"You already have a pending claim on {mark.display}.",
                code="claim_exists",
                details={"claim_id": existing},
            )
        claim = Claim(user_id=user_id, registration=mark.normalized, registration_display=mark.display)
        session.add(claim)
        session.flush()
        return claim_view(self._load(claim.id))

    def get(self, claim_id: int) -> ClaimView:
        """One of the caller's claims with its documents (administrators: any claim)."""
        return claim_view(self._load(claim_id, as_admin=self.caller.is_admin))

    def listing(self, *, everyone: bool, status: ClaimStatus | None, cursor: str | None, limit: int) -> ClaimList:
        """A page of the caller's claims, newest first; ``everyone``: every claim (administrators only)."""
        statement = select(Claim).options(selectinload(Claim.documents))
        if everyone:
            self.require_admin()
        else:
            statement = statement.where(Claim.user_id == self.member_id)
        if status is not None:
            statement = statement.where(Claim.status == status.value)
        rows = self.session.scalars(CLAIMS.select(statement, cursor=cursor, limit=limit)).all()
        page = CLAIMS.page(rows, limit=limit)
        return ClaimList(items=[claim_view(c) for c in page.rows], next_cursor=page.next_cursor)

    def add_document(self, claim_id: int, request: DocumentRequest, store: DocumentStore) -> DocumentUpload:
        """Declare a document and sign its upload URL (type and size are part of the signature)."""
        session = self.session
        claim = self._load(claim_id, lock=True)
        if claim.status != ClaimStatus.PENDING.value:
            raise Conflict(f"This claim is {claim.status}; it takes no more documents.", code="claim_closed")
        # The claim's row lock (above) serializes its uploads, so the count cannot be passed by a race.
        limit = self.market.max_claim_documents
        count = session.scalar(select(func.count()).where(ClaimDocument.claim_id == claim.id)) or 0
        if count >= limit:
            raise Conflict(
                f"A claim holds at most {limit} documents, rejected uploads included.",
                code="too_many_documents",
                details={"limit": limit},
            )
        key = upload_key(claim.id, uuid.uuid4().hex, DOCUMENT_EXTENSIONS[request.content_type])
        upload = store.presign_upload(key, content_type=request.content_type, size_bytes=request.size_bytes)
        doc = ClaimDocument(
            claim_id=claim.id, object_key=key, content_type=request.content_type, declared_size_bytes=request.size_bytes
        )
        session.add(doc)
        session.flush()
        session.refresh(doc)
        return DocumentUpload(
            document=document_view(doc),
            upload=UploadInstructions(
                url=upload.url, method="PUT", headers=upload.headers, expires_at=upload.expires_at
            ),
        )

    def confirm_document(self, claim_id: int, document_id: int, store: DocumentStore) -> DocumentView:
        """Check the upload (size, type, first bytes), copy it to its stored key and delete the upload.
        Only while the claim is pending; anything that does not match is discarded."""
        claim = self._load(claim_id, lock=True)
        if claim.status != ClaimStatus.PENDING.value:
            raise Conflict(f"This claim is {claim.status}; its documents are final.", code="claim_closed")
        doc = next((d for d in claim.documents if d.id == document_id), None)
        if doc is None:
            raise NotFound("The document was not found.")
        if doc.status == ClaimDocumentStatus.UPLOADED.value:
            return document_view(doc)  # confirming twice is harmless
        if doc.status != ClaimDocumentStatus.PENDING_UPLOAD.value:
            raise Conflict("This document was rejected; request a new upload URL.", code="document_rejected")
        stored = store.stat(doc.object_key)
        if stored is None:
            raise Conflict("Nothing has been uploaded for this document yet.", code="upload_missing")
        if stored.size_bytes != doc.declared_size_bytes or stored.content_type != doc.content_type:
            self._discard(
                doc,
                store,
                stored.size_bytes,
                "The stored file does not match the declared type and size, so it was discarded.",
                {"stored_size_bytes": stored.size_bytes, "stored_content_type": stored.content_type},
            )
        head, etag = store.first_bytes(doc.object_key, MAGIC_LENGTH)
        if etag != stored.etag:
            raise Conflict(_CHANGED, code="upload_changed")
        if not head.startswith(MAGIC_BYTES[doc.content_type]):
            self._discard(
                doc,
                store,
                stored.size_bytes,
                f"The file's content is not a {DOCUMENT_EXTENSIONS[doc.content_type].upper()}, so it was discarded.",
                {"declared_content_type": doc.content_type},
            )
        kept = stored_key(doc.object_key)
        store.copy(doc.object_key, kept)
        copied = store.stat(kept)
        if copied is None or copied.etag != stored.etag:  # replaced between the check and the copy
            store.delete(kept)
            raise Conflict(_CHANGED, code="upload_changed")
        store.delete(doc.object_key)
        doc.status = ClaimDocumentStatus.UPLOADED.value
        doc.stored_key = kept
        doc.confirmed_size_bytes = stored.size_bytes
        doc.confirmed_at = datetime.now(UTC)
        self.session.flush()
        return document_view(doc)

    def view_document(self, claim_id: int, document_id: int, store: DocumentStore) -> DocumentLink:
        """An administrator's short-lived link to a confirmed document (audit-logged)."""
        self.require_admin()
        claim = self._load(claim_id, as_admin=True)
        doc = next((d for d in claim.documents if d.id == document_id), None)
        if doc is None:
            raise NotFound("The document was not found.")
        if doc.status != ClaimDocumentStatus.UPLOADED.value or doc.stored_key is None:
            raise Conflict("Only a confirmed document can be viewed.", code="document_not_confirmed")
        link = store.presign_view(doc.stored_key, content_type=doc.content_type)
        audit(
            self.session,
            actor_id=self.member_id,
            action="claim.document_viewed",
            target_type="claim",
            target_id=claim.id,
            document_id=doc.id,
        )
        return DocumentLink(url=link.url, expires_at=link.expires_at)

    def _discard(
        self, doc: ClaimDocument, store: DocumentStore, size: int, message: str, details: dict[str, object]
    ) -> NoReturn:
        doc.status = ClaimDocumentStatus.REJECTED.value
        doc.confirmed_size_bytes = size
        self.session.commit()  # the rejection must outlive the error below
        store.delete(doc.object_key)
        raise Invalid(message, code="upload_mismatch", details=details)

    def review(self, claim_id: int, *, approve: bool, note: str | None) -> ClaimView:
        """An administrator approves (needs a confirmed document) or rejects a pending claim; audit-logged."""
        self.require_admin()
        session = self.session
        admin_id = self.member_id
        claim = self._load(claim_id, as_admin=True, lock=True)
        if claim.status != ClaimStatus.PENDING.value:
            raise Conflict(
                f"This claim is already {claim.status}.", code="claim_closed", details={"status": claim.status}
            )
        if approve and not any(d.status == ClaimDocumentStatus.UPLOADED.value for d in claim.documents):
            raise Conflict("A claim needs at least one confirmed document before approval.", code="no_documents")
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
        notify(
            session,
            EmailKind.CLAIM_APPROVED if approve else EmailKind.CLAIM_REJECTED,
            user_id=claim.user_id,
            registration=claim.registration_display,
            note=f" Note from the reviewer: {note}" if note else "",
        )
        session.flush()
        return claim_view(claim)

    def _load(self, claim_id: int, *, as_admin: bool = False, lock: bool = False) -> Claim:
        """The claim, if the caller owns it (or ``as_admin``); a claim of someone else's does not exist."""
        statement = select(Claim).where(Claim.id == claim_id).options(selectinload(Claim.documents))
        if lock:
            statement = statement.with_for_update()
        claim = self.session.scalar(statement.execution_options(populate_existing=True))
        if claim is None or (not as_admin and claim.user_id != self.member_id):
            raise NotFound("The claim was not found.")
        return claim
