"""StaticSite: a built single-page app or static site on its own domain: private S3, CloudFront, Cloudflare.

What one site declares (roles in :class:`StaticSiteTransforms`):

- a private, versioned, encrypted S3 bucket (every public access blocked, ACLs disabled by
  ``BucketOwnerEnforced``, TLS-only policy) that only this distribution may read, through Origin Access
  Control (SigV4); old object versions expire after ``noncurrent_version_days``;
- the build folder's files (:mod:`components.site_build`), one object each with its content type and cache
  header, declared from the folder's listing when the program runs;
- a CloudFront distribution on the site's domain: HTTP/2 and HTTP/3, IPv6, TLSv1.2_2021 at least, HTTPS
  only; a CloudFront Function that serves ``index.html`` for directories and, for a single-page app, for
  every route without a file extension (before the cache, so all routes share one cached entry); a cache
  policy that honours each object's ``Cache-Control`` (content-hashed assets a year, HTML a minute at the
  edge) with no cookies, headers or query strings in the key; a response headers policy with HSTS,
  ``X-Content-Type-Options``, ``X-Frame-Options: DENY``, a referrer policy, a permissions policy and the
  site's Content-Security-Policy;
- access logs: CloudFront standard logging (v2) delivered to a log bucket of its own (private, encrypted,
  ``BucketOwnerEnforced``, objects expiring after ``log_retention_days``). CloudFront's logging API, like
  its certificates, lives in us-east-1: the certificate and the delivery source, destination and delivery
  are made through ``us_east_1``, an explicit AWS provider for that region;
- the ACM certificate, validated through Cloudflare, and the proxied Cloudflare CNAME (:mod:`components._dns`);
- when the files change, one CloudFront invalidation of the files that are not content-hashed: pulumi-aws
  has no invalidation resource, so a small function (:mod:`components.cloudfront_invalidation`) is invoked
  through ``aws.lambda_.Invocation`` after every object is uploaded, its input carrying the build's digest
  (an unchanged build invokes nothing; a failed invalidation fails the deploy);
- optionally, a Cloudflare Zone Lockdown rule so only ``allowed_networks`` reach the domain.

``pulumi destroy``: both buckets are ``force_destroy`` (every object version goes with them; the content is
rebuilt from the build folder, the logs are kept only for their retention anyway), the invocation is a
no-op on delete, and CloudFront is disabled then deleted before its certificate.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components._common import (
    Component,
    ComponentArgsError,
    Transform,
    check_transform_keys,
    no_tags,
    policy_document,
    roles_of,
)
from components._dns import DOMAIN_NAME, proxied_cname, validated_certificate
from components.function import LOG_RETENTION_DAYS, Function, FunctionArgs, ZipCode
from components.site_build import INDEX, SiteBuild, scan_build

Routing = Literal["spa", "static"]
"""``spa``: every route without a file extension serves ``/index.html``. ``static``: ``/a/`` and ``/a`` serve
``/a/index.html`` (a pre-rendered site)."""
CSP_MAX_LENGTH = 1783
"""The longest Content-Security-Policy a CloudFront response headers policy accepts."""
HSTS_MAX_AGE_S = 63_072_000
"""Two years, what HSTS preload lists ask for (the header does not ask to be preloaded)."""
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
"""Browser features no Reggie page uses (a file input's camera capture is not affected)."""
ORIGIN_ID = "s3"
INVALIDATION_HANDLER = Path(__file__).with_name("cloudfront_invalidation.py")
INVOKED_BY = "invoked-by"
"""The tag naming who invokes a function; ``deploy``: only ``pulumi up``, which fails when it fails."""
_SITE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,46}[a-z0-9]$")
_LOCKDOWN_PREFIXES = {4: (16, 24), 6: (32, 48, 64)}
"""The range sizes Cloudflare takes for an ``ip_range`` entry; single addresses are ``ip`` entries."""


