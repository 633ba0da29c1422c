"""HttpApi under mocks: explicit routes, proxy integrations, scoped permissions, logs, the custom domain."""

from __future__ import annotations

import json

import pytest

from components import ComponentArgsError, CustomDomain, HttpApi, HttpApiArgs, LambdaTarget, Route, Throttle
from tests.components.helpers import children_of, component, of_type, one, run

FN_ARN = "arn:aws:lambda:eu-west-2:123456789012:function:reggie-test-api"


def _args(**overrides: object) -> HttpApiArgs:
    base: dict[str, object] = {
        "api_name": "reggie-test-api",
        "targets": [
            LambdaTarget("api", FN_ARN, "reggie-test-api", [Route("GET", "/health"), Route("POST", "/offers/{id}")])
        ],
        "cors_allowed_origins": ["https://reggie.co.uk"],
        "access_log_retention_days": 30,
    }
    return HttpApiArgs(**(base | overrides))  # type: ignore[arg-type]


def test_api_without_domain_keeps_execute_api_endpoint() -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        api = HttpApi("http", _args())
        api.url.apply(lambda v: seen.__setitem__("url", v))

    res = run(program).resources
    comp = component(res, "reggie:components:HttpApi")
    assert {r.urn for r in res if r.custom} == {r.urn for r in children_of(res, comp)}
    api = one(res, "aws:apigatewayv2/api:Api").inputs
    assert api["protocolType"] == "HTTP"
    assert api["disableExecuteApiEndpoint"] is False
    assert api["corsConfiguration"]["allowOrigins"] == ["https://reggie.co.uk"]
    assert api["corsConfiguration"]["allowMethods"] == ["GET", "POST", "OPTIONS"]

    stage = one(res, "aws:apigatewayv2/stage:Stage").inputs
    assert stage["name"] == "$default"
    assert stage["autoDeploy"] is True
    assert stage["accessLogSettings"]["destinationArn"].startswith("arn:aws:logs:")
    assert json.loads(stage["accessLogSettings"]["format"])["requestId"] == "$context.requestId"
    assert stage["defaultRouteSettings"]["throttlingBurstLimit"] == 200
    assert stage["defaultRouteSettings"]["detailedMetricsEnabled"] is False  # per-route metrics are billed
    assert one(res, "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 30

    integration = one(res, "aws:apigatewayv2/integration:Integration").inputs
    assert integration["integrationType"] == "AWS_PROXY"
    assert integration["payloadFormatVersion"] == "2.0"
    assert integration["integrationUri"] == FN_ARN
    routes = {r.inputs["routeKey"]: r.inputs["target"] for r in of_type(res, "aws:apigatewayv2/route:Route")}
    assert set(routes) == {"GET /health", "POST /offers/{id}"}
    assert all(t.startswith("integrations/") for t in routes.values())

    permission = one(res, "aws:lambda/permission:Permission").inputs
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceArn"].startswith("arn:aws:execute-api:eu-west-2:123456789012:")
    assert permission["sourceArn"].endswith("/*/*")
    assert "qualifier" not in permission
    assert of_type(res, "cloudflare:index/dnsRecord:DnsRecord") == []
    assert seen["url"].startswith("https://")
    assert "execute-api" in seen["url"]


def test_custom_domain_is_validated_through_cloudflare_and_proxied() -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        api = HttpApi("http", _args(domain=CustomDomain("api.reggie.co.uk", "a" * 32)))
        api.url.apply(lambda v: seen.__setitem__("url", v))

    res = run(program).resources
    assert one(res, "aws:apigatewayv2/api:Api").inputs["disableExecuteApiEndpoint"] is True
    cert = one(res, "aws:acm/certificate:Certificate").inputs
    assert cert["domainName"] == "api.reggie.co.uk"
    assert cert["validationMethod"] == "DNS"
    records = {r.name: r.inputs for r in of_type(res, "cloudflare:index/dnsRecord:DnsRecord")}
    validation = records["http-cert-validation"]
    assert validation["proxied"] is False
    assert validation["type"] == "CNAME"
    assert validation["content"].endswith("acm-validations.aws")
    cname = records["http-cname"]
    assert cname["proxied"] is True
    assert cname["name"] == "api.reggie.co.uk"
    assert cname["content"].startswith("d-")
    assert cname["zoneId"] == "a" * 32
    one(res, "aws:acm/certificateValidation:CertificateValidation")
    domain = one(res, "aws:apigatewayv2/domainName:DomainName").inputs
    assert domain["domainNameConfiguration"]["endpointType"] == "REGIONAL"
    assert domain["domainNameConfiguration"]["securityPolicy"] == "TLS_1_2"
    one(res, "aws:apigatewayv2/apiMapping:ApiMapping")
    assert seen["url"] == "https://api.reggie.co.uk"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cors_allowed_origins": ["*"]}, "cors_allowed_origins"),
        ({"targets": [LambdaTarget("a", FN_ARN, "f", [Route("ANY", "/x")])]}, "not ANY"),
        ({"targets": [LambdaTarget("a", FN_ARN, "f", [Route("GET", "/x"), Route("GET", "/x")])]}, "twice"),
        ({"targets": [LambdaTarget("a", FN_ARN, "f", [Route("GET", "no-slash")])]}, "route path"),
        ({"access_log_retention_days": 0}, "access_log_retention_days"),
        ({"domain": CustomDomain("Not A Domain", "z")}, "domain"),
        (
            {"targets": [LambdaTarget("a", FN_ARN, "f", [Route("GET", "/a-b"), Route("GET", "/a/b")])]},
            r"would be 'GET /a-b''s \(get-a-b\)",
        ),
        # One role per kind: the validation record and the public CNAME are two roles now.
        ({"transforms": {"dns_record": lambda *_: None}}, "dns_record.*domain_record.*validation_record"),
    ],
)
def test_bad_arguments_are_rejected_up_front(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ComponentArgsError, match=message):
        _args(**overrides)


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [
        (0, 10, r"Throttle.rate: 0 is outside 0-10000"),  # zero would close the route
        (10_001, 10, r"Throttle.rate: 10001 is outside"),  # above the account's own limit
        (float("nan"), 10, r"Throttle.rate: nan is outside"),
        (10, 0, r"Throttle.burst: 0 is outside 1-5000"),
        (10, 5001, r"Throttle.burst: 5001 is outside"),
    ],
)
def test_a_throttle_api_gateway_cannot_honour_is_refused(rate: float, burst: int, message: str) -> None:
    with pytest.raises(ComponentArgsError, match=message):
        Throttle(rate, burst)


