"""R2Bucket: a Cloudflare R2 bucket in one jurisdiction, with CORS for presigned uploads from browsers and a
lifecycle: objects under the prefixes the caller names are deleted after their age, and multipart uploads left
incomplete are aborted (their parts are billed as storage until then).

The lifecycle resource holds the bucket's whole lifecycle configuration: declaring it replaces the rule R2 gives a
new bucket (abort incomplete multipart uploads after seven days), which is why the abort rule is always part of it.
R2 removes an expired object within a day of its expiry, not at the second.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import pulumi
import pulumi_cloudflare as cloudflare

from components._common import Component, ComponentArgsError, Transform, check_transform_keys, roles_of

Jurisdiction = Literal["default", "eu", "fedramp"]
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]{1,256}/$")
DAY_S = 86_400
ABORT_RULE_ID = "abort-incomplete-multipart-uploads"


class R2BucketTransforms(TypedDict, total=False):
    """The roles of :class:`R2Bucket`'s children, each with its transform hook's args type."""

    bucket: Transform[cloudflare.R2BucketArgs]
    """The bucket (``<name>-bucket``)."""
    cors: Transform[cloudflare.R2BucketCorsArgs]
    """With allowed origins: the CORS rule for presigned uploads (``<name>-cors``)."""
    lifecycle: Transform[cloudflare.R2BucketLifecycleArgs]
    """The bucket's lifecycle rules: expiring prefixes, aborting incomplete multipart uploads (``<name>-lifecycle``)."""


ROLES = roles_of(R2BucketTransforms)


def s3_endpoint(account_id: str, jurisdiction: Jurisdiction) -> str:
    """The S3-compatible endpoint of an account's buckets in a jurisdiction."""
    if jurisdiction == "default":
        return f"https://{account_id}.r2.cloudflarestorage.com"
    return f"https://{account_id}.{jurisdiction}.r2.cloudflarestorage.com"


def _nothing_expires() -> dict[str, int]:
    return {}


def lifecycle_rule_id(prefix: str) -> str:
    """A rule's id, from its prefix: ``uploads/`` → ``expire-uploads``."""
    return "expire-" + re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-")


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
    expire_after_days: Mapping[str, int] = field(default_factory=_nothing_expires)
    """Delete objects under each prefix (``"uploads/"``, ending in ``/``) this many days after they were written."""
    abort_multipart_after_days: int = 1
    """Abort multipart uploads still incomplete after this many days (1 to 365)."""
    transforms: R2BucketTransforms = field(default_factory=R2BucketTransforms)
    """Per-child hooks keyed by role (see :class:`R2BucketTransforms`)."""

    def __post_init__(self) -> None:
        if not _BUCKET.match(self.bucket_name):
            raise ComponentArgsError(f"R2BucketArgs.bucket_name: {self.bucket_name!r} is not a valid R2 bucket name")
        if not self.account_id:
            raise ComponentArgsError("R2BucketArgs.account_id: required")
        for prefix, days in self.expire_after_days.items():
            if not _PREFIX.match(prefix):
                raise ComponentArgsError(f"R2BucketArgs.expire_after_days: {prefix!r} is not a key prefix ending in /")
            if not 1 <= days <= 3650:
                raise ComponentArgsError(f"R2BucketArgs.expire_after_days[{prefix!r}]: {days} is outside 1-3650 days")
        if not 1 <= self.abort_multipart_after_days <= 365:
            raise ComponentArgsError("R2BucketArgs.abort_multipart_after_days: must be 1-365 days")
        for origin in self.allowed_origins:
            if origin == "*" or not origin.startswith(("https://", "http://localhost")):
                raise ComponentArgsError(f"R2BucketArgs.allowed_origins: {origin!r} must be an explicit https origin")
        check_transform_keys("R2Bucket", self.transforms, ROLES)


class R2Bucket(Component):
    """An R2 bucket with a CORS rule for presigned uploads and its lifecycle rules.

    Roles (``nodes`` and ``transforms``): ``bucket``, ``cors``, ``lifecycle``.
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
        self.child(
            "lifecycle",
            cloudflare.R2BucketLifecycle,
            cloudflare.R2BucketLifecycleArgs(
                account_id=args.account_id,
                bucket_name=bucket.name,
                jurisdiction=args.jurisdiction,
                rules=[
                    *(
                        cloudflare.R2BucketLifecycleRuleArgs(
                            id=lifecycle_rule_id(prefix),
                            enabled=True,
                            conditions=cloudflare.R2BucketLifecycleRuleConditionsArgs(prefix=prefix),
                            delete_objects_transition=cloudflare.R2BucketLifecycleRuleDeleteObjectsTransitionArgs(
                                condition=cloudflare.R2BucketLifecycleRuleDeleteObjectsTransitionConditionArgs(
                                    type="Age", max_age=days * DAY_S
                                )
                            ),
                        )
                        for prefix, days in sorted(args.expire_after_days.items())
                    ),
                    cloudflare.R2BucketLifecycleRuleArgs(
                        id=ABORT_RULE_ID,
                        enabled=True,
                        conditions=cloudflare.R2BucketLifecycleRuleConditionsArgs(prefix=""),  # every upload
                        abort_multipart_uploads_transition=cloudflare.R2BucketLifecycleRuleAbortMultipartUploadsTransitionArgs(
                            condition=cloudflare.R2BucketLifecycleRuleAbortMultipartUploadsTransitionConditionArgs(
                                type="Age", max_age=args.abort_multipart_after_days * DAY_S
                            )
                        ),
                    ),
                ],
            ),
            "lifecycle",
        )
        self.bucket_name = bucket.name
        self.s3_endpoint = pulumi.Output.from_input(s3_endpoint(args.account_id, args.jurisdiction))
        self.register_outputs({"bucket_name": self.bucket_name, "s3_endpoint": self.s3_endpoint})