class StaticSiteTransforms(TypedDict, total=False):
    """The roles of :class:`StaticSite`'s children, each with its transform hook's args type."""

    us_east_1: Transform[aws.ProviderArgs]
    """Without ``StaticSiteArgs.us_east_1``: the AWS provider for us-east-1 (``<name>-us-east-1``)."""
    bucket: Transform[aws.s3.BucketArgs]
    """The content bucket (``<name>-bucket``, named ``<site_name>-<unique suffix>``)."""
    ownership: Transform[aws.s3.BucketOwnershipControlsArgs]
    """ACLs off on the content bucket (``<name>-ownership``)."""
    public_access_block: Transform[aws.s3.BucketPublicAccessBlockArgs]
    """Every public access blocked on the content bucket (``<name>-public-access``)."""
    encryption: Transform[aws.s3.BucketServerSideEncryptionConfigurationInitArgs]
    """SSE-S3 on the content bucket (``<name>-encryption``)."""
    versioning: Transform[aws.s3.BucketVersioningInitArgs]
    """Versioning on the content bucket (``<name>-versioning``)."""
    lifecycle: Transform[aws.s3.BucketLifecycleConfigurationArgs]
    """Old versions expire (``<name>-lifecycle``)."""
    bucket_policy: Transform[aws.s3.BucketPolicyArgs]
    """CloudFront (this distribution only) may read; TLS only (``<name>-bucket-policy``)."""
    log_bucket: Transform[aws.s3.BucketArgs]
    """The access-log bucket (``<name>-logs``)."""
    log_ownership: Transform[aws.s3.BucketOwnershipControlsArgs]
    """ACLs off on the log bucket (``<name>-logs-ownership``)."""
    log_public_access_block: Transform[aws.s3.BucketPublicAccessBlockArgs]
    """Every public access blocked on the log bucket (``<name>-logs-public-access``)."""
    log_encryption: Transform[aws.s3.BucketServerSideEncryptionConfigurationInitArgs]
    """SSE-S3 on the log bucket (``<name>-logs-encryption``)."""
    log_lifecycle: Transform[aws.s3.BucketLifecycleConfigurationArgs]
    """Logs expire after the retention (``<name>-logs-lifecycle``)."""
    log_bucket_policy: Transform[aws.s3.BucketPolicyArgs]
    """CloudWatch log delivery may write; TLS only (``<name>-logs-policy``)."""
    origin_access_control: Transform[aws.cloudfront.OriginAccessControlArgs]
    """SigV4 signing of CloudFront's requests to the bucket (``<name>-oac``)."""
    cache_policy: Transform[aws.cloudfront.CachePolicyArgs]
    """What is cached and for how long (``<name>-cache``)."""
    response_headers_policy: Transform[aws.cloudfront.ResponseHeadersPolicyArgs]
    """The security headers (``<name>-headers``)."""
    routing_function: Transform[aws.cloudfront.FunctionArgs]
    """The viewer-request function mapping routes to ``index.html`` (``<name>-routing``)."""
    certificate: Transform[aws.acm.CertificateArgs]
    """The ACM certificate in us-east-1 (``<name>-cert``)."""
    validation_record: Transform[cloudflare.DnsRecordArgs]
    """The unproxied CNAME ACM validates through (``<name>-cert-validation``)."""
    certificate_validation: Transform[aws.acm.CertificateValidationArgs]
    """Waits for the certificate to be issued (``<name>-cert``)."""
    distribution: Transform[aws.cloudfront.DistributionArgs]
    """The CloudFront distribution (``<name>-cdn``)."""
    domain_record: Transform[cloudflare.DnsRecordArgs]
    """The proxied CNAME the public resolves (``<name>-cname``)."""
    log_source: Transform[aws.cloudwatch.LogDeliverySourceArgs]
    """The distribution's access logs as a delivery source, in us-east-1 (``<name>-log-source``)."""
    log_destination: Transform[aws.cloudwatch.LogDeliveryDestinationArgs]
    """The log bucket as a delivery destination, in us-east-1 (``<name>-log-destination``)."""
    log_delivery: Transform[aws.cloudwatch.LogDeliveryArgs]
    """The source delivered to the destination (``<name>-log-delivery``)."""
    file: Transform[aws.s3.BucketObjectv2Args]
    """Keyed by object key: one file of the build (``<name>-file-<key>``)."""
    invalidator: Transform[FunctionArgs]
    """The function creating invalidations (``<name>-invalidator``; a :class:`~components.Function`)."""
    invalidator_policy: Transform[aws.iam.RolePolicyArgs]
    """``cloudfront:CreateInvalidation`` on this distribution only (``<name>-invalidator-grant``)."""
    invalidation: Transform[aws.lambda_.InvocationArgs]
    """The invalidation run when the files change (``<name>-invalidation``)."""
    lockdown: Transform[cloudflare.ZoneLockdownArgs]
    """With ``allowed_networks``: the Cloudflare Zone Lockdown rule (``<name>-lockdown``)."""


