"""Claim documents in R2: presigned uploads that bind type and size, and checks of what arrived.

A presigned PUT URL is signed (SigV4, query form) over ``content-type``, ``content-length`` and
``host``: the uploader must send exactly the declared type and byte count or the bucket refuses the
PUT with 403, so the API never proxies file bytes and a client cannot swap a 2 GB video in for a
V5C scan. The URL lives five minutes. After the upload the client asks the API to confirm, and the
API reads the stored object's metadata (size and type) before it trusts the document.

Uploads go under ``uploads/``, the only prefix an upload URL is ever signed for. Confirming a
document copies it to ``documents/``, under a key no presigned PUT points at, and deletes the upload:
a second PUT through a still-valid upload URL lands in ``uploads/`` again and never replaces the
document an administrator approved. Administrators read ``documents/`` through presigned GETs that
live a minute. The prefixes are :mod:`services.core.document_keys`'s, which the bucket's lifecycle rule
shares: what nobody confirmed is deleted from ``uploads/`` after a day.

This module imports botocore's exceptions, so the API loads it with the first request that uses the
bucket (see :mod:`services.api.resources`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.api.claims.schemas import DOCUMENT_EXTENSIONS, MAX_DOCUMENT_BYTES
from services.api.errors import Unavailable
from services.core.document_keys import DOCUMENT_PREFIX, UPLOAD_PREFIX

UPLOAD_URL_TTL_S = 300
VIEW_URL_TTL_S = 60


class StorageUnavailable(Unavailable):
    """The bucket could not be reached (or is not configured); the reason says how."""

    default_code = "storage_unavailable"
    default_message = "Document storage is not answering right now."


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    url: str
    method: str
    headers: dict[str, str]
    """Headers the PUT must carry verbatim (they are part of the signature)."""
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StoredObject:
    size_bytes: int
    content_type: str | None
    etag: str | None = None
    """The object's version as the bucket names it: equal ETags, equal bytes."""


@dataclass(frozen=True, slots=True)
class PresignedView:
    url: str
    expires_at: datetime


class DocumentStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presign_upload(self, key: str, *, content_type: str, size_bytes: int) -> PresignedUpload:
        if content_type not in DOCUMENT_EXTENSIONS or not 0 < size_bytes <= MAX_DOCUMENT_BYTES:
            raise ValueError("content type or size outside what claim documents allow")
        if not key.startswith(UPLOAD_PREFIX):
            raise ValueError(f"upload URLs are signed for {UPLOAD_PREFIX} keys only, not {key!r}")
        try:
            url = self._client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": size_bytes},
                ExpiresIn=UPLOAD_URL_TTL_S,
                HttpMethod="PUT",
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(reason=f"cannot sign an upload URL: {type(exc).__name__}") from exc
        return PresignedUpload(
            url=url,
            method="PUT",
            headers={"Content-Type": content_type, "Content-Length": str(size_bytes)},
            expires_at=datetime.now(UTC) + timedelta(seconds=UPLOAD_URL_TTL_S),
        )

    def stat(self, key: str) -> StoredObject | None:
        """The stored object's size and type, or ``None`` when nothing was uploaded under ``key``."""
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise StorageUnavailable(reason=f"cannot read the object: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(reason=f"cannot reach the bucket: {type(exc).__name__}") from exc
        return StoredObject(
            size_bytes=int(head["ContentLength"]), content_type=head.get("ContentType"), etag=head.get("ETag")
        )

    def first_bytes(self, key: str, count: int) -> tuple[bytes, str | None]:
        """The object's first ``count`` bytes (a ranged GET) and the ETag of the object they came from."""
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{count - 1}")
            return answer["Body"].read(count), answer.get("ETag")
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(reason=f"cannot read the object: {type(exc).__name__}") from exc

    def copy(self, source: str, destination: str) -> None:
        """Copy ``source`` to ``destination`` inside the bucket (the bucket copies; no bytes pass through us)."""
        try:
            self._client.copy_object(
                Bucket=self._bucket, Key=destination, CopySource={"Bucket": self._bucket, "Key": source}
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(reason=f"cannot copy the object: {type(exc).__name__}") from exc

    def presign_view(self, key: str, *, content_type: str) -> PresignedView:
        """A GET URL for a confirmed document, valid :data:`VIEW_URL_TTL_S` seconds, shown inline."""
        if not key.startswith(DOCUMENT_PREFIX):
            raise ValueError(f"view URLs are signed for {DOCUMENT_PREFIX} keys only, not {key!r}")
        try:
            url = self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": "inline",
                },
                ExpiresIn=VIEW_URL_TTL_S,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(reason=f"cannot sign a view URL: {type(exc).__name__}") from exc
        return PresignedView(url=url, expires_at=datetime.now(UTC) + timedelta(seconds=VIEW_URL_TTL_S))

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(reason=f"cannot delete the object: {type(exc).__name__}") from exc

    def ping(self) -> None:
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(reason=f"the bucket is unreachable: {type(exc).__name__}") from exc
