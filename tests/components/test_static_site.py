"""StaticSite under mocks: the private bucket, CloudFront and its policies, the us-east-1 certificate and log
delivery, Cloudflare, the build's upload and its invalidation, and the arguments it refuses."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import Component, ComponentArgsError, StaticSite, StaticSiteArgs
from components.site_build import HTML_CACHE, IMMUTABLE_CACHE, SiteBuildError
from components.static_site import CSP_MAX_LENGTH, PERMISSIONS_POLICY, lockdown_entry
from infra.mocks import Recording
from infra.planned import PlannedResource
from tests.components.helpers import children_of, component, of_type, one, run

SAMPLE = Path(__file__).parent / "sample_site"
CSP = "default-src 'self'; frame-ancestors 'none'"
ZONE = "a" * 32


def _args(**overrides: Any) -> StaticSiteArgs:
    base: dict[str, Any] = {
        "site_name": "reggie-test-web",
        "domain": "test.reggie.co.uk",
        "zone_id": ZONE,
        "build_dir": SAMPLE,
        "content_security_policy": CSP,
        "log_retention_days": 30,
    }
    return StaticSiteArgs(**(base | overrides))


def _site(**overrides: Any) -> Recording:
    return run(lambda: StaticSite("web", _args(**overrides)))


@pytest.fixture(scope="module")
def site() -> Recording:
    return _site()


def _named(res: list[PlannedResource], type_token: str) -> dict[str, Mapping[str, Any]]:
    return {r.name: r.inputs for r in of_type(res, type_token)}


def test_every_child_belongs_to_the_site_and_the_content_bucket_is_private(site: Recording) -> None:
    res = site.resources
    comp = component(res, "reggie:components:StaticSite")
    direct = {r.name for r in children_of(res, comp)}
    assert {"web-bucket", "web-logs", "web-cdn", "web-cname", "web-invalidator", "web-us-east-1"} <= direct

    buckets = _named(res, "aws:s3/bucket:Bucket")
    assert buckets["web-bucket"]["bucketPrefix"] == "reggie-test-web-"
    assert buckets["web-logs"]["bucketPrefix"] == "reggie-test-web-logs-"
    assert all(len(b["bucketPrefix"]) <= 37 for b in buckets.values())
    assert all(b["forceDestroy"] is True for b in buckets.values())  # destroy empties every version first

    for block in of_type(res, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(block.inputs[flag] is True for flag in flags), block.name
    ownership = _named(res, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert {o["rule"]["objectOwnership"] for o in ownership.values()} == {"BucketOwnerEnforced"}
    assert len(ownership) == 2
    encryption = _named(res, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert {e["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] for e in encryption.values()} == {
        "AES256"
    }
    versioning = one(res, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    lifecycle = _named(res, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (content_rule,) = lifecycle["web-lifecycle"]["rules"]
    assert content_rule["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    assert (
        versioning.urn
        in site.options[
            one(res, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "web-lifecycle").urn
        ].dependencies
    )


def test_only_this_distribution_reads_the_bucket_and_only_over_tls(site: Recording) -> None:
    res = site.resources
    cdn = one(res, "aws:cloudfront/distribution:Distribution")
    policy = json.loads(_named(res, "aws:s3/bucketPolicy:BucketPolicy")["web-bucket-policy"]["policy"])
    read, tls = policy["Statement"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": cdn_arn(site)}}
    assert read["Resource"].endswith("/*")
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (origin,) = cdn.inputs["origins"]
    oac = one(res, "aws:cloudfront/originAccessControl:OriginAccessControl")
    assert origin["originAccessControlId"] == "web-oac-id"
    assert oac.inputs["signingBehavior"] == "always"
    assert oac.inputs["signingProtocol"] == "sigv4"
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert origin["domainName"].endswith(".s3.eu-west-2.amazonaws.com")
    assert "s3OriginConfig" not in origin  # no legacy origin access identity


def cdn_arn(site: Recording) -> str:
    policy = json.loads(_named(site.resources, "aws:s3/bucketPolicy:BucketPolicy")["web-bucket-policy"]["policy"])
    arn = policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert arn.startswith("arn:aws:cloudfront::123456789012:distribution/E")
    return arn


def test_the_distribution_serves_https_http3_and_the_security_headers(site: Recording) -> None:
    res = site.resources
    cdn = one(res, "aws:cloudfront/distribution:Distribution").inputs
    assert cdn["aliases"] == ["test.reggie.co.uk"]
    assert cdn["httpVersion"] == "http2and3"
    assert cdn["isIpv6Enabled"] is True
    assert cdn["defaultRootObject"] == "index.html"
    certificate = cdn["viewerCertificate"]
    assert certificate["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["sslSupportMethod"] == "sni-only"
    assert certificate["acmCertificateArn"].startswith("arn:aws:acm:")
    default = cdn["defaultCacheBehavior"]
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert default["compress"] is True
    assert default["functionAssociations"] == [
        {
            "eventType": "viewer-request",
            "functionArn": "arn:aws:cloudfront::123456789012:function/reggie-test-web-routing",
        }
    ]
    (assets,) = cdn["orderedCacheBehaviors"]
    assert assets["pathPattern"] == "/assets/*"
    assert "functionAssociations" not in assets  # hashed files are plain files
    assert assets["cachePolicyId"] == default["cachePolicyId"] == "web-cache-id"

    headers = one(res, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs
    security = headers["securityHeadersConfig"]
    assert security["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31_536_000
    assert security["strictTransportSecurity"]["includeSubdomains"] is True
    assert security["contentTypeOptions"]["override"] is True
    assert security["frameOptions"]["frameOption"] == "DENY"
    assert security["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert security["contentSecurityPolicy"]["contentSecurityPolicy"] == CSP
    assert headers["customHeadersConfig"]["items"][0] == {
        "header": "Permissions-Policy",
        "value": PERMISSIONS_POLICY,
        "override": True,
    }
    assert default["responseHeadersPolicyId"] == "web-headers-id"

    cache = one(res, "aws:cloudfront/cachePolicy:CachePolicy").inputs
    assert (cache["minTtl"], cache["maxTtl"]) == (0, 31_536_000)
    keyed = cache["parametersInCacheKeyAndForwardedToOrigin"]
    assert keyed["cookiesConfig"]["cookieBehavior"] == "none"
    assert keyed["queryStringsConfig"]["queryStringBehavior"] == "none"
    assert keyed["headersConfig"]["headerBehavior"] == "none"
    assert keyed["enableAcceptEncodingBrotli"] is True
    # a missing object is S3's 403: the single-page app answers 404 with its own index.html
    errors = {e["errorCode"]: e for e in cdn["customErrorResponses"]}
    assert set(errors) == {403, 404}
    assert {(e["responseCode"], e["responsePagePath"]) for e in errors.values()} == {(404, "/index.html")}


def test_certificate_and_log_delivery_are_made_in_us_east_1_and_dns_in_cloudflare(site: Recording) -> None:
    res = site.resources
    provider = one(res, "pulumi:providers:aws", "web-us-east-1")
    assert provider.inputs["region"] == "us-east-1"
    in_us_east_1 = {r.name for r in res if r.custom and site.options[r.urn].provider == provider.urn}
    assert in_us_east_1 == {"web-cert", "web-log-source", "web-log-destination", "web-log-delivery"}
    assert len(of_type(res, "aws:acm/certificateValidation:CertificateValidation")) == 1
    assert one(res, "aws:acm/certificate:Certificate").inputs["domainName"] == "test.reggie.co.uk"

    records = _named(res, "cloudflare:index/dnsRecord:DnsRecord")
    assert records["web-cert-validation"]["proxied"] is False
    assert records["web-cert-validation"]["content"].endswith("acm-validations.aws")
    cname = records["web-cname"]
    assert (cname["name"], cname["type"], cname["proxied"], cname["zoneId"]) == (
        "test.reggie.co.uk",
        "CNAME",
        True,
        ZONE,
    )
    assert cname["content"].endswith(".cloudfront.net")

    source = one(res, "aws:cloudwatch/logDeliverySource:LogDeliverySource").inputs
    assert source["logType"] == "ACCESS_LOGS"
    assert source["resourceArn"] == cdn_arn(site)
    destination = one(res, "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination").inputs
    log_bucket = one(res, "aws:s3/bucket:Bucket", "web-logs")
    assert destination["deliveryDestinationConfiguration"]["destinationResourceArn"].startswith(
        "arn:aws:s3:::reggie-test-web-logs-"
    )
    delivery = one(res, "aws:cloudwatch/logDelivery:LogDelivery")
    assert delivery.inputs["deliverySourceName"] == "reggie-test-web"
    # the bucket lets the delivery write before the delivery exists
    policy_urn = one(res, "aws:s3/bucketPolicy:BucketPolicy", "web-logs-policy").urn
    assert policy_urn in site.options[delivery.urn].dependencies
    write, acl_check, _tls = json.loads(_named(res, "aws:s3/bucketPolicy:BucketPolicy")["web-logs-policy"]["policy"])[
        "Statement"
    ]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "123456789012",
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    assert write["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:*"}
    assert acl_check["Action"] == ["s3:GetBucketAcl", "s3:ListBucket"]
    # the logs are kept for the stage's retention
    logs_lifecycle = _named(res, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[
        "web-logs-lifecycle"
    ]
    assert logs_lifecycle["rules"][0]["expiration"]["days"] == 30
    assert log_bucket.inputs["tags"]["purpose"] == "access logs"


def test_the_build_is_uploaded_with_its_content_types_and_cache_headers(site: Recording) -> None:
    files = {r.inputs["key"]: r for r in of_type(site.resources, "aws:s3/bucketObjectv2:BucketObjectv2")}
    expected = {
        "index.html": ("text/html; charset=utf-8", HTML_CACHE),
        "assets/index-B3xk9Q2a.js": ("text/javascript; charset=utf-8", IMMUTABLE_CACHE),
        "assets/index-Dx7sKq1P.css": ("text/css; charset=utf-8", IMMUTABLE_CACHE),
        "assets/logo-a1b2c3d4.svg": ("image/svg+xml; charset=utf-8", IMMUTABLE_CACHE),
        "assets/inter-latin-4f5e6d7c.woff2": ("font/woff2", IMMUTABLE_CACHE),
        "favicon.ico": ("image/x-icon", "public, max-age=3600, s-maxage=60"),
        "robots.txt": ("text/plain; charset=utf-8", "public, max-age=3600, s-maxage=60"),
        "manifest.webmanifest": ("application/manifest+json; charset=utf-8", "public, max-age=3600, s-maxage=60"),
        ".well-known/security.txt": ("text/plain; charset=utf-8", "public, max-age=3600, s-maxage=60"),
    }
    assert {key: (f.inputs["contentType"], f.inputs["cacheControl"]) for key, f in files.items()} == expected
    for key, uploaded in files.items():
        source = uploaded.inputs["source"]
        assert isinstance(source, pulumi.FileAsset)
        assert Path(source.path) == SAMPLE / key
        assert uploaded.name == f"web-file-{key}"  # keyed by the object key, never by position
        assert uploaded.inputs["bucket"].startswith("reggie-test-web-")


def test_the_invalidation_runs_after_the_upload_for_the_files_that_change(site: Recording) -> None:
    res = site.resources
    invocation = one(res, "aws:lambda/invocation:Invocation")
    event = json.loads(invocation.inputs["input"])
    assert event["distributionId"] == cdn_arn(site).rsplit("/", 1)[1]
    assert event["paths"] == [
        "/.well-known/security.txt",
        "/favicon.ico",
        "/index.html",
        "/manifest.webmanifest",
        "/robots.txt",
    ]
    assert invocation.inputs["triggers"] == {"build": event["reference"]}
    assert invocation.inputs["functionName"] == "reggie-test-web-invalidate"
    waits = set(site.options[invocation.urn].dependencies)
    objects = {r.urn for r in of_type(res, "aws:s3/bucketObjectv2:BucketObjectv2")}
    assert objects <= waits
    assert one(res, "aws:s3/bucketPolicy:BucketPolicy", "web-bucket-policy").urn in waits
    grant = one(res, "aws:iam/rolePolicy:RolePolicy", "web-invalidator-grant")
    assert grant.urn in waits
    (statement,) = json.loads(grant.inputs["policy"])["Statement"]
    assert statement == {"Effect": "Allow", "Action": ["cloudfront:CreateInvalidation"], "Resource": [cdn_arn(site)]}
    function = one(res, "aws:lambda/function:Function").inputs
    assert function["handler"] == "cloudfront_invalidation.handler"
    assert function["runtime"] == "python3.12"
    assert "vpcConfig" not in function


def _reference(build_dir: Path) -> str:
    rec = _site(build_dir=build_dir)
    return json.loads(one(rec.resources, "aws:lambda/invocation:Invocation").inputs["input"])["reference"]


def test_the_invalidation_input_changes_with_any_file_and_only_then(tmp_path: Path) -> None:
    build = tmp_path / "dist"
    shutil.copytree(SAMPLE, build)
    first = _reference(build)
    assert _reference(build) == first  # the same build invokes nothing on the next deploy
    (build / "index.html").write_text((build / "index.html").read_text().replace("Reggie", "Reggie!"))
    changed = _reference(build)
    assert changed != first
    (build / "assets" / "new-0a1b2c3d.js").write_text("console.log(1)")
    assert _reference(build) != changed


def test_nodes_hold_every_file_by_key_and_one_child_per_role() -> None:
    seen: dict[str, StaticSite] = {}

    def program() -> None:
        seen["site"] = StaticSite("web", _args())

    run(program)
    static_site = seen["site"]
    assert sorted(static_site.keyed_nodes("file", pulumi.CustomResource)) == sorted(
        f.key for f in static_site.build.files
    )
    assert isinstance(static_site.nodes["invalidator"], Component)
    assert static_site.domain == "test.reggie.co.uk"


def test_a_shared_us_east_1_provider_is_used_instead_of_the_sites_own() -> None:
    def program() -> None:
        shared = pulumi.ProviderResource("aws", "shared-us-east-1", {"region": "us-east-1"})
        StaticSite("web", _args(us_east_1=shared))

    rec = run(program)
    assert [r.name for r in of_type(rec.resources, "pulumi:providers:aws")] == ["shared-us-east-1"]
    certificate = one(rec.resources, "aws:acm/certificate:Certificate")
    assert rec.options[certificate.urn].provider.endswith("pulumi:providers:aws::shared-us-east-1")


def test_allowed_networks_lock_the_domain_down_in_cloudflare() -> None:
    rec = _site(allowed_networks=("203.0.113.0/24", "198.51.100.7", "2001:db8:1::/48"))
    lockdown = one(rec.resources, "cloudflare:index/zoneLockdown:ZoneLockdown").inputs
    assert lockdown["zoneId"] == ZONE
    assert lockdown["urls"] == ["test.reggie.co.uk", "test.reggie.co.uk/*"]
    assert lockdown["configurations"] == [
        {"target": "ip_range", "value": "203.0.113.0/24"},
        {"target": "ip", "value": "198.51.100.7"},
        {"target": "ip_range", "value": "2001:db8:1::/48"},
    ]
    assert of_type(_site().resources, "cloudflare:index/zoneLockdown:ZoneLockdown") == []


@pytest.mark.parametrize(
    ("network", "entry"),
    [
        ("198.51.100.7", ("ip", "198.51.100.7")),
        ("198.51.100.7/32", ("ip", "198.51.100.7")),
        ("10.1.0.0/16", ("ip_range", "10.1.0.0/16")),
        ("2001:db8::1", ("ip", "2001:db8::1")),
        ("2001:db8::/64", ("ip_range", "2001:db8::/64")),
    ],
)
def test_lockdown_entries(network: str, entry: tuple[str, str]) -> None:
    assert lockdown_entry(network) == entry


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ("203.0.112.0/20", "/16, /24 only"),
        ("203.0.113.1/24", "no host bits"),
        ("office", "not an IP"),
        ("2001:db8::/56", "/32, /48, /64"),
    ],
)
def test_lockdown_refuses_what_cloudflare_would(network: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lockdown_entry(network)


def test_a_static_site_has_no_spa_fallback_but_its_own_404_page(tmp_path: Path) -> None:
    build = tmp_path / "out"
    shutil.copytree(SAMPLE, build)
    plain = run(lambda: StaticSite("docs", _args(build_dir=build, routing="static"))).resources
    assert "customErrorResponses" not in one(plain, "aws:cloudfront/distribution:Distribution").inputs
    (build / "404.html").write_text("<!doctype html><title>Not found</title>")
    with_page = run(lambda: StaticSite("docs", _args(build_dir=build, routing="static"))).resources
    errors = one(with_page, "aws:cloudfront/distribution:Distribution").inputs["customErrorResponses"]
    assert {(e["errorCode"], e["responseCode"], e["responsePagePath"]) for e in errors} == {
        (403, 404, "/404.html"),
        (404, 404, "/404.html"),
    }


def test_a_missing_or_wrong_build_folder_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SiteBuildError, match=r"does not exist or is not a folder; build the site first"):
        StaticSite("web", _args(build_dir=tmp_path / "dist"))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.ts").write_text("export {}")
    with pytest.raises(SiteBuildError, match=r"no index.html at its top"):
        StaticSite("web", _args(build_dir=tmp_path / "src"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"site_name": "Reggie_Web"}, "site_name"),
        ({"site_name": "r" * 49}, "site_name"),
        ({"domain": "not a domain"}, "domain"),
        ({"zone_id": ""}, "zone_id"),
        ({"content_security_policy": "default-src " + "x" * CSP_MAX_LENGTH}, "content_security_policy"),
        ({"content_security_policy": "default-src 'self'\nX-Evil: 1"}, "content_security_policy"),
        ({"log_retention_days": 10}, "log_retention_days"),
        ({"immutable_paths": ("/assets",)}, "immutable_paths"),
        ({"allowed_networks": ("203.0.112.0/20",)}, "allowed_networks"),
        ({"noncurrent_version_days": 0}, "noncurrent_version_days"),
        ({"price_class": "PriceClass_Cheap"}, "price_class"),
        ({"transforms": {"bucket_acl": lambda *_: None}}, "unknown transform role"),
    ],
)
def test_bad_arguments_are_refused_up_front(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ComponentArgsError, match=message):
        _args(**overrides)


def test_a_transform_adjusts_a_child() -> None:
    def longer_history(args: Any, _opts: pulumi.ResourceOptions, _name: str) -> None:
        args.rules[0].noncurrent_version_expiration.noncurrent_days = 90

    rec = _site(transforms={"lifecycle": longer_history})
    lifecycle = one(rec.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "web-lifecycle")
    assert lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] == 90
