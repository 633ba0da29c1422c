"""The stage object: the DESIGN.md matrix per stack kind, overrides within limits, one clear error otherwise."""

from __future__ import annotations

import runpy

import pulumi
import pytest

from infra.config import (
    PLACEHOLDER_SECRET,
    StageConfigError,
    check_known_keys,
    load_stage,
    secret_names,
    service_settings,
)
from infra.mocks import run_program
from infra.plan import PROGRAM, load_config
from infra.service_spec import Setting

STORED_TODAY = {
    "clerk_secret_key",
    "clerk_webhook_secret",
    "stripe_secret_key",
    "stripe_webhook_secret",
    "r2_access_key_id",
    "r2_secret_access_key",
    "resend_api_key",
    "dvla_api_key",
    "app_signing_key",
}
"""The secrets every stage stored before they were derived from the specs (none may disappear)."""


class FakeConfig:
    """A `pulumi.Config`-shaped source over a plain dict (secrets included)."""

    def __init__(self, values: dict[str, str] | None = None, with_secrets: bool = True) -> None:
        self.values = dict(values or {})
        self.with_secrets = with_secrets

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        if key in self.values:
            return pulumi.Output.secret(self.values[key])
        return pulumi.Output.secret("s3cret") if self.with_secrets else None


FACTS = {"production": {"alarmEmail": "ops@reggie.co.uk"}}
"""What each stage's Pulumi.<stack>.yaml must hold (a test unsets one with an empty value)."""
ZONE_ID, ACCOUNT_ID = "3f2c" * 8, "9a1b" * 8
CLOUDFLARE_IDS = {"cloudflareZoneId": ZONE_ID, "cloudflareAccountId": ACCOUNT_ID}
"""What production and staging are configured with (they refuse to deploy without the real ids)."""


def _stage(
    stack: str, values: dict[str, str] | None = None, with_secrets: bool = True, secrets: tuple[str, ...] | None = None
):
    given = {**CLOUDFLARE_IDS, **FACTS.get(stack, {})} if stack in ("production", "staging") else {}
    config = FakeConfig(given | (values or {}), with_secrets)
    return load_stage(config, stack=stack, aws_region="eu-west-2", secrets=secrets)


def test_production_row_of_the_matrix() -> None:
    s = _stage("production")
    assert s.kind == "production"
    assert (s.aurora_min_acu, s.aurora_max_acu) == (0.5, 4)
    assert s.backup_retention_days == 14
    assert s.deletion_protection is True
    assert s.skip_final_snapshot is False
    assert s.retain_on_delete is True
    assert (s.nat_mode, s.nat_count) == ("instance", 2)
    assert s.log_retention_days == 90
    assert s.api_domain == "api.reggie.co.uk"
    assert s.availability_zones == ("eu-west-2a", "eu-west-2b")
    assert s.snap_start is True
    # day-2 rows: a failover reader, alarms that reach a person, NATs that replace themselves
    assert s.aurora_failover_reader is True
    assert (s.alarms, s.alarm_email) == (True, "ops@reggie.co.uk")
    assert s.nat_healing == "replace"


def test_staging_row_of_the_matrix() -> None:
    s = _stage("staging")
    assert (s.aurora_min_acu, s.aurora_max_acu) == (0.5, 2)
    assert s.backup_retention_days == 7
    assert (s.deletion_protection, s.skip_final_snapshot, s.retain_on_delete) == (True, False, False)
    assert s.nat_count == 2
    assert s.log_retention_days == 30
    assert s.api_domain == "staging-api.reggie.co.uk"
    assert s.snap_start is True
    assert s.aurora_failover_reader is False
    assert (s.alarms, s.alarm_email) == (True, None)  # an email is optional here (Pulumi.staging.yaml sets one)
    assert s.nat_healing == "replace"


