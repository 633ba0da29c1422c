"""Links: what each kind gives a function (environment, grants, ingress), secrets derived from the specs,
and the wiring of specs the repository does not have, all under the SDK's mocks."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pulumi
import pytest

from infra.config import StageConfigError, load_stage
from infra.links import PLATFORM_LINKS, dbuser_arn, linked_services, secrets_of, stored_secrets
from infra.mocks import Recording, run_program
from infra.plan import record_plan
from infra.planned import PlannedResource
from infra.registry import discover, validate
from infra.service_spec import Secret, ServiceSpec
from infra.wiring import build_platform
from services.api.deploy import SPEC as API_SPEC
from services.core import contract

FUNCTION = "aws:lambda/function:Function"
POLICY = "aws:iam/rolePolicy:RolePolicy"
PARAMETER = "aws:ssm/parameter:Parameter"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

IDENTITY = {"STAGE", "SERVICE_NAME", "LOG_LEVEL", "APP_VERSION", "GIT_COMMIT"}  # who it is, which release
DATABASE = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"}  # as the service's own role, with IAM tokens
MASTER = {"DB_HOST", "DB_PORT", "DB_NAME", "DB_SECRET_ARN"}  # as the master user: the migrator alone
ENVIRONMENTS = {
    # Every function's variables: links must give exactly these (the API's secrets are the ones its code reads).
    "api": IDENTITY
    | DATABASE
    | {"BUCKET_NAME", "BUCKET_ENDPOINT", "ALLOWED_ORIGINS", "CLERK_ISSUER", "CLERK_JWKS_URL"}
    | {"VALUATION_FUNCTION_NAME", "SECRETS_VERSION"}
    | {"MAX_OPEN_CLAIMS", "MAX_CLAIM_DOCUMENTS"}  # its quotas, from the stage config
    | {
        f"{name}_PARAMETER"
        for name in (
            "CLERK_WEBHOOK_SECRET",
            "DVLA_API_KEY",
            "R2_ACCESS_KEY_ID",
            "R2_SECRET_ACCESS_KEY",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
        )
    },
    "migrator": IDENTITY | MASTER,
    "scraper": IDENTITY | DATABASE | {"AUCTION_EVENT_IDS", "AUCTION_RESULTS_URL_TEMPLATE"},
    "valuation": IDENTITY | DATABASE,  # comparable past sales
    "worker": IDENTITY | DATABASE | {"RESEND_API_KEY_PARAMETER", "SECRETS_VERSION"},
}


@pytest.fixture(scope="module")
def production() -> Recording:
    return record_plan("production")


def _of(res: Sequence[PlannedResource], type_token: str) -> list[PlannedResource]:
    return [r for r in res if r.type == type_token]


def _env(function: PlannedResource) -> dict[str, str]:
    return dict(function.inputs.get("environment", {}).get("variables", {}))


def _functions(res: Sequence[PlannedResource]) -> dict[str, PlannedResource]:
    """The services' functions (a static site's invalidation function links nothing)."""
    return {f.name.removesuffix("-function"): f for f in _of(res, FUNCTION) if "StaticSite" not in str(f.parent)}


def _grants(res: Sequence[PlannedResource], service: str) -> dict[str, list[dict[str, object]]]:
    prefix = f"{service}-grant-"
    return {
        p.name.removeprefix(prefix): json.loads(p.inputs["policy"])["Statement"]
        for p in _of(res, POLICY)
        if p.name.startswith(prefix)
    }


def test_each_function_gets_exactly_the_environment_its_links_give(production: Recording) -> None:
    functions = _functions(production.resources)
    assert {name: set(_env(f)) for name, f in functions.items()} == ENVIRONMENTS
    api = _env(functions["api"])
    assert api["CLERK_ISSUER"] == "https://clerk.reggie.co.uk"
    for name, function in functions.items():  # each logs in as its own role, named by the contract
        assert _env(function).get("DB_USER") == (None if name == "migrator" else contract.database_role(name))
    assert api["R2_ACCESS_KEY_ID_PARAMETER"] == "/reggie/production/r2_access_key_id"  # brought by "documents"


def test_each_link_grants_only_its_own_resource(production: Recording) -> None:
    res = production.resources
    parameter_arn = "arn:aws:ssm:eu-west-2:123456789012:parameter/reggie/production/{}".format  # the mocks' ARNs
    api = _grants(res, "api")
    assert set(api) == {"db-connect", "invoke-valuation", "secrets"}
    assert api["invoke-valuation"] == [
        {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": ["arn:aws:lambda:eu-west-2:123456789012:function:reggie-production-valuation"],
        }
    ]
    (read,) = api["secrets"]
    granted = [s.name for s in secrets_of(API_SPEC) if s.granted]
    assert read["Resource"] == sorted(parameter_arn(name) for name in granted)
    # IAM database authentication: each service may connect as its own database user only, on this cluster
    # (its resource id, an output of the cluster), and reads no database secret.
    clusters: set[str] = set()
    for service in ("api", "scraper", "valuation", "worker"):
        (connect,) = _grants(res, service)["db-connect"]
        assert (connect["Effect"], connect["Action"]) == ("Allow", ["rds-db:connect"])
        (user,) = connect["Resource"]  # type: ignore[misc]
        matched = re.fullmatch(r"arn:aws:rds-db:eu-west-2:123456789012:dbuser:(cluster-[0-9a-f]{12})/(\w+)", user)
        assert matched is not None, user
        assert matched[2] == contract.database_role(service)
        clusters.add(matched[1])
        assert "db-secret" not in _grants(res, service)
    assert len(clusters) == 1
    # Only the migrator reads the master secret.
    assert _grants(res, "migrator") == {
        "db-secret": [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": [_env(_functions(res)["migrator"])["DB_SECRET_ARN"]],
            }
        ]
    }
    assert set(_grants(res, "scraper")) == {"db-connect"}
    (sends,) = _grants(res, "worker")["secrets"]
    assert sends["Resource"] == [parameter_arn("resend_api_key")]
    assert set(_grants(res, "valuation")) == {"db-connect"}  # comparable sales: the database, nothing else


def test_the_database_user_arn_is_the_clusters_own() -> None:
    assert (
        dbuser_arn("arn:aws:rds:eu-west-2:123456789012:cluster:reggie-production-db", "cluster-ABCDEF", "reggie_api")
        == "arn:aws:rds-db:eu-west-2:123456789012:dbuser:cluster-ABCDEF/reggie_api"
    )
    assert dbuser_arn("arn:aws-us-gov:rds:us-gov-west-1:1:cluster:x", "cluster-1", "r").startswith(
        "arn:aws-us-gov:rds-db:us-gov-west-1:1:dbuser:"
    )


def test_only_database_links_open_database_ingress(production: Recording) -> None:
    rules = {r.name for r in _of(production.resources, INGRESS) if r.name.startswith("database-in-")}
    assert rules == {
        "database-in-api",
        "database-in-migrator",
        "database-in-scraper",
        "database-in-valuation",
        "database-in-worker",
    }


def test_a_secret_linked_ungranted_is_stored_but_neither_named_nor_readable(production: Recording) -> None:
    res = production.resources
    stored = {p.inputs["name"] for p in _of(res, PARAMETER)}
    assert {"/reggie/production/clerk_secret_key", "/reggie/production/app_signing_key"} <= stored
    assert len(stored) == len(stored_secrets(discover())) == 9
    for function in _of(res, FUNCTION):
        assert not {"CLERK_SECRET_KEY_PARAMETER", "APP_SIGNING_KEY_PARAMETER"} & set(_env(function))
    api_reads = json.dumps(_grants(res, "api")["secrets"])
    assert "clerk_secret_key" not in api_reads
    assert "app_signing_key" not in api_reads
    assert "resend_api_key" not in api_reads  # the worker sends the emails, not the API


def test_secrets_of_expands_links_and_a_grant_wins() -> None:
    spec = ServiceSpec(
        name="svc",
        package="zip",
        handler="services.svc.handler.handler",
        links=(Secret("r2_access_key_id", granted=False), "documents", Secret("extra", granted=False)),
    )
    assert secrets_of(spec) == (
        Secret("r2_access_key_id"),  # the documents link grants what the spec alone only stored
        Secret("r2_secret_access_key"),
        Secret("extra", granted=False),
    )
    assert stored_secrets([spec, API_SPEC]) == tuple(sorted({"extra", *(s.name for s in secrets_of(API_SPEC))}))
    assert linked_services(API_SPEC) == ("valuation",)
    assert set(PLATFORM_LINKS) == {"clerk", "database", "database_master", "documents"}


def _new_specs() -> list[ServiceSpec]:
    """The repository's specs plus one they have never heard of: a new service linking a new secret."""
    pager = ServiceSpec(
        name="pager",
        package="zip",
        handler="services.pager.handler.handler",
        schedule="rate(1 hour)",
        links=("valuation", Secret("pager_token")),
    )
    return validate([*discover(), pager])