ROLES = roles_of(StaticSiteTransforms)


def lockdown_entry(network: str) -> tuple[str, str]:
    """A Zone Lockdown configuration entry ``(target, value)`` for an address or CIDR range: ``ip`` for one
    address, ``ip_range`` for an IPv4 /16 or /24 or an IPv6 /32, /48 or /64 (the only ranges Cloudflare
    takes). Raises ``ValueError`` naming what is allowed."""
    try:
        parsed = ipaddress.ip_network(network.strip(), strict=True)
    except ValueError:
        raise ValueError(f"{network!r} is not an IP address or a CIDR range with no host bits set") from None
    if parsed.num_addresses == 1:
        return "ip", str(parsed.network_address)
    if parsed.prefixlen not in _LOCKDOWN_PREFIXES[parsed.version]:
        sizes = ", ".join(f"/{p}" for p in _LOCKDOWN_PREFIXES[parsed.version])
        raise ValueError(
            f"{network!r}: Cloudflare takes IPv{parsed.version} ranges of {sizes} only (or single addresses)"
        )
    return "ip_range", str(parsed)


def routing_function_code(routing: Routing) -> str:
    """The CloudFront Function (cloudfront-js-2.0) run on each viewer request outside the immutable paths."""
    rewrite = (
        "'/index.html'" if routing == "spa" else "uri + (uri.charAt(uri.length - 1) === '/' ? '' : '/') + 'index.html'"
    )
    return (
        "function handler(event) {\n"
        "  var request = event.request;\n"
        "  var uri = request.uri;\n"
        "  var last = uri.substring(uri.lastIndexOf('/') + 1);\n"
        "  if (last === '' || last.indexOf('.') === -1) {\n"
        f"    request.uri = {rewrite};\n"
        "  }\n"
        "  return request;\n"
        "}\n"
    )