def test_personal_row_of_the_matrix_and_placeholder_secrets() -> None:
    s = _stage("dev-demo", with_secrets=False)
    assert s.kind == "personal"
    assert (s.aurora_min_acu, s.aurora_max_acu) == (0, 2)
    assert s.backup_retention_days == 1
    assert (s.deletion_protection, s.skip_final_snapshot, s.retain_on_delete) == (False, True, False)
    assert s.snap_start is False
    assert s.nat_count == 1
    assert s.log_retention_days == 7
    assert s.api_domain is None
    assert (s.network_mode, s.network_stack) == ("shared", "dev-network")
    assert set(s.secrets) == set(secret_names()) == STORED_TODAY
    assert _stage("dev-demo", {"personalApiDomain": "true"}).api_domain == "dev-demo-api.reggie.co.uk"
    assert (s.aurora_failover_reader, s.alarms, s.alarm_email, s.nat_healing) == (False, False, None, "none")


def test_a_personal_stage_gets_alarms_only_when_asked() -> None:
    asked = _stage("dev-demo", {"alarms": "true", "alarmEmail": "Me@Example.COM"})
    assert (asked.alarms, asked.alarm_email) == (True, "Me@example.com")  # the domain is case-insensitive
    assert _stage("dev-demo", {"alarms": "true"}).alarm_email is None
    healing = _stage("dev-demo", {"network": "own", "natHealing": "replace", "auroraReader": "true"})
    assert (healing.nat_healing, healing.aurora_failover_reader) == ("replace", True)
    assert _stage("staging", {"auroraReader": "true"}).aurora_failover_reader is True


def test_personal_network_is_shared_by_default_or_its_own() -> None:
    assert _stage("dev-demo", {"networkStack": "acme/reggie/dev-network"}).network_stack == "acme/reggie/dev-network"
    own = _stage("dev-demo", {"network": "own"})
    assert (own.network_mode, own.network_stack, own.nat_count) == ("own", None, 1)
    assert (_stage("production").network_mode, _stage("staging").network_mode) == ("own", "own")


def test_a_network_stack_owns_one_nat_and_needs_no_secrets() -> None:
    s = _stage("dev-network", with_secrets=False)
    assert (s.kind, s.network_mode, s.nat_count, s.log_retention_days) == ("network", "own", 1, 7)
    assert dict(s.secrets) == {}
    assert (s.nat_healing, s.alarms) == ("replace", False)  # every personal stage's egress: it heals


def test_overrides_within_limits_are_honoured() -> None:
    s = _stage("production", {"auroraMaxAcu": "8", "natMode": "gateway", "natCount": "1", "logRetentionDays": "365"})
    assert (s.aurora_max_acu, s.nat_mode, s.nat_count, s.log_retention_days) == (8, "gateway", 1, 365)


