"""The AWS SDK clients the API uses, each built by its first call: botocore (about a tenth of a second
of imports, and as much again per client for its service model) loads only when a request first
reaches AWS, never on the plate lookup. On Lambda with SnapStart the snapshot is taken after init, so
a client built by the first request is built again in each restored environment's first use; that
costs one request a few tens of milliseconds, against every cold start paying for all of them.

* ``ssm``: reads secrets by parameter name (deployed stages only).
* ``lambda_``: invokes the valuation function (when ``VALUATION_FUNCTION_NAME`` is set).
* R2 is S3-compatible but not S3: region ``auto``, SigV4, and no flexible checksums unless an
  operation requires them (R2 rejects the ``x-amz-checksum-*`` headers and query parameters that
  botocore adds by default since 1.36, and a presigned URL carrying them cannot be used by a browser).
  See :func:`r2_client`.

Clients come from one botocore session rather than boto3: boto3 adds transfer helpers to every S3
client by importing ``s3transfer``, and the API uses none of them. One shared session also shares the
loaded service models between clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.api.lazy import Lazy

__all__ = ["SdkClient", "lambda_client", "r2_client", "ssm_client"]


class SdkClient:
    """A botocore client built on its first method call; every attribute is the real client's."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._client = Lazy(build)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client(), name)


def _create(service: str, **kwargs: Any) -> Any:
    # botocore is imported here and in _new_session only: on the process's first AWS call.
    from botocore.config import Config  # noqa: PLC0415

    config = Config(**kwargs.pop("config"))
    return _session().create_client(service, config=config, **kwargs)


def _new_session() -> Any:
    import botocore.session  # noqa: PLC0415

    return botocore.session.get_session()


_session = Lazy(_new_session)


R2_CONFIG: dict[str, Any] = {
    "region_name": "auto",
    "signature_version": "s3v4",
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
    "s3": {"addressing_style": "path"},
    "connect_timeout": 3,
    "read_timeout": 10,
    "retries": {"max_attempts": 2, "mode": "standard"},
}

VALUATION_INVOKE_CONFIG: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 10,
    # Retries are the valuation client's job (exactly one, see services.api.valuations.client).
    "retries": {"total_max_attempts": 1, "mode": "standard"},
}

SSM_CONFIG: dict[str, Any] = {"connect_timeout": 2, "read_timeout": 5}


def r2_client(endpoint: str, *, credentials: Callable[[], tuple[str | None, str | None]]) -> SdkClient:
    """An S3 client for R2 (or the local stand-in). ``credentials`` gives the key id and secret when the
    client is built (``None``: the default credential chain)."""

    def build() -> Any:
        key_id, key_secret = credentials()
        return _create(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=key_secret,
            config=R2_CONFIG,
        )

    return SdkClient(build)


def lambda_client() -> SdkClient:
    return SdkClient(lambda: _create("lambda", config=VALUATION_INVOKE_CONFIG))


def ssm_client() -> SdkClient:
    return SdkClient(lambda: _create("ssm", config=SSM_CONFIG))