@dataclass(frozen=True, slots=True)
class StaticSiteArgs:
    """Arguments of :class:`StaticSite`."""

    site_name: str
    """Physical name stem of the site's resources (buckets, policies, function, log delivery): 2-48 lowercase
    letters, digits and hyphens, e.g. ``reggie-production-web``."""
    domain: str
    """The site's host, e.g. ``admin.reggie.co.uk``; its zone is in Cloudflare."""
    zone_id: str
    """The Cloudflare zone holding ``domain``."""
    build_dir: Path
    """The build output folder (``index.html`` at its top), read when the program runs."""
    content_security_policy: pulumi.Input[str]
    """The site's Content-Security-Policy header value (at most 1783 characters)."""
    log_retention_days: int
    """How long access logs are kept (a CloudWatch-style retention value, e.g. 90)."""
    routing: Routing = "spa"
    """How routes map to files (see :data:`Routing`)."""
    immutable_paths: Sequence[str] = ("assets/",)
    """Prefixes of content-hashed files: cached a year, never invalidated, no routing function."""
    allowed_networks: Sequence[str] = ()
    """When set, only these addresses and ranges reach ``domain`` (a Cloudflare Zone Lockdown rule; paid
    Cloudflare plans). The distribution's own ``*.cloudfront.net`` name is not covered."""
    us_east_1: pulumi.ProviderResource | None = None
    """An AWS provider for us-east-1, shared between sites; without one the site declares its own."""
    noncurrent_version_days: int = 30
    """How long replaced object versions are kept (for restoring a previous build)."""
    price_class: str = "PriceClass_100"
    """CloudFront edge locations used (``PriceClass_100``: Europe and North America)."""
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every taggable child."""
    transforms: StaticSiteTransforms = field(default_factory=StaticSiteTransforms)
    """Per-child hooks keyed by role (see :class:`StaticSiteTransforms`)."""

    def __post_init__(self) -> None:
        if not _SITE_NAME.match(self.site_name):
            raise ComponentArgsError(
                f"StaticSiteArgs.site_name: {self.site_name!r} must be 2-48 lowercase letters, digits and hyphens"
            )
        if not DOMAIN_NAME.match(self.domain):
            raise ComponentArgsError(f"StaticSiteArgs.domain: {self.domain!r} is not a domain name")
        if not self.zone_id:
            raise ComponentArgsError("StaticSiteArgs.zone_id: required")
        if isinstance(self.content_security_policy, str):
            check_csp(self.content_security_policy)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ComponentArgsError(
                f"StaticSiteArgs.log_retention_days: {self.log_retention_days} is not a retention value"
            )
        for prefix in self.immutable_paths:
            if not re.match(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", prefix):
                raise ComponentArgsError(
                    f"StaticSiteArgs.immutable_paths: {prefix!r} must be a relative folder ending in /"
                )
        for network in self.allowed_networks:
            try:
                lockdown_entry(network)
            except ValueError as exc:
                raise ComponentArgsError(f"StaticSiteArgs.allowed_networks: {exc}") from None
        if not 1 <= self.noncurrent_version_days <= 3650:
            raise ComponentArgsError("StaticSiteArgs.noncurrent_version_days: must be 1-3650")
        if self.price_class not in ("PriceClass_100", "PriceClass_200", "PriceClass_All"):
            raise ComponentArgsError(
                f"StaticSiteArgs.price_class: {self.price_class!r} is not a CloudFront price class"
            )
        check_transform_keys("StaticSite", self.transforms, ROLES)


def check_csp(policy: str) -> str:
    """``policy`` if CloudFront can send it as a Content-Security-Policy, else :class:`ComponentArgsError`."""
    if not policy.strip() or len(policy) > CSP_MAX_LENGTH or any(c in policy for c in '\r\n"\\'):
        raise ComponentArgsError(
            f"StaticSiteArgs.content_security_policy: must be 1-{CSP_MAX_LENGTH} characters on one line, "
            f"got {len(policy)}"
        )
    return policy


def _tls_only(bucket_arn: str) -> dict[str, Any]:
    """Refuse every request to the bucket that is not over TLS."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def content_bucket_policy(bucket_arn: str, distribution_arn: str) -> str:
    """Only this distribution (through its Origin Access Control) may read objects; nothing without TLS."""
    return policy_document(
        [
            {
                "Sid": "CloudFrontReadsThroughOac",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
            _tls_only(bucket_arn),
        ]
    )


def account_of(arn: str) -> str:
    """The account id inside an ARN (``arn:aws:cloudfront::123456789012:distribution/E1``)."""
    return arn.split(":")[4]


def log_bucket_policy(bucket_arn: str, source_arn: str) -> str:
    """CloudWatch's log delivery (CloudFront standard logging v2) may write logs from this account's delivery
    sources in the source's region (``arn:aws:logs:us-east-1:<account>:*``, the form AWS documents); nothing
    without TLS."""
    region_and_account = ":".join(source_arn.split(":")[:5])
    from_this_account: dict[str, Any] = {
        "StringEquals": {"aws:SourceAccount": account_of(source_arn)},
        "ArnLike": {"aws:SourceArn": f"{region_and_account}:*"},
    }
    return policy_document(
        [
            {
                "Sid": "AWSLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": account_of(source_arn),
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    },
                    "ArnLike": from_this_account["ArnLike"],
                },
            },
            {
                "Sid": "AWSLogDeliveryAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                "Resource": bucket_arn,
                "Condition": from_this_account,
            },
            _tls_only(bucket_arn),
        ]
    )