def test_the_wiring_serves_a_spec_it_has_never_seen() -> None:
    specs = _new_specs()

    def program() -> None:
        stage = load_stage(_NoConfig(), stack="dev-demo", aws_region="eu-west-2", secrets=stored_secrets(specs))
        build_platform(stage, specs)

    res = run_program(program, stack="dev-demo").resources
    pager = _functions(res)["pager"]
    env = _env(pager)
    assert env[contract.secret_parameter_variable("pager_token")] == "/reggie/dev-demo/pager_token"
    assert env[contract.SECRETS_VERSION] == "pager_token:1"
    assert env[contract.function_name_variable("valuation")] == "reggie-dev-demo-valuation"
    assert "vpcConfig" not in pager.inputs
    assert set(_grants(res, "pager")) == {"invoke-valuation", "secrets"}
    (read,) = _grants(res, "pager")["secrets"]
    assert read["Resource"] == ["arn:aws:ssm:eu-west-2:123456789012:parameter/reggie/dev-demo/pager_token"]


def test_a_stage_loaded_without_a_specs_secret_is_refused_by_name() -> None:
    specs = _new_specs()

    def program() -> None:
        build_platform(load_stage(_NoConfig(), stack="dev-demo", aws_region="eu-west-2"), specs)

    with pytest.raises(StageConfigError, match=r"reggie:secrets=pager_token"):
        run_program(program, stack="dev-demo")


class _NoConfig:
    """An empty `pulumi.Config`: every setting at its default, every secret unset."""

    def get(self, key: str) -> str | None:
        return None

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        return None
