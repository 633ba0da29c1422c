"""R2Bucket and Secrets under mocks."""

from __future__ import annotations

import pytest

from components import ComponentArgsError, R2Bucket, R2BucketArgs, Secrets, SecretsArgs
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
