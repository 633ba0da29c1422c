"""R2Bucket (CORS, lifecycle) and Secrets under mocks."""

from __future__ import annotations

import pytest

from components import ComponentArgsError, R2Bucket, R2BucketArgs, Secrets, SecretsArgs
from infra.plan import record_plan
from services.core.document_keys import DOCUMENT_PREFIX, UPLOAD_PREFIX, stored_key, upload_key
from tests.components.helpers import children_of, component, of_type, one, run

ACCOUNT = "f" * 32


def test_bucket_is_in_the_eu_with_cors_for_presigned_uploads() -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        bucket = R2Bucket("docs", R2BucketArgs("reggie-test-documents", ACCOUNT, ["https://reggie.co.uk"]))
        bucket.s3_endpoint.apply(lambda v: seen.__setitem__("endpoint", v))

    res = run(program).resources
    comp = component(res, "reggie:components:R2Bucket")
    assert {r.urn for r in res if r.custom} == {r.urn for r in children_of(res, comp)}
    bucket = one(res, "cloudflare:index/r2Bucket:R2Bucket").inputs
    assert (bucket["name"], bucket["jurisdiction"], bucket["accountId"]) == ("reggie-test-documents", "eu", ACCOUNT)
    cors = one(res, "cloudflare:index/r2BucketCors:R2BucketCors").inputs
    assert cors["jurisdiction"] == "eu"
    allowed = cors["rules"][0]["allowed"]
    assert "PUT" in allowed["methods"]
    assert allowed["origins"] == ["https://reggie.co.uk"]
    assert seen["endpoint"] == f"https://{ACCOUNT}.eu.r2.cloudflarestorage.com"


def test_unconfirmed_uploads_expire_and_incomplete_multipart_uploads_are_aborted() -> None:
    def program() -> None:
        R2Bucket(
            "docs",
            R2BucketArgs(
                "reggie-test-documents", ACCOUNT, ["https://reggie.co.uk"], expire_after_days={UPLOAD_PREFIX: 1}
            ),
        )

    res = run(program).resources
    lifecycle = one(res, "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle")
    assert lifecycle.parent == component(res, "reggie:components:R2Bucket").urn
    i = lifecycle.inputs
    assert (i["accountId"], i["bucketName"], i["jurisdiction"]) == (ACCOUNT, "reggie-test-documents", "eu")
    rules = {rule["id"]: rule for rule in i["rules"]}
    assert set(rules) == {"expire-uploads", "abort-incomplete-multipart-uploads"}
    expire = rules["expire-uploads"]
    assert expire["enabled"] is True
    assert expire["conditions"] == {"prefix": "uploads/"}  # the API's upload prefix, never documents/
    assert expire["deleteObjectsTransition"] == {"condition": {"type": "Age", "maxAge": 86_400}}  # a day, in seconds
    assert "abortMultipartUploadsTransition" not in expire
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["conditions"] == {"prefix": ""}  # every key
    assert abort["abortMultipartUploadsTransition"] == {"condition": {"type": "Age", "maxAge": 86_400}}
    assert "deleteObjectsTransition" not in abort


def test_a_bucket_without_expiring_prefixes_still_aborts_multipart_uploads() -> None:
    res = run(lambda: R2Bucket("docs", R2BucketArgs("reggie-test-documents", ACCOUNT, []))).resources
    (rule,) = one(res, "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle").inputs["rules"]
    assert rule["id"] == "abort-incomplete-multipart-uploads"


def test_the_platform_expires_exactly_what_the_api_uploads_and_never_confirmed() -> None:
    """The rule's prefix is the API's own constant: the key an upload is signed for is under it, the key a confirmed
    document is kept at is not."""
    upload = upload_key(7, "abc", "pdf")
    assert upload.startswith(UPLOAD_PREFIX)
    assert not stored_key(upload).startswith(UPLOAD_PREFIX)
    assert stored_key(upload).startswith(DOCUMENT_PREFIX)
    res = record_plan("dev-alice").resources
    rules = one(res, "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle").inputs["rules"]
    assert [r["conditions"]["prefix"] for r in rules if "deleteObjectsTransition" in r] == [UPLOAD_PREFIX]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"expire_after_days": {"uploads": 1}}, "ending in /"),
        ({"expire_after_days": {"uploads/": 0}}, "outside 1-3650"),
        ({"abort_multipart_after_days": 0}, "abort_multipart_after_days"),
    ],
)
def test_lifecycle_arguments_are_validated(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ComponentArgsError, match=field):
        R2BucketArgs("reggie-ok", ACCOUNT, [], **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("Bad_Name", ACCOUNT, []), "bucket_name"),
        (("reggie-ok", "", []), "account_id"),
        (("reggie-ok", ACCOUNT, ["*"]), "allowed_origins"),
    ],
)
def test_bucket_arguments_are_validated(args: tuple[str, str, list[str]], field: str) -> None:
    with pytest.raises(ComponentArgsError, match=field):
        R2BucketArgs(*args)


def test_secrets_are_kms_secure_strings_exposed_by_name() -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        secrets = Secrets(
            "secrets", SecretsArgs("/reggie/dev-test", {"stripe_secret_key": "sk_test", "dvla_api_key": "k"})
        )
        secrets.parameter_names["stripe_secret_key"].apply(lambda v: seen.__setitem__("name", v))

    res = run(program).resources
    comp = component(res, "reggie:components:Secrets")
    params = of_type(res, "aws:ssm/parameter:Parameter")
    assert {p.parent for p in params} == {comp.urn}
    assert {p.inputs["name"] for p in params} == {"/reggie/dev-test/stripe_secret_key", "/reggie/dev-test/dvla_api_key"}
    assert all(p.inputs["type"] == "SecureString" and p.inputs["keyId"] == "alias/aws/ssm" for p in params)
    assert seen["name"] == "/reggie/dev-test/stripe_secret_key"


@pytest.mark.parametrize(("path", "values"), [("reggie/x", {}), ("/reggie/x", {"Bad-Key": "v"})])
def test_secret_arguments_are_validated(path: str, values: dict[str, str]) -> None:
    with pytest.raises(ComponentArgsError):
        SecretsArgs(path, values)