@pytest.mark.parametrize(
    ("stack", "values", "key", "allowed"),
    [
        ("production", {"auroraMaxAcu": "0.25"}, "reggie:auroraMaxAcu=0.25", "multiple of 0.5 from 1 to 256"),
        ("production", {"auroraMaxAcu": "lots"}, "reggie:auroraMaxAcu=lots", "multiple of 0.5"),
        ("production", {"auroraMinAcu": "0"}, "reggie:auroraMinAcu=0", "only in personal stages"),
        ("staging", {"auroraMinAcu": "2", "auroraMaxAcu": "1"}, "reggie:auroraMaxAcu=1", "at least auroraMinAcu"),
        ("production", {"natMode": "box"}, "reggie:natMode=box", "instance, gateway, none"),
        ("production", {"natCount": "3"}, "reggie:natCount=3", "1 (shared) or 2"),
        ("production", {"backupRetentionDays": "7"}, "reggie:backupRetentionDays=7", "from 14 to 35"),
        ("dev-demo", {"logRetentionDays": "10"}, "reggie:logRetentionDays=10", "CloudWatch retention"),
        ("dev-demo", {"network": "peered"}, "reggie:network=peered", "one of own, shared"),
        ("staging", {"network": "shared"}, "reggie:network=shared", "only in personal stages"),
        ("dev-demo", {"networkStack": "a/b/c/d"}, "reggie:networkStack=a/b/c/d", "<org>/reggie/dev-network"),
        ("dev-demo", {"allowedOrigins": "*"}, "reggie:allowedOrigins=*", "no *"),
        ("dev-demo", {"cloudflareZoneId": "zone"}, "reggie:cloudflareZoneId=zone", "32-character hex"),
        ("Dev_Demo", {}, "reggie:stack=Dev_Demo", "lowercase"),
        ("production", {"snapStart": "sometimes"}, "reggie:snapStart=sometimes", "true or false"),
        ("production", {"alarmEmail": ""}, "reggie:alarmEmail=<unset>", "must reach a person"),
        ("production", {"alarmEmail": "ops at reggie"}, "reggie:alarmEmail=ops at reggie", "one email address"),
        ("staging", {"alarmEmail": "a@b.com,c@d.com"}, "reggie:alarmEmail=a@b.com,c@d.com", "one email address"),
        ("production", {"alarms": "false"}, "reggie:alarms=false", "always has its alarms"),
        ("dev-demo", {"alarmEmail": "me@example.com"}, "reggie:alarmEmail=me@example.com", "alarms true as well"),
        ("production", {"auroraReader": "false"}, "reggie:auroraReader=false", "keeps its failover reader"),
        ("staging", {"natHealing": "none"}, "reggie:natHealing=none", "always heal themselves"),
        ("dev-demo", {"natHealing": "recover"}, "reggie:natHealing=recover", "one of replace, none"),
        ("production", {"apiThrottleStandard": "100"}, "reggie:apiThrottleStandard=100", "like 100/200"),
        ("production", {"apiThrottleWebhook": "fast/10"}, "reggie:apiThrottleWebhook=fast/10", "requests per second"),
        ("staging", {"apiThrottleCostly": "0/10"}, "reggie:apiThrottleCostly=0/10", "at most 10000/5000"),
        ("staging", {"apiThrottleStandard": "20000/100"}, "reggie:apiThrottleStandard=20000/100", "at most 10000/5000"),
        ("dev-demo", {"apiThrottleWebhook": "5/0"}, "reggie:apiThrottleWebhook=5/0", "at most 10000/5000"),
        ("production", {"apiThrottleCostly": "200/20"}, "reggie:apiThrottleCostly=200/20", "no looser than the other"),
        ("production", {"cloudflarePlan": "gold"}, "reggie:cloudflarePlan=gold", "free, pro, business, enterprise"),
        ("production", {"rateLimitPeriod": "120"}, "reggie:rateLimitPeriod=120", "Pro plan counts over 10 s, 60 s"),
        (
            "production",
            {"cloudflarePlan": "free", "rateLimitPeriod": "60"},
            "reggie:rateLimitPeriod=60",
            "Free plan counts over 10 s",
        ),
        ("production", {"rateLimitRequests": "0"}, "reggie:rateLimitRequests=0", "a whole number from 1"),
        ("production", {"rateLimitRequests": "lots"}, "reggie:rateLimitRequests=lots", "a whole number from 1"),
        (
            "staging",
            {"rateLimitRequests": "20", "rateLimitCostlyRequests": "30"},
            "reggie:rateLimitCostlyRequests=30",
            "no more than reggie:rateLimitRequests (20)",
        ),
        ("production", {"rateLimitOwner": "Prod!"}, "reggie:rateLimitOwner=Prod!", "a stack name"),
        ("production", {"rateLimitOwner": "dev-network"}, "reggie:rateLimitOwner=dev-network", "deploys the API"),
        ("dev-demo", {"rateLimitOwner": "dev-demo"}, "reggie:rateLimitOwner=dev-demo", "set reggie:cloudflareZoneId"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(
    stack: str, values: dict[str, str], key: str, allowed: str
) -> None:
    with pytest.raises(StageConfigError) as caught:
        _stage(stack, values)
    message = str(caught.value)
    assert key in message
    assert allowed in message
    assert "\n" not in message


def test_limits_per_client_default_by_stage_and_zone_plan_and_honour_overrides() -> None:
    production, personal = _stage("production"), _stage("dev-demo")
    assert {budget: (t.rate, t.burst) for budget, t in production.api_throttles.items()} == {
        "standard": (100, 200),
        "costly": (10, 20),
        "webhook": (25, 50),
    }
    assert (personal.api_throttles["standard"].rate, personal.api_throttles["webhook"].burst) == (20, 10)
    limits = production.rate_limits
    assert (limits.owner, limits.plan, limits.period_s, limits.requests, limits.costly_requests) == (
        "production", "pro", 60, 600, 30
    )  # fmt: skip
    assert personal.rate_limits.owner == "production"  # the same owner for every stack: only it declares the rules
    # a shorter period scales the defaults; explicit numbers win
    assert _stage("staging", {"rateLimitPeriod": "10"}).rate_limits.requests == 100  # 600 a minute, over 10 s
    given = _stage("production", {"apiThrottleWebhook": "40/80", "rateLimitRequests": "900", "rateLimitOwner": "none"})
    assert (given.api_throttles["webhook"].rate, given.api_throttles["webhook"].burst) == (40, 80)
    assert (given.rate_limits.requests, given.rate_limits.owner) == (900, None)
    # a personal stage may own the zone's rules once it has the real zone id
    assert (
        _stage("dev-demo", {"rateLimitOwner": "dev-demo", "cloudflareZoneId": ZONE_ID}).rate_limits.owner == "dev-demo"
    )


def test_shared_stages_require_every_secret() -> None:
    with pytest.raises(StageConfigError, match=r"reggie:appSigningKey=<unset>.*--secret"):  # the first, by name
        _stage("staging", with_secrets=False)


def test_the_secrets_a_stage_stores_are_the_ones_the_specs_link() -> None:
    assert set(secret_names()) == STORED_TODAY
    assert set(_stage("production").secrets) == STORED_TODAY


def test_a_secret_only_a_new_service_links_is_required_outside_personal_stages() -> None:
    names = ("pager_token",)
    with pytest.raises(StageConfigError, match=r"reggie:pagerToken=<unset>.*config set --secret reggie:pagerToken"):
        _stage("production", with_secrets=False, secrets=names)
    given = _stage("production", {"pagerToken": "tok"}, with_secrets=False, secrets=names)
    assert set(given.secrets) == {"pager_token"}
    seen: list[str] = []

    def program() -> None:
        personal = _stage("dev-demo", with_secrets=False, secrets=names)
        pulumi.Output.from_input(personal.secrets["pager_token"]).apply(seen.append)

    run_program(program, stack="dev-demo")
    assert seen == [PLACEHOLDER_SECRET]


def test_a_secret_whose_key_is_a_stage_setting_is_refused() -> None:
    with pytest.raises(StageConfigError, match=r"reggie:domain=.*Secret\('domain'\)"):
        _stage("dev-demo", secrets=("domain",))


def test_secret_keys_are_known_config_keys_and_typos_are_refused() -> None:
    check_known_keys(["stripeSecretKey", "auroraMaxAcu"], secret_names())
    check_known_keys(["pagerToken"], ("pager_token",))
    with pytest.raises(StageConfigError, match="did you mean reggie:stripeSecretKey"):
        check_known_keys(["stripeSecret"], secret_names())
    with pytest.raises(StageConfigError, match="no such key"):
        check_known_keys(["pagerToken"], secret_names())


def test_linked_settings_are_read_from_config_with_their_defaults() -> None:
    assert {s.name for s in service_settings()} == {
        "auction_event_ids",
        "auction_results_url_template",
        "max_open_claims",
        "max_claim_documents",
    }
    assert _stage("production").settings == {
        "auction_event_ids": "",
        "auction_results_url_template": "",
        "max_open_claims": "",
        "max_claim_documents": "",
    }
    assert _stage("staging", {"maxOpenClaims": "3"}).settings["max_open_claims"] == "3"
    configured = _stage("staging", {"auctionEventIds": "1234, 1240 1251"})
    assert configured.settings["auction_event_ids"] == "1234, 1240 1251"
    rota = Setting("pager_rota", default="weekdays", pattern="weekdays|always", allowed="weekdays or always")
    stage = load_stage(FakeConfig({}), stack="dev-demo", aws_region="eu-west-2", settings=(rota,))
    assert stage.settings == {"pager_rota": "weekdays"}


@pytest.mark.parametrize(
    ("values", "key", "allowed"),
    [
        ({"auctionEventIds": "1234;DROP"}, "reggie:auctionEventIds=1234;DROP", "separated by commas or spaces"),
        (
            {"auctionResultsUrlTemplate": "http://dvlaauction.co.uk/{event_id}"},
            "reggie:auctionResultsUrlTemplate=http://",
            "an https URL with {event_id} once",
        ),
        ({"auctionResultsUrlTemplate": "https://example.com/results"}, "auctionResultsUrlTemplate", "{event_id}"),
        ({"maxOpenClaims": "0"}, "reggie:maxOpenClaims=0", "a whole number from 1 to 99"),
        ({"maxClaimDocuments": "five"}, "reggie:maxClaimDocuments=five", "a whole number from 1 to 99"),
    ],
)
def test_a_bad_setting_value_names_its_key_and_what_is_allowed(values: dict[str, str], key: str, allowed: str) -> None:
    with pytest.raises(StageConfigError) as caught:
        _stage("production", values)
    assert key in str(caught.value)
    assert allowed in str(caught.value)


def test_setting_keys_are_known_and_cannot_shadow_a_stage_setting_or_a_secret() -> None:
    check_known_keys(["auctionEventIds"], secret_names(), ("auction_event_ids",))
    with pytest.raises(StageConfigError, match="did you mean reggie:auctionEventIds"):
        check_known_keys(["auctionEvents"], secret_names(), ("auction_event_ids",))
    with pytest.raises(StageConfigError, match=r"reggie:domain=.*Setting\('domain'\).*already taken"):
        load_stage(FakeConfig({}), stack="dev-demo", aws_region="eu-west-2", settings=(Setting("domain"),))
    with pytest.raises(StageConfigError, match=r"Setting\('resend_api_key'\).*already taken"):
        load_stage(FakeConfig({}), stack="dev-demo", aws_region="eu-west-2", settings=(Setting("resend_api_key"),))


@pytest.mark.parametrize("stack", ["production", "staging"])
@pytest.mark.parametrize("key", ["cloudflareZoneId", "cloudflareAccountId"])
@pytest.mark.parametrize("given", [None, "", "0" * 32], ids=["unset", "empty", "placeholder"])
def test_production_and_staging_refuse_a_missing_or_placeholder_cloudflare_id(
    stack: str, key: str, given: str | None
) -> None:
    values = {k: v for k, v in {**CLOUDFLARE_IDS, **FACTS.get(stack, {})}.items() if k != key}
    if given is not None:
        values[key] = given
    with pytest.raises(StageConfigError) as caught:
        load_stage(FakeConfig(values), stack=stack, aws_region="eu-west-2")
    message = str(caught.value)
    shown = "0" * 32 if given else "<unset>"
    assert message.startswith(f"config reggie:{key}={shown}: not allowed; {stack} needs the real Cloudflare ")
    assert f"`pulumi config set reggie:{key} <id> --stack {stack}`" in message
    assert "\n" not in message


def test_real_cloudflare_ids_reach_the_stage_and_personal_stages_plan_without_them() -> None:
    s = _stage("production")
    assert (s.cloudflare_zone_id, s.cloudflare_account_id) == (ZONE_ID, ACCOUNT_ID)
    personal = _stage("dev-demo", with_secrets=False)
    assert personal.cloudflare_account_id == "0" * 32  # offline plans work; R2 needs the real one to deploy


def test_the_whole_program_stops_with_the_one_line() -> None:
    """Run as `pulumi up` would, with the project's Pulumi.yaml, which holds no Cloudflare ids: `__main__.py`
    loads the stage before it declares anything, so the refusal comes before any resource reaches AWS."""
    config, secret_keys = load_config("staging")
    for key in ("reggie:cloudflareZoneId", "reggie:cloudflareAccountId"):
        config.pop(key)  # what the offline plan stands in for; a real run has nothing there

    def program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__pulumi_main__")

    with pytest.raises(StageConfigError, match=r"^config reggie:cloudflareZoneId=<unset>: not allowed; staging"):
        run_program(program, stack="staging", config=config, secret_keys=tuple(secret_keys))
