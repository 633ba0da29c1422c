"""Ownership-claim bodies, with the presigned upload of a V5C document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from services.api.schemas import RegistrationText

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_EXTENSIONS: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
"""The content types a claim document may have, with the extension its object key gets."""

DocumentType = Literal["image/jpeg", "image/png", "application/pdf"]

MAGIC_BYTES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
"""How a file of each declared type starts; a document that does not is refused at confirmation."""
MAGIC_LENGTH = max(len(prefix) for prefixes in MAGIC_BYTES.values() for prefix in prefixes)


class ClaimRequest(Struct, kw_only=True):
    registration: RegistrationText


class DocumentView(Struct, kw_only=True):
    id: int
    content_type: str
    declared_size_bytes: int
    confirmed_size_bytes: int | None
    status: str
    created_at: datetime


class ClaimView(Struct, kw_only=True):
    id: int
    registration: str
    status: str
    review_note: str | None
    created_at: datetime
    documents: list[DocumentView]


class ClaimList(Struct, kw_only=True):
    items: list[ClaimView]
    next_cursor: str | None = None
    """Pass it as ``cursor`` for the next page; ``None`` on the last."""


class DocumentRequest(Struct, kw_only=True):
    content_type: DocumentType
    size_bytes: Annotated[int, Meta(ge=1, le=MAX_DOCUMENT_BYTES)]


class UploadInstructions(Struct, kw_only=True):
    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    """Send exactly these headers: they are part of the signature."""
    expires_at: datetime


class DocumentUpload(Struct, kw_only=True):
    document: DocumentView
    upload: UploadInstructions


class DocumentLink(Struct, kw_only=True):
    """A short-lived URL an administrator opens to see a confirmed document."""

    url: str
    expires_at: datetime
