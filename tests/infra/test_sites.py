"""The web and admin sites on each stage: discovered by folder, configured per stage (build folders, networks),
on the hosts of the stage matrix with each stage's own origins in their CSP; what production and staging refuse,
what a personal stage may skip, and what a preview without the build does."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra import plan
from infra.config import SiteSettings, StageConfigError, check_known_keys, load_stage
from infra.mocks import Recording, run_program
from infra.plan import SITE_STAND_IN, record_plan
from infra.planned import PlannedResource
from infra.policy.rules import evaluate
from infra.site_registry import SiteSpecError, discover, validate
from infra.site_spec import SiteSpec, app_csp, render_csp, site_host
from infra.sites import site_csp

SAMPLE = Path(__file__).resolve().parents[1] / "components" / "sample_site"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
BUILDS = {"webBuildDir": str(SAMPLE), "adminBuildDir": str(SAMPLE)}


@pytest.fixture(scope="module")
def plans() -> dict[str, Recording]:
    return {stack: record_plan(stack, BUILDS) for stack in ("production", "staging")}


def _by_site(res: list[PlannedResource], type_token: str) -> dict[str, Mapping[str, Any]]:
    """Inputs of each site's resource of ``type_token``, by the site (its component's name)."""
    return {r.parent.rsplit("::", 1)[1]: r.inputs for r in res if r.type == type_token and r.parent}


def _csp(res: list[PlannedResource], site: str) -> dict[str, list[str]]:
    header = _by_site(res, HEADERS)[site]["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    return {d.split()[0]: d.split()[1:] for d in header.split("; ")}


def test_the_registry_finds_web_and_admin() -> None:
    specs = {spec.name: spec for spec in discover()}
    assert set(specs) == {"web", "admin"}
    assert (specs["web"].label, specs["admin"].label) == ("", "admin")
    assert all(spec.routing == "spa" and spec.immutable_paths == ("assets/",) for spec in specs.values())


@pytest.mark.parametrize(
    ("stack", "kind", "web", "admin"),
    [
        ("production", "production", "reggie.co.uk", "admin.reggie.co.uk"),
        ("staging", "staging", "staging.reggie.co.uk", "staging-admin.reggie.co.uk"),
        ("dev-alice", "personal", "dev-alice.reggie.co.uk", "dev-alice-admin.reggie.co.uk"),
    ],
)
def test_hosts_follow_the_stage_matrix(stack: str, kind: str, web: str, admin: str) -> None:
    assert site_host("", kind, stack, "reggie.co.uk") == web
    assert site_host("admin", kind, stack, "reggie.co.uk") == admin


STAGES = {
    # stack: (API origin, Clerk issuer, web host, admin host, log retention days)
    "production": ("https://api.reggie.co.uk", "https://clerk.reggie.co.uk", "reggie.co.uk", "admin.reggie.co.uk", 90),
    "staging": (
        "https://staging-api.reggie.co.uk",
        "https://clerk.staging.reggie.co.uk",
        "staging.reggie.co.uk",
        "staging-admin.reggie.co.uk",
        30,
    ),
}


@pytest.mark.parametrize("stack", sorted(STAGES))
def test_both_sites_on_the_stage_domains_with_the_stage_origins(plans: dict[str, Recording], stack: str) -> None:
    api, clerk, web, admin, log_days = STAGES[stack]
    res = plans[stack].resources
    distributions = _by_site(res, DISTRIBUTION)
    assert {site: d["aliases"] for site, d in distributions.items()} == {"web": [web], "admin": [admin]}
    assert all(d["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021" for d in distributions.values())
    certificates = {c.inputs["domainName"] for c in res if c.type == "aws:acm/certificate:Certificate"}
    assert {web, admin} <= certificates
    records = {r.inputs["name"]: r.inputs for r in res if r.type == "cloudflare:index/dnsRecord:DnsRecord"}
    assert records[web]["proxied"] is True
    assert records[admin]["proxied"] is True
    documents = f"https://{plan.OFFLINE_CLOUDFLARE_ID}.eu.r2.cloudflarestorage.com"  # the offline plan's account
    for site in ("web", "admin"):
        csp = _csp(res, site)
        assert csp["connect-src"] == ["'self'", api, clerk, documents]  # this stage's API, never another's
        assert csp["script-src"] == ["'self'", clerk, "https://challenges.cloudflare.com"]
        assert csp["frame-ancestors"] == ["'none'"]
    functions = {r.inputs["name"] for r in res if r.type == "aws:lambda/function:Function"}
    assert {f"reggie-{stack}-web-invalidate", f"reggie-{stack}-admin-invalidate"} <= functions
    lifecycles = {r.name: r.inputs for r in res if r.type.endswith("BucketLifecycleConfiguration")}
    assert lifecycles["web-logs-lifecycle"]["rules"][0]["expiration"]["days"] == log_days
    groups = [r for r in res if r.type == "aws:cloudwatch/logGroup:LogGroup" and "invalidate" in r.inputs["name"]]
    assert {g.inputs["retentionInDays"] for g in groups} == {log_days}
    # each site's certificate through its us-east-1 provider; the API's stays regional
    providers = {r.urn: r for r in res if r.type == "pulumi:providers:aws"}
    assert sorted((p.name, p.inputs["region"]) for p in providers.values()) == [
        ("admin-us-east-1", "us-east-1"),
        ("web-us-east-1", "us-east-1"),
    ]
    by_provider = {
        r.inputs["domainName"]: plans[stack].options[r.urn].provider
        for r in res
        if r.type == "aws:acm/certificate:Certificate"
    }
    assert by_provider[web].endswith("StaticSite$pulumi:providers:aws::web-us-east-1")
    assert by_provider[admin].endswith("StaticSite$pulumi:providers:aws::admin-us-east-1")
    assert by_provider[api.removeprefix("https://")] == ""
    # the sample build is what is uploaded
    keys = {r.inputs["key"] for r in res if r.type == "aws:s3/bucketObjectv2:BucketObjectv2"}
    assert "assets/index-B3xk9Q2a.js" in keys
    assert [v for v in evaluate(res) if v.enforcement == "mandatory"] == []


def test_the_stacks_export_the_site_urls() -> None:
    from infra.wiring import build_platform

    class Config:
        def get(self, key: str) -> str | None:
            return {**BUILDS, "cloudflareZoneId": "3f2c" * 8, "cloudflareAccountId": "9a1b" * 8}.get(key)

        def get_secret(self, key: str) -> pulumi.Output[str] | None:
            return pulumi.Output.secret("s3cret")

    seen: dict[str, str] = {}

    def program() -> None:
        stage = load_stage(Config(), stack="staging", aws_region="eu-west-2", sites=discover())
        for name, url in build_platform(stage).site_urls.items():
            url.apply(lambda value, name=name: seen.__setitem__(name, value))

    run_program(program, stack="staging")
    assert seen == {"web": "https://staging.reggie.co.uk", "admin": "https://staging-admin.reggie.co.uk"}


def test_the_admin_site_can_be_limited_to_the_admins_networks() -> None:
    res = record_plan("production", {**BUILDS, "adminAllowedNetworks": "203.0.113.0/24, 198.51.100.7"}).resources
    (lockdown,) = [r for r in res if r.type == "cloudflare:index/zoneLockdown:ZoneLockdown"]
    assert lockdown.parent is not None
    assert lockdown.parent.endswith("StaticSite::admin")
    assert lockdown.inputs["urls"] == ["admin.reggie.co.uk", "admin.reggie.co.uk/*"]
    assert lockdown.inputs["configurations"] == [
        {"target": "ip_range", "value": "203.0.113.0/24"},
        {"target": "ip", "value": "198.51.100.7"},
    ]


class _Source:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        return pulumi.Output.secret("s3cret")


def _stage(stack: str, values: Mapping[str, str]):
    shared = stack in ("production", "staging")
    # their alarms must reach someone, their DNS and R2 need the real Cloudflare ids
    facts = {"alarmEmail": "ops@example.com", "cloudflareZoneId": "3f2c" * 8, "cloudflareAccountId": "9a1b" * 8}
    given = {**facts, **values} if shared else values
    return load_stage(_Source(given), stack=stack, aws_region="eu-west-2", sites=discover())


def test_production_and_staging_refuse_to_run_without_a_site_build() -> None:
    with pytest.raises(StageConfigError, match=r"reggie:adminBuildDir=<unset>.*production serves the admin site"):
        _stage("production", {"webBuildDir": str(SAMPLE)})
    with pytest.raises(StageConfigError, match=r"reggie:webBuildDir=<unset>.*staging serves the web site"):
        _stage("staging", {"adminBuildDir": str(SAMPLE)})


def test_a_missing_build_folder_stops_the_preview_naming_the_key_and_the_folder(tmp_path: Path) -> None:
    # A preview must predict the update, and an update without the build would delete the live site's files.
    missing = tmp_path / "web" / "dist"
    with pytest.raises(StageConfigError, match=rf"reggie:webBuildDir={missing}: .*{missing} must hold the site"):
        _stage("production", {**BUILDS, "webBuildDir": str(missing)})
    (tmp_path / "src").mkdir()
    with pytest.raises(StageConfigError, match=r"index.html at its top"):
        _stage("staging", {**BUILDS, "adminBuildDir": str(tmp_path / "src")})
    out, err = io.StringIO(), io.StringIO()
    code = plan.main(["--stack", "production", "--config", f"reggie:webBuildDir={missing}"], out=out, err=err)
    assert code == 2
    assert err.getvalue().startswith(f"error: config reggie:webBuildDir={missing}: not allowed;")


def test_relative_build_folders_are_read_from_the_project() -> None:
    relative = str(SAMPLE.relative_to(Path(plan.REPO_ROOT)))
    stage = _stage("production", {"webBuildDir": relative, "adminBuildDir": relative})
    assert stage.sites["web"].build_dir == SAMPLE


def test_a_personal_stage_serves_only_the_sites_it_is_given() -> None:
    bare = _stage("dev-alice", {})
    assert bare.sites == {}
    assert bare.allowed_origins == ("http://localhost:3000", "http://localhost:5173")
    web = _stage("dev-alice", {"webBuildDir": str(SAMPLE)})
    assert list(web.sites) == ["web"]
    assert web.sites["web"].host == "dev-alice.reggie.co.uk"
    assert "https://dev-alice.reggie.co.uk" in web.allowed_origins  # its own site may call its API
    with pytest.raises(StageConfigError, match=r"would serve another stage's hosts"):
        _stage("admin", {"webBuildDir": str(SAMPLE)})


def test_a_personal_stage_site_calls_its_execute_api_url() -> None:
    res = record_plan("dev-alice", {"webBuildDir": str(SAMPLE)}).resources
    assert list(_by_site(res, DISTRIBUTION)) == ["web"]
    (api,) = [r for r in res if r.type == "aws:apigatewayv2/api:Api"]
    csp = _csp(res, "web")  # no API domain on this stage: the execute-api URL
    assert csp["connect-src"][1].endswith(".execute-api.eu-west-2.amazonaws.com")
    assert api.inputs["corsConfiguration"]["allowOrigins"][-1] == "https://dev-alice.reggie.co.uk"
    assert [v for v in evaluate(res) if v.enforcement == "mandatory"] == []


def test_the_offline_plan_stands_in_for_a_build_this_clone_lacks() -> None:
    config, _secrets = plan.load_config("staging")
    assert config["reggie:webBuildDir"] == config["reggie:adminBuildDir"] == str(SITE_STAND_IN)
    assert (SITE_STAND_IN / "index.html").is_file()
    given, _ = plan.load_config("staging", {"reggie:webBuildDir": str(SAMPLE)})
    assert given["reggie:webBuildDir"] == str(SAMPLE)
    personal, _ = plan.load_config("dev-alice")
    assert "reggie:webBuildDir" not in personal  # a personal stage skips the sites instead


def test_site_keys_are_known_and_typos_are_caught() -> None:
    check_known_keys(["webBuildDir", "adminAllowedNetworks"], (), sites=["web", "admin"])
    with pytest.raises(StageConfigError, match="did you mean reggie:adminAllowedNetworks"):
        check_known_keys(["adminAllowed"], (), sites=["web", "admin"])
    with pytest.raises(StageConfigError, match=r"reggie:adminAllowedNetworks=.*IPv4 /16 or /24"):
        _stage("production", {**BUILDS, "adminAllowedNetworks": "203.0.112.0/20"})


def test_a_stage_without_an_api_leaves_it_out_of_the_csp() -> None:
    settings = SiteSettings(discover()[1], "reggie.co.uk", SAMPLE, ())
    seen: list[str] = []

    def program() -> None:
        site_csp(settings, {"api": None, "clerk": "https://clerk.reggie.co.uk", "documents": ""}).apply(seen.append)

    run_program(program, stack="dev-x")
    directives = dict(d.split(" ", 1) for d in seen[0].split("; ") if " " in d)
    assert directives["connect-src"] == "'self' https://clerk.reggie.co.uk"
    assert render_csp({"frame-src": ["{api}"]}, {"api": ""}) == "frame-src 'none'"


def _spec(**overrides: Any) -> SiteSpec:
    return SiteSpec(**({"name": "docs", "label": "docs", "description": "Docs", "csp": app_csp()} | overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Docs"}, "name"),
        ({"name": "my_docs"}, "name"),
        ({"label": "Docs.Site"}, "label"),
        ({"label": "api"}, "collide"),
        ({"label": "staging-docs"}, "collide"),
        ({"label": "admin"}, "already admin's host"),
        ({"description": " "}, "description"),
        ({"routing": "ssr"}, "routing"),
        ({"immutable_paths": ("/assets/",)}, "immutable_paths"),
        ({"csp": {"script-src": ["'self'"]}}, "default-src"),
        ({"csp": app_csp({"script-eval": ["'self'"]})}, "not a CSP directive"),
        ({"csp": app_csp({"script-src": ["self"]})}, "not a CSP source"),
        ({"csp": app_csp({"connect-src": ["{stripe}"]})}, r"not a stage origin \({api}, {clerk}, {documents}\)"),
        ({"csp": {**app_csp(), "upgrade-insecure-requests": ("'self'",)}}, "takes no sources"),
        ({"csp": {**app_csp(), "img-src": ()}}, "needs at least one source"),
    ],
)
def test_a_bad_site_spec_is_refused_naming_the_site_and_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SiteSpecError, match=message):
        validate([*discover(), _spec(**overrides)])


def test_app_csp_extends_without_repeating() -> None:
    extended = app_csp({"connect-src": ["{api}", "https://api.stripe.com"], "media-src": ["'self'"]})
    assert extended["connect-src"] == ("'self'", "{api}", "{clerk}", "{documents}", "https://api.stripe.com")
    assert extended["media-src"] == ("'self'",)
    assert json.dumps(validate([_spec(csp=extended)])[0].csp)  # a valid spec
