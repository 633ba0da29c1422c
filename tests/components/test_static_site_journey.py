"""A site's deploy end to end, on real parts: the sample build planned under mocks, each declared object put
into moto's S3 the way the provider puts it (its bytes, ``ContentType``, ``CacheControl``), viewer requests
routed by the site's own CloudFront Function (run by V8 in process, mini-racer) and answered from the
bucket with the right headers, then the declared invocation's event handed to the invalidation handler,
which creates the invalidation through boto3 against moto's CloudFront."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest
from moto.server import ThreadedMotoServer
from py_mini_racer import MiniRacer

from components import StaticSite, StaticSiteArgs
from components.cloudfront_invalidation import handler, invalidate
from components.site_build import HTML_CACHE, IMMUTABLE_CACHE
from components.static_site import Routing, routing_function_code
from tests.components.helpers import of_type, one, run
from tests.servers import free_port

SAMPLE = Path(__file__).parent / "sample_site"
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def route(routing: Routing, uris: Sequence[str]) -> list[str]:
    """The URIs the site's CloudFront Function sends to the cache for ``uris`` (run by V8, in process)."""
    engine = MiniRacer()
    engine.eval(routing_function_code(routing))
    each = "function (u) { return handler({request: {uri: u}}).uri; }"
    answer = engine.eval(f"JSON.stringify({json.dumps(list(uris))}.map({each}))")
    return json.loads(str(answer))


def test_the_routing_function_sends_routes_to_index_html_and_files_through() -> None:
    uris = ["/", "/plates/AB12CDE", "/plates/AB12CDE/", "/robots.txt", "/.well-known/security.txt", "/a.b/c"]
    assert route("spa", uris) == [
        "/index.html",
        "/index.html",
        "/index.html",
        "/robots.txt",
        "/.well-known/security.txt",
        "/index.html",
    ]
    assert route("static", ["/", "/guides", "/guides/", "/guides/page.html"]) == [
        "/index.html",
        "/guides/index.html",
        "/guides/index.html",
        "/guides/page.html",
    ]


def _planned_site() -> tuple[list[Any], dict[str, Any]]:
    """The sample build's declared objects and the invalidation's event."""
    rec = run(
        lambda: StaticSite(
            "web",
            StaticSiteArgs(
                site_name="reggie-test-web",
                domain="test.reggie.co.uk",
                zone_id="a" * 32,
                build_dir=SAMPLE,
                content_security_policy="default-src 'self'",
                log_retention_days=7,
            ),
        )
    )
    objects = [r.inputs for r in of_type(rec.resources, "aws:s3/bucketObjectv2:BucketObjectv2")]
    event = json.loads(one(rec.resources, "aws:lambda/invocation:Invocation").inputs["input"])
    return objects, event


def _upload(s3: Any, objects: Sequence[Any]) -> str:
    """Put each declared object as the provider does: the asset's bytes with the declared headers."""
    bucket = objects[0]["bucket"]
    s3.create_bucket(Bucket=bucket)
    for declared in objects:
        source = declared["source"]
        assert isinstance(source, pulumi.FileAsset)
        s3.put_object(
            Bucket=declared["bucket"],
            Key=declared["key"],
            Body=Path(source.path).read_bytes(),
            ContentType=declared["contentType"],
            CacheControl=declared["cacheControl"],
        )
    return bucket


def _viewer_get(s3: Any, bucket: str, uri: str) -> Any:
    """What a viewer gets for ``uri``: hashed assets straight from the bucket, everything else routed first."""
    key_uri = uri if uri.startswith("/assets/") else route("spa", [uri])[0]
    return s3.get_object(Bucket=bucket, Key=key_uri.lstrip("/"))


def test_a_deploy_uploads_the_build_serves_it_with_its_headers_and_invalidates_the_html(
    moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects, event = _planned_site()
    s3 = boto3.client("s3", endpoint_url=moto, **CREDENTIALS)
    bucket = _upload(s3, objects)

    page = _viewer_get(s3, bucket, "/plates/AB12CDE")  # a deep link of the single-page app
    html = page["Body"].read().decode()
    assert '<div id="app"></div>' in html
    assert (page["ContentType"], page["CacheControl"]) == ("text/html; charset=utf-8", HTML_CACHE)
    script = _viewer_get(s3, bucket, "/assets/index-B3xk9Q2a.js")
    assert (script["ContentType"], script["CacheControl"]) == ("text/javascript; charset=utf-8", IMMUTABLE_CACHE)
    assert script["Body"].read() == (SAMPLE / "assets" / "index-B3xk9Q2a.js").read_bytes()
    font = _viewer_get(s3, bucket, "/assets/inter-latin-4f5e6d7c.woff2")
    assert font["ContentType"] == "font/woff2"
    # every asset the page references was uploaded
    for referenced in ("/assets/index-B3xk9Q2a.js", "/assets/index-Dx7sKq1P.css", "/favicon.ico"):
        assert referenced in html
        _viewer_get(s3, bucket, referenced)

    cloudfront = boto3.client("cloudfront", endpoint_url=moto, **CREDENTIALS)
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "journey",
            "Comment": "test.reggie.co.uk",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": f"{bucket}.s3.amazonaws.com"}]},
            "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https"},
        }
    )["Distribution"]["Id"]
    # the Lambda entry point itself, its boto3 client sent to moto by the standard endpoint variable
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", moto)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv({"region_name": "AWS_DEFAULT_REGION"}.get(name, name.upper()), value)
    answer = handler({**event, "distributionId": distribution}, None)
    assert answer["status"] == "success"
    assert answer["paths"] == 5
    created = cloudfront.get_invalidation(DistributionId=distribution, Id=answer["invalidationId"])["Invalidation"]
    batch = created["InvalidationBatch"]
    assert batch["CallerReference"] == event["reference"]
    assert batch["Paths"]["Items"] == event["paths"]
    assert "/index.html" in batch["Paths"]["Items"]
    assert not [p for p in batch["Paths"]["Items"] if p.startswith("/assets/")]  # hashed files never go stale


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"paths": ["/index.html"], "reference": "r"}, "distributionId"),
        ({"distributionId": "e1; rm", "paths": ["/index.html"], "reference": "r"}, "distributionId"),
        ({"distributionId": "E1", "paths": [], "reference": "r"}, "paths"),
        ({"distributionId": "E1", "paths": ["index.html"], "reference": "r"}, "starting with /"),
        ({"distributionId": "E1", "paths": ["/x"], "reference": ""}, "reference"),
    ],
)
def test_the_handler_refuses_a_malformed_event_before_calling_cloudfront(event: dict[str, Any], message: str) -> None:
    class Refusing:
        def create_invalidation(self, **_kwargs: Any) -> Any:
            raise AssertionError("CloudFront must not be called")

    with pytest.raises(ValueError, match=message):
        invalidate(event, Refusing())
