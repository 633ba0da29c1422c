"""R2Bucket: a Cloudflare R2 bucket in one jurisdiction, with CORS for presigned uploads from browsers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import pulumi
import pulumi_cloudflare as cloudflare

from components._common import Component, ComponentArgsError, Transform, check_transform_keys, roles_of

Jurisdiction = Literal["default", "eu", "fedramp"]
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class R2BucketTransforms(TypedDict, total=False):
    """The roles of :class:`R2Bucket`'s children, each with its transform hook's args type."""

    bucket: Transform[cloudflare.R2BucketArgs]
    """The bucket (``<name>-bucket``)."""
    cors: Transform[cloudflare.R2BucketCorsArgs]
    """With allowed origins: the CORS rule for presigned uploads (``<name>-cors``)."""


ROLES = roles_of(R2BucketTransforms)


def s3_endpoint(account_id: str, jurisdiction: Jurisdiction) -> str:
    """The S3-compatible endpoint of an account's buckets in a jurisdiction."""
    if jurisdiction == "default":
        return f"https://{account_id}.r2.cloudflarestorage.com"
    return f"https://{account_id}.{jurisdiction}.r2.cloudflarestorage.com"


@dataclass(frozen=True, slots=True)
class R2BucketArgs:
    """Arguments of :class:`R2Bucket`."""

    bucket_name: str
    """3-63 lowercase letters, digits and hyphens."""
    account_id: str
    """The Cloudflare account id."""
    allowed_origins: Sequence[str]
    """Browser origins allowed to PUT (presigned) and GET objects; explicit, never ``*``."""
    jurisdiction: Jurisdiction = "eu"
    """Where objects are guaranteed to be stored."""
    retain_on_delete: bool = False
    """Keep the bucket (and its objects) when removed from the program."""
    transforms: R2BucketTransforms = field(default_factory=R2BucketTransforms)
    """Per-child hooks keyed by role (see :class:`R2BucketTransforms`)."""

    def __post_init__(self) -> None:
        if not _BUCKET.match(self.bucket_name):
            raise ComponentArgsError(f"R2BucketArgs.bucket_name: {self.bucket_name!r} is not a valid R2 bucket name")
        if not self.account_id:
            raise ComponentArgsError("R2BucketArgs.account_id: required")
        for origin in self.allowed_origins:
            if origin == "*" or not origin.startswith(("https://", "http://localhost")):
                raise ComponentArgsError(f"R2BucketArgs.allowed_origins: {origin!r} must be an explicit https origin")
        check_transform_keys("R2Bucket", self.transforms, ROLES)


class R2Bucket(Component):
    """An R2 bucket with a CORS rule for presigned uploads.

    Roles (``nodes`` and ``transforms``): ``bucket``, ``cors``.
    """

    bucket_name: pulumi.Output[str]
    s3_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: R2BucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:R2Bucket", name, args.transforms, ROLES, opts)
        bucket = self.child(
            "bucket",
            cloudflare.R2Bucket,
            cloudflare.R2BucketArgs(
                account_id=args.account_id,
                name=args.bucket_name,
                jurisdiction=args.jurisdiction,
                storage_class="Standard",
            ),
            "bucket",
            opts=pulumi.ResourceOptions(retain_on_delete=args.retain_on_delete),
        )
        if args.allowed_origins:
            self.child(
                "cors",
                cloudflare.R2BucketCors,
                cloudflare.R2BucketCorsArgs(
                    account_id=args.account_id,
                    bucket_name=bucket.name,
                    jurisdiction=args.jurisdiction,
                    rules=[
                        cloudflare.R2BucketCorsRuleArgs(
                            allowed=cloudflare.R2BucketCorsRuleAllowedArgs(
                                methods=["GET", "PUT", "HEAD"],
                                origins=list(args.allowed_origins),
                                headers=["content-type", "content-md5", "x-amz-checksum-sha256"],
                            ),
                            expose_headers=["ETag"],
                            max_age_seconds=3600,
                        )
                    ],
                ),
                "cors",
            )
        self.bucket_name = bucket.name
        self.s3_endpoint = pulumi.Output.from_input(s3_endpoint(args.account_id, args.jurisdiction))
        self.register_outputs({"bucket_name": self.bucket_name, "s3_endpoint": self.s3_endpoint})