def _bucket_prefix(site_name: str, suffix: str = "") -> str:
    """An S3 ``bucket_prefix`` (at most 37 characters); S3 appends a unique suffix, so names never collide
    across accounts."""
    stem = f"{site_name}{suffix}"
    return f"{stem[:36].rstrip('-')}-"


class StaticSite(Component):
    """A static site on its own domain (see the module docstring for what it declares).

    Roles (``nodes`` and ``transforms``, see :class:`StaticSiteTransforms`); ``file`` is keyed by object key.
    """

    url: pulumi.Output[str]
    """``https://<domain>``."""
    domain: str
    bucket_name: pulumi.Output[str]
    distribution_id: pulumi.Output[str]
    distribution_domain_name: pulumi.Output[str]
    """The distribution's own ``*.cloudfront.net`` name (what the Cloudflare record points at)."""
    build: SiteBuild
    """The files uploaded, as listed when the program ran."""

    def __init__(self, name: str, args: StaticSiteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:StaticSite", name, args.transforms, ROLES, opts)
        self.build = scan_build(args.build_dir, args.immutable_paths)
        self.domain = args.domain
        us_east_1 = args.us_east_1 or self.child(
            "us_east_1", aws.Provider, aws.ProviderArgs(region="us-east-1"), "us-east-1"
        )
        in_us_east_1 = pulumi.ResourceOptions(provider=us_east_1)
        tags = dict(args.tags)

        bucket = self._private_bucket(args, "", tags)
        log_bucket = self._private_bucket(args, "logs", tags)
        distribution = self._distribution(args, bucket, us_east_1, tags)
        self.child(
            "bucket_policy",
            aws.s3.BucketPolicy,
            aws.s3.BucketPolicyArgs(
                bucket=bucket.id,
                policy=pulumi.Output.all(bucket.arn, distribution.arn).apply(
                    lambda arns: content_bucket_policy(arns[0], arns[1])
                ),
            ),
            "bucket-policy",
            opts=pulumi.ResourceOptions(depends_on=[self.node("public_access_block", aws.s3.BucketPublicAccessBlock)]),
        )
        self._access_logs(args, distribution, log_bucket, in_us_east_1, tags)
        proxied_cname(self, args.zone_id, args.domain, distribution.domain_name, f"CloudFront: {args.site_name}")
        files = self._files(bucket)
        self._invalidation(args, distribution, files, tags)
        if args.allowed_networks:
            self._lockdown(args)

        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.bucket_name = bucket.bucket
        self.distribution_id = distribution.id
        self.distribution_domain_name = distribution.domain_name
        self.register_outputs(
            {"url": self.url, "bucket_name": self.bucket_name, "distribution_id": self.distribution_id}
        )

    def _private_bucket(self, args: StaticSiteArgs, kind: Literal["", "logs"], tags: dict[str, str]) -> aws.s3.Bucket:
        """A bucket nobody outside the account can reach: ACLs off, public access blocked, SSE-S3; the content
        bucket is versioned with old versions expiring, the log bucket's objects expire after the retention."""
        role = "" if kind == "" else "log_"
        suffix = "" if kind == "" else "logs-"
        bucket = self.child(
            f"{role}bucket",
            aws.s3.Bucket,
            aws.s3.BucketArgs(
                bucket_prefix=_bucket_prefix(args.site_name, f"-{kind}" if kind else ""),
                force_destroy=True,
                tags={**tags, "purpose": "access logs" if kind else "site content"},
            ),
            "logs" if kind else "bucket",
        )
        self.child(
            f"{role}ownership",
            aws.s3.BucketOwnershipControls,
            aws.s3.BucketOwnershipControlsArgs(
                bucket=bucket.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            ),
            f"{suffix}ownership",
        )
        self.child(
            f"{role}public_access_block",
            aws.s3.BucketPublicAccessBlock,
            aws.s3.BucketPublicAccessBlockArgs(
                bucket=bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            ),
            f"{suffix}public-access",
        )
        self.child(
            f"{role}encryption",
            aws.s3.BucketServerSideEncryptionConfiguration,
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"  # SSE-S3: CloudFront's OAC reads it without a KMS key policy
                        )
                    )
                ],
            ),
            f"{suffix}encryption",
        )
        abort_uploads = aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=1
        )
        everything = aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
        versioned: list[pulumi.Resource] = []  # S3 refuses a rule about old versions before versioning is on
        if kind == "logs":
            rule = aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-logs",
                status="Enabled",
                filter=everything,
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.log_retention_days),
                abort_incomplete_multipart_upload=abort_uploads,
            )
        else:
            versioning = self.child(
                "versioning",
                aws.s3.BucketVersioning,
                aws.s3.BucketVersioningInitArgs(
                    bucket=bucket.id,
                    versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                ),
                "versioning",
            )
            versioned.append(versioning)
            rule = aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-old-versions",
                status="Enabled",
                filter=everything,
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=args.noncurrent_version_days
                ),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
                abort_incomplete_multipart_upload=abort_uploads,
            )
        self.child(
            f"{role}lifecycle",
            aws.s3.BucketLifecycleConfiguration,
            aws.s3.BucketLifecycleConfigurationArgs(bucket=bucket.id, rules=[rule]),
            f"{suffix}lifecycle",
            opts=pulumi.ResourceOptions(depends_on=versioned),
        )
        return bucket

    def _distribution(
        self,
        args: StaticSiteArgs,
        bucket: aws.s3.Bucket,
        us_east_1: pulumi.ProviderResource,
        tags: dict[str, str],
    ) -> aws.cloudfront.Distribution:
        oac = self.child(
            "origin_access_control",
            aws.cloudfront.OriginAccessControl,
            aws.cloudfront.OriginAccessControlArgs(
                name=args.site_name,
                description=f"CloudFront reads {args.domain} from S3",
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
            ),
            "oac",
        )
        cache = self.child(
            "cache_policy",
            aws.cloudfront.CachePolicy,
            aws.cloudfront.CachePolicyArgs(
                name=args.site_name,
                comment=f"{args.domain}: each object's Cache-Control decides, within 0 s to a year",
                min_ttl=0,
                default_ttl=60,  # an object without Cache-Control (none is uploaded so) stays a minute
                max_ttl=31_536_000,
                parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                    cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                        cookie_behavior="none"
                    ),
                    headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                        header_behavior="none"
                    ),
                    query_strings_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                        query_string_behavior="none"
                    ),
                    enable_accept_encoding_brotli=True,
                    enable_accept_encoding_gzip=True,
                ),
            ),
            "cache",
        )
        headers = self.child(
            "response_headers_policy",
            aws.cloudfront.ResponseHeadersPolicy,
            aws.cloudfront.ResponseHeadersPolicyArgs(
                name=args.site_name,
                comment=f"{args.domain}: security headers",
                security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                    strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                        access_control_max_age_sec=HSTS_MAX_AGE_S, include_subdomains=True, preload=False, override=True
                    ),
                    content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                        override=True
                    ),
                    frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                        frame_option="DENY", override=True
                    ),
                    referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                        referrer_policy="strict-origin-when-cross-origin", override=True
                    ),
                    content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                        content_security_policy=pulumi.Output.from_input(args.content_security_policy).apply(check_csp),
                        override=True,
                    ),
                ),
                custom_headers_config=aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs(
                    items=[
                        aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(
                            header="Permissions-Policy", value=PERMISSIONS_POLICY, override=True
                        )
                    ]
                ),
            ),
            "headers",
        )
        routing = self.child(
            "routing_function",
            aws.cloudfront.Function,
            aws.cloudfront.FunctionArgs(
                name=f"{args.site_name}-routing",
                runtime="cloudfront-js-2.0",
                comment=f"{args.domain}: routes to index.html ({args.routing})",
                code=routing_function_code(args.routing),
                publish=True,
            ),
            "routing",
        )
        validation = validated_certificate(
            self, args.domain, args.zone_id, args.tags, pulumi.ResourceOptions(provider=us_east_1)
        )
        behaviour: dict[str, Any] = {
            "target_origin_id": ORIGIN_ID,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD", "OPTIONS"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            "cache_policy_id": cache.id,
            "response_headers_policy_id": headers.id,
        }
        return self.child(
            "distribution",
            aws.cloudfront.Distribution,
            aws.cloudfront.DistributionArgs(
                comment=args.domain,
                enabled=True,
                aliases=[args.domain],
                is_ipv6_enabled=True,
                http_version="http2and3",
                price_class=args.price_class,
                default_root_object=INDEX,
                origins=[
                    aws.cloudfront.DistributionOriginArgs(
                        origin_id=ORIGIN_ID,
                        domain_name=bucket.bucket_regional_domain_name,
                        origin_access_control_id=oac.id,
                    )
                ],
                default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                    **behaviour,
                    function_associations=[
                        aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                            event_type="viewer-request", function_arn=routing.arn
                        )
                    ],
                ),
                # Hashed assets are plain files: no routing function to run (or pay for) on them.
                ordered_cache_behaviors=[
                    aws.cloudfront.DistributionOrderedCacheBehaviorArgs(path_pattern=f"/{prefix}*", **behaviour)
                    for prefix in args.immutable_paths
                ],
                custom_error_responses=self._error_responses(args) or None,
                restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                    geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
                ),
                viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                    acm_certificate_arn=validation.certificate_arn,
                    ssl_support_method="sni-only",
                    minimum_protocol_version="TLSv1.2_2021",
                ),
                tags=tags,
            ),
            "cdn",
        )

    def _error_responses(self, args: StaticSiteArgs) -> list[aws.cloudfront.DistributionCustomErrorResponseArgs]:
        """A missing object is a 403 from S3 (CloudFront may not list the bucket): answer 404, with the build's
        ``404.html`` if it has one, else (single-page app) ``index.html``, whose router shows its own page."""
        page = "/404.html" if self.build.has("404.html") else ("/index.html" if args.routing == "spa" else None)
        if page is None:
            return []
        return [
            aws.cloudfront.DistributionCustomErrorResponseArgs(
                error_code=code, response_code=404, response_page_path=page, error_caching_min_ttl=10
            )
            for code in (403, 404)
        ]

    def _access_logs(
        self,
        args: StaticSiteArgs,
        distribution: aws.cloudfront.Distribution,
        log_bucket: aws.s3.Bucket,
        in_us_east_1: pulumi.ResourceOptions,
        tags: dict[str, str],
    ) -> None:
        """CloudFront standard logging (v2) into the log bucket, configured in us-east-1 as CloudFront requires."""
        source = self.child(
            "log_source",
            aws.cloudwatch.LogDeliverySource,
            aws.cloudwatch.LogDeliverySourceArgs(
                name=args.site_name, log_type="ACCESS_LOGS", resource_arn=distribution.arn, tags=tags
            ),
            "log-source",
            opts=in_us_east_1,
        )
        policy = self.child(
            "log_bucket_policy",
            aws.s3.BucketPolicy,
            aws.s3.BucketPolicyArgs(
                bucket=log_bucket.id,
                policy=pulumi.Output.all(log_bucket.arn, source.arn).apply(
                    lambda arns: log_bucket_policy(arns[0], arns[1])
                ),
            ),
            "logs-policy",
            opts=pulumi.ResourceOptions(
                depends_on=[self.node("log_public_access_block", aws.s3.BucketPublicAccessBlock)]
            ),
        )
        destination = self.child(
            "log_destination",
            aws.cloudwatch.LogDeliveryDestination,
            aws.cloudwatch.LogDeliveryDestinationArgs(
                name=f"{args.site_name}-logs",
                output_format="json",
                delivery_destination_configuration=aws.cloudwatch.LogDeliveryDestinationDeliveryDestinationConfigurationArgs(
                    destination_resource_arn=log_bucket.arn
                ),
                tags=tags,
            ),
            "log-destination",
            opts=in_us_east_1,
        )
        self.child(
            "log_delivery",
            aws.cloudwatch.LogDelivery,
            aws.cloudwatch.LogDeliveryArgs(
                delivery_source_name=source.name, delivery_destination_arn=destination.arn, tags=tags
            ),
            "log-delivery",
            # the bucket must already let the delivery write, or CloudWatch edits the policy itself
            opts=pulumi.ResourceOptions.merge(in_us_east_1, pulumi.ResourceOptions(depends_on=[policy])),
        )

    def _files(self, bucket: aws.s3.Bucket) -> list[aws.s3.BucketObjectv2]:
        encryption = self.node("encryption", aws.s3.BucketServerSideEncryptionConfiguration)
        return [
            self.child(
                "file",
                aws.s3.BucketObjectv2,
                aws.s3.BucketObjectv2Args(
                    bucket=bucket.id,
                    key=site_file.key,
                    source=pulumi.FileAsset(str(site_file.path)),
                    content_type=site_file.content_type,
                    cache_control=site_file.cache_control,
                ),
                f"file-{site_file.key}",
                key=site_file.key,
                opts=pulumi.ResourceOptions(depends_on=[encryption]),
            )
            for site_file in self.build.files
        ]

    def _invalidation(
        self,
        args: StaticSiteArgs,
        distribution: aws.cloudfront.Distribution,
        files: Sequence[aws.s3.BucketObjectv2],
        tags: dict[str, str],
    ) -> None:
        """The invalidator function, its one grant, and its invocation after every upload of this build."""
        invalidator = self.child(
            "invalidator",
            Function,
            FunctionArgs(
                function_name=f"{args.site_name}-invalidate",
                code=ZipCode(
                    pulumi.AssetArchive({INVALIDATION_HANDLER.name: pulumi.FileAsset(str(INVALIDATION_HANDLER))}),
                    f"{INVALIDATION_HANDLER.stem}.handler",
                ),
                log_retention_days=args.log_retention_days,
                memory_mb=128,
                timeout_s=60,
                description=f"Invalidates {args.domain}'s CloudFront cache after a deploy",
                # Only the deploy invokes it and a failure fails the deploy, so no alarm watches it (the policy
                # pack's alarm rule reads this tag).
                tags={**tags, INVOKED_BY: "deploy"},
            ),
            "invalidator",
        )
        grant = self.child(
            "invalidator_policy",
            aws.iam.RolePolicy,
            aws.iam.RolePolicyArgs(
                role=invalidator.role_name,
                policy=distribution.arn.apply(
                    lambda arn: policy_document(
                        [{"Effect": "Allow", "Action": ["cloudfront:CreateInvalidation"], "Resource": [arn]}]
                    )
                ),
            ),
            "invalidator-grant",
        )
        bucket_policy = self.node("bucket_policy", aws.s3.BucketPolicy)
        self.child(
            "invalidation",
            aws.lambda_.Invocation,
            aws.lambda_.InvocationArgs(
                function_name=invalidator.function_name,
                input=pulumi.Output.json_dumps(
                    {
                        "distributionId": distribution.id,
                        "paths": list(self.build.invalidation_paths),
                        "reference": self.build.digest,
                    }
                ),
                triggers={"build": self.build.digest},
            ),
            "invalidation",
            # after every object of this build is in place and readable, with the function allowed to invalidate
            opts=pulumi.ResourceOptions(depends_on=[*files, bucket_policy, grant]),
        )

    def _lockdown(self, args: StaticSiteArgs) -> None:
        entries = [lockdown_entry(network) for network in args.allowed_networks]
        self.child(
            "lockdown",
            cloudflare.ZoneLockdown,
            cloudflare.ZoneLockdownArgs(
                zone_id=args.zone_id,
                urls=[args.domain, f"{args.domain}/*"],
                configurations=[
                    cloudflare.ZoneLockdownConfigurationArgs(target=target, value=value) for target, value in entries
                ],
                description=f"{args.site_name}: only the allowed networks reach {args.domain}",
            ),
            "lockdown",
        )
