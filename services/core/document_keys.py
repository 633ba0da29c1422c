"""Where claim documents live in the bucket: one definition for the API, which writes them, and the bucket's
lifecycle rule (``infra/wiring.py``), which deletes what was never confirmed.

An upload lands under :data:`UPLOAD_PREFIX` (the only prefix a presigned PUT is signed for); confirming it copies
it to :data:`DOCUMENT_PREFIX` and deletes the upload. So whatever stays under ``uploads/`` is an upload nobody
confirmed (abandoned, or refused), and the bucket deletes it after a day.
"""

from __future__ import annotations

UPLOAD_PREFIX = "uploads/"
DOCUMENT_PREFIX = "documents/"
UNCONFIRMED_UPLOAD_DAYS = 1
"""How long an unconfirmed upload stays in the bucket (the upload URL itself lives five minutes)."""


def upload_key(claim_id: int, token: str, extension: str) -> str:
    """The key a claim's document is uploaded to: ``uploads/claims/<claim>/<token>.<ext>``."""
    return f"{UPLOAD_PREFIX}claims/{claim_id}/{token}.{extension}"


def stored_key(upload: str) -> str:
    """The key a confirmed upload is copied to: the same path under ``documents/``."""
    if not upload.startswith(UPLOAD_PREFIX):
        raise ValueError(f"{upload!r} is not an upload key")
    return DOCUMENT_PREFIX + upload.removeprefix(UPLOAD_PREFIX)
