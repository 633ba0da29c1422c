"""The R2 stand-in: moto's S3 in server mode on loopback, with the claim-documents bucket and its CORS.

R2 speaks the S3 API, so the API's boto3 client works unchanged against ``BUCKET_ENDPOINT``. The
CORS rule matches what the infra sets on the real bucket: browsers PUT V5C scans straight to a
presigned URL, so the web origins may PUT, GET and HEAD, and read the ``ETag``.

moto keeps objects in memory: they last as long as ``make dev`` runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

__all__ = ["LOCAL_ACCESS_KEY_ID", "LOCAL_BUCKET", "LOCAL_SECRET_ACCESS_KEY", "LocalR2", "s3_client"]

LOCAL_BUCKET = "reggie-local-documents"
LOCAL_ACCESS_KEY_ID = "local-access-key"
LOCAL_SECRET_ACCESS_KEY = "local-secret-key"  # noqa: S105 - moto accepts any credentials
LOCAL_REGION = "auto"
"""R2's region name; moto treats it as us-east-1."""


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client for ``endpoint`` with the local credentials (path-style, as R2 allows)."""
    import boto3  # noqa: PLC0415 - boto3 costs ~0.3 s to import; only the stack's start needs it
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


@dataclass
class LocalR2:
    """A running moto server; ``endpoint`` is what ``BUCKET_ENDPOINT`` is set to."""

    host: str
    port: int
    _server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, *, bucket: str = LOCAL_BUCKET, allowed_origins: tuple[str, ...] = ()) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy import, started once

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per S3 request on the dev console
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        client = s3_client(self.endpoint)
        client.create_bucket(Bucket=bucket)
        client.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": list(allowed_origins) or ["*"],
                        "AllowedMethods": ["PUT", "GET", "HEAD"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": 3600,
                    }
                ]
            },
        )

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
