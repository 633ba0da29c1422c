"""The AWS SDK clients the API uses, built once per process at import (Lambda's init phase), so no
request pays for client construction.

* ``ssm``: reads secrets by parameter name (deployed stages only).
* ``lambda_``: invokes the valuation function (when ``VALUATION_FUNCTION_NAME`` is set).
* R2 is S3-compatible but not S3: region ``auto``, SigV4, and no flexible checksums unless an
  operation requires them (R2 rejects the ``x-amz-checksum-*`` headers and query parameters that
  botocore adds by default since 1.36, and a presigned URL carrying them cannot be used by a browser).
  See :func:`r2_client`.

Clients come from one botocore session rather than boto3: boto3 adds transfer helpers to every S3
client by importing ``s3transfer`` (about a sixth of the API's import time), and the API uses none of
them. One shared session also shares the loaded service models between clients.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.config import Config

R2_CONFIG = Config(
    region_name="auto",
    signature_version="s3v4",
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
    s3={"addressing_style": "path"},
    connect_timeout=3,
    read_timeout=10,
    retries={"max_attempts": 2, "mode": "standard"},
)

VALUATION_INVOKE_CONFIG = Config(
    connect_timeout=2,
    read_timeout=10,
    # Retries are the valuation client's job (exactly one, see services.api.valuation_client).
    retries={"total_max_attempts": 1, "mode": "standard"},
)


_session = botocore.session.get_session()


def r2_client(endpoint: str, *, access_key_id: str | None, secret_access_key: str | None) -> Any:
    """An S3 client for R2 (or the local stand-in). Keys ``None``: the default credential chain."""
    return _session.create_client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=R2_CONFIG,
    )


def lambda_client() -> Any:
    return _session.create_client("lambda", config=VALUATION_INVOKE_CONFIG)


def ssm_client() -> Any:
    return _session.create_client("ssm", config=Config(connect_timeout=2, read_timeout=5))