def test_an_alias_target_is_integrated_and_permitted_by_its_qualifier() -> None:
    alias_arn = FN_ARN + ":live"
    target = LambdaTarget("api", alias_arn, "reggie-test-api", [Route("GET", "/health")], qualifier="live")
    res = run(lambda: HttpApi("http", _args(targets=[target]))).resources
    assert one(res, "aws:apigatewayv2/integration:Integration").inputs["integrationUri"] == alias_arn
    permission = one(res, "aws:lambda/permission:Permission").inputs
    assert (permission["function"], permission["qualifier"]) == ("reggie-test-api", "live")


def test_per_route_metrics_are_the_callers_choice() -> None:
    res = run(lambda: HttpApi("http", _args(detailed_metrics=True))).resources
    stage = one(res, "aws:apigatewayv2/stage:Stage").inputs
    assert stage["defaultRouteSettings"]["detailedMetricsEnabled"] is True


def test_a_route_with_its_own_throttle_gets_a_budget_apart_and_the_rest_share_the_default() -> None:
    hook, costly = Throttle(25, 50), Throttle(2, 5)
    routes = [
        Route("GET", "/health"),
        Route("POST", "/webhooks/stripe", hook),
        Route("POST", "/valuations", costly),
        Route("GET", "/health/deep", costly),
    ]
    target = LambdaTarget("api", FN_ARN, "reggie-test-api", routes)
    rec = run(lambda: HttpApi("http", _args(targets=[target], throttle=Throttle(100, 200), detailed_metrics=True)))
    stage = one(rec.resources, "aws:apigatewayv2/stage:Stage")
    default = stage.inputs["defaultRouteSettings"]
    assert (default["throttlingRateLimit"], default["throttlingBurstLimit"]) == (100, 200)
    settings = {s["routeKey"]: s for s in stage.inputs["routeSettings"]}
    assert {key: (s["throttlingRateLimit"], s["throttlingBurstLimit"]) for key, s in settings.items()} == {
        "POST /webhooks/stripe": (25, 50),
        "POST /valuations": (2, 5),
        "GET /health/deep": (2, 5),
    }
    # a route setting replaces the default for its route: it carries the metrics switch too
    assert all(s["detailedMetricsEnabled"] is True for s in settings.values())
    # API Gateway refuses a route setting for a route key it does not have yet: the stage waits for the routes
    route_urns = {r.urn for r in of_type(rec.resources, "aws:apigatewayv2/route:Route")}
    assert len(route_urns) == 4
    assert route_urns <= set(rec.options[stage.urn].dependencies)


def test_without_route_throttles_the_stage_has_no_route_settings_and_waits_for_nothing_extra() -> None:
    rec = run(lambda: HttpApi("http", _args()))
    stage = one(rec.resources, "aws:apigatewayv2/stage:Stage")
    assert "routeSettings" not in stage.inputs
    route_urns = {r.urn for r in of_type(rec.resources, "aws:apigatewayv2/route:Route")}
    assert not route_urns & set(rec.options[stage.urn].dependencies)
