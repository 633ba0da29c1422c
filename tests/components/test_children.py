"""The one door for children, across every component: each child passes its role's transform with SST's
``(args, opts, name)``, lands in ``nodes`` by role, keeps one role to one kind, and keyed children are named
by their key whatever order they come in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, get_args, get_type_hints

import pulumi
import pulumi_aws as aws
import pytest

from components import (
    Alarm,
    Alarms,
    AlarmsArgs,
    AuroraPostgres,
    AuroraPostgresArgs,
    Component,
    ComponentArgsError,
    ContainerImage,
    ContainerImageArgs,
    CustomDomain,
    Function,
    FunctionArgs,
    HttpApi,
    HttpApiArgs,
    LambdaTarget,
    Metric,
    MetricMath,
    Network,
    NetworkArgs,
    Probe,
    R2Bucket,
    R2BucketArgs,
    RateLimitRule,
    Route,
    Secrets,
    SecretsArgs,
    Transform,
    VpcPlacement,
    ZoneRateLimits,
    ZoneRateLimitsArgs,
    alarms,
    aurora,
    container_image,
    function,
    http_api,
    network,
    r2_bucket,
    secrets,
    zone_rate_limits,
)
from components._common import roles_of
from infra.mocks import Recording
from infra.planned import PlannedResource
from tests.components.helpers import children_of, of_type, one, run, watch_nodes, zip_code

FN_ARN = "arn:aws:lambda:eu-west-2:123456789012:function:reggie-test-api"
AZS = ("eu-west-2a", "eu-west-2b")

Hooks = Any
"""Transforms built at run time for every role of a component (so not one component's TypedDict)."""
Build = Callable[[Hooks], Component]


def _aurora(hooks: Hooks) -> Component:
    db = AuroraPostgres(
        "db",
        AuroraPostgresArgs(
            cluster_identifier="reggie-test-db",
            vpc_id="vpc-1",
            subnet_ids=["subnet-a", "subnet-b"],
            allowed_security_groups={"api": "sg-api"},
            failover_reader=True,
            availability_zones=AZS,
            transforms=hooks,
        ),
    )
    db.allow_from("worker", "sg-worker")
    return db


def _network(nat: network.NatMode, healing: network.NatHealing = "replace") -> Build:
    def build(hooks: Hooks) -> Component:
        args = NetworkArgs(availability_zones=AZS, nat=nat, nat_healing=healing, flow_logs=True, transforms=hooks)
        return Network("net", args)

    return build


def _alarms(hooks: Hooks) -> Component:
    errors = Metric("AWS/Lambda", "Errors", {"FunctionName": "reggie-test-api"})
    rate = MetricMath("100 * errors / calls", {"errors": errors, "calls": Metric("AWS/Lambda", "Invocations")}, "%")
    return Alarms(
        "ops",
        AlarmsArgs(
            name_prefix="reggie-test",
            region="eu-west-2",
            alarms=[
                Alarm("api-errors", "errors", "Errors: read the log.", errors, ">=", 1, "notBreaching"),
                Alarm("api-error-rate", "rate", "Error rate: read the log.", rate, ">", 5, "notBreaching"),
            ],
            email="ops@reggie.co.uk",
            probes=[Probe("api-health", FN_ARN + ":live", "reggie-test-api", "live", "{}", "health")],
            transforms=hooks,
        ),
    )


def _function(hooks: Hooks) -> Component:
    fn = Function(
        "api",
        FunctionArgs(
            function_name="reggie-test-api",
            code=zip_code(),
            log_retention_days=30,
            vpc=VpcPlacement("vpc-1", ["subnet-a", "subnet-b"]),
            snap_start=True,
            transforms=hooks,
        ),
    )
    fn.grant_invoke("invoke-valuation", FN_ARN)
    fn.grant_parameters_read("secrets", ["arn:aws:ssm:eu-west-2:123456789012:parameter/reggie/x"])
    database = aws.vpc.SecurityGroupIngressRule(
        "db-in-api", security_group_id="sg-db", ip_protocol="tcp", from_port=5432, to_port=5432
    )
    fn.reach("database", database)
    return fn


def _http_api(hooks: Hooks) -> Component:
    targets = [
        LambdaTarget("api", FN_ARN, "reggie-test-api", [Route("GET", "/health"), Route("POST", "/offers/{id}")]),
        LambdaTarget("admin", FN_ARN, "reggie-test-admin", [Route("GET", "/admin")]),
    ]
    return HttpApi(
        "http",
        HttpApiArgs(
            api_name="reggie-test-api",
            targets=targets,
            cors_allowed_origins=["https://reggie.co.uk"],
            access_log_retention_days=30,
            domain=CustomDomain("api.reggie.co.uk", "a" * 32),
            transforms=hooks,
        ),
    )


def _container_image(hooks: Hooks) -> Component:
    args = ContainerImageArgs(
        "reggie-test-valuation", ".", "services/valuation/Dockerfile", "src-0123", transforms=hooks
    )
    return ContainerImage("valuation", args)


def _r2_bucket(hooks: Hooks) -> Component:
    args = R2BucketArgs("reggie-test-documents", "f" * 32, ["https://reggie.co.uk"], transforms=hooks)
    return R2Bucket("docs", args)


def _secrets(hooks: Hooks) -> Component:
    values = {"stripe_api_key": "sk", "resend_api_key": "re"}
    return Secrets("sec", SecretsArgs(path="/reggie/test", values=values, transforms=hooks))


def _zone_rate_limits(hooks: Hooks) -> Component:
    rule = RateLimitRule("api", "every API route", 'http.host eq "api.reggie.co.uk"', 600, 60, 60)
    return ZoneRateLimits("limits", ZoneRateLimitsArgs("a" * 32, [rule], transforms=hooks))


@dataclass(frozen=True)
class Case:
    """A build of one component that, with the others of its module, reaches every role it declares."""

    module: Any
    transforms: type
    build: Build


CASES = {
    "aurora": Case(aurora, aurora.AuroraPostgresTransforms, _aurora),
    "network-instance": Case(network, network.NetworkTransforms, _network("instance")),
    "network-lone-instance": Case(network, network.NetworkTransforms, _network("instance", "none")),
    "network-gateway": Case(network, network.NetworkTransforms, _network("gateway")),
    "function": Case(function, function.FunctionTransforms, _function),
    "http-api": Case(http_api, http_api.HttpApiTransforms, _http_api),
    "container-image": Case(container_image, container_image.ContainerImageTransforms, _container_image),
    "r2-bucket": Case(r2_bucket, r2_bucket.R2BucketTransforms, _r2_bucket),
    "secrets": Case(secrets, secrets.SecretsTransforms, _secrets),
    "alarms": Case(alarms, alarms.AlarmsTransforms, _alarms),
    "zone-rate-limits": Case(zone_rate_limits, zone_rate_limits.ZoneRateLimitsTransforms, _zone_rate_limits),
}


@dataclass(frozen=True)
class Seen:
    role: str
    args: object
    name: str
    parent: object


@dataclass
class Run:
    recording: Recording
    component: PlannedResource
    children: list[PlannedResource]
    places: dict[str, str]
    """Child URN -> its place in ``nodes`` (``role`` or ``role[key]``)."""
    seen: list[Seen]
    built: Component


def _run_with_every_hook(case: Case) -> Run:
    """Build the case with a recording transform on every role of its component."""
    seen: list[Seen] = []
    places: dict[str, str] = {}
    built: list[Component] = []

    def hook(role: str) -> Transform[object]:
        def record(args: object, opts: pulumi.ResourceOptions, name: str) -> None:
            seen.append(Seen(role, args, name, opts.parent))

        return record

    def program() -> None:
        component = case.build({role: hook(role) for role in case.module.ROLES})
        watch_nodes(component, places)
        built.append(component)

    rec = run(program)
    (comp,) = [r for r in rec.resources if not r.custom and r.type.startswith("reggie:components:")]
    return Run(rec, comp, children_of(rec.resources, comp), places, seen, built[0])


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_every_child_passes_its_roles_transform_and_is_in_nodes(case: Case) -> None:
    result = _run_with_every_hook(case)
    assert result.children, "the build declares children"
    # nodes hold every child the component declared, and nothing else
    assert set(result.places) == {r.urn for r in result.children}
    # each child went through exactly its role's hook, once, with its own name, parented to the component
    by_name_and_role = {(s.name, s.role) for s in result.seen}
    assert len(by_name_and_role) == len(result.seen) == len(result.children)
    for child in result.children:
        role = result.places[child.urn].split("[", 1)[0]
        assert (child.name, role) in by_name_and_role, f"{child.urn} did not pass the {role!r} transform"
    assert all(s.parent is result.built for s in result.seen)
    # each hook got the args type its role declares (``Transform[aws.rds.ClusterArgs]``...)
    declared = get_type_hints(case.transforms)
    for s in result.seen:
        (expected_args, *_), _ = get_args(declared[s.role])
        assert isinstance(s.args, expected_args), f"{s.role}: got {type(s.args).__name__}"


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_one_role_names_one_kind_of_child(case: Case) -> None:
    result = _run_with_every_hook(case)
    types_by_role: dict[str, set[str]] = {}
    for child in result.children:
        types_by_role.setdefault(result.places[child.urn].split("[", 1)[0], set()).add(child.type)
    assert {role: len(kinds) for role, kinds in types_by_role.items()} == dict.fromkeys(types_by_role, 1)
    for role, node in result.built.nodes.items():
        if not isinstance(node, dict):  # a plain role holds one child, a keyed role one per key
            assert list(result.places.values()).count(role) == 1


def test_the_cases_reach_every_declared_role() -> None:
    reached: dict[str, set[str]] = {}
    for case in CASES.values():
        reached.setdefault(case.module.__name__, set()).update(_run_with_every_hook(case).built.nodes)
    for case in CASES.values():
        assert reached[case.module.__name__] == set(roles_of(case.transforms)), case.module.__name__


def test_a_transform_changes_args_and_opts_in_place_or_replaces_opts() -> None:
    def more_backups(args: aws.rds.ClusterArgs, opts: pulumi.ResourceOptions, name: str) -> None:
        assert name == "db-cluster"
        args.backup_retention_period = 30
        opts.protect = True  # in place: the component's own options (retain on delete) stay

    def protected_only(
        args: aws.rds.ClusterInstanceArgs, opts: pulumi.ResourceOptions, name: str
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(protect=True, parent=None)  # replaces opts; cannot move the child out

    def program() -> None:
        AuroraPostgres(
            "db",
            AuroraPostgresArgs(
                cluster_identifier="reggie-test-db",
                vpc_id="vpc-1",
                subnet_ids=["subnet-a"],
                retain_on_delete=True,
                transforms={"cluster": more_backups, "writer": protected_only},
            ),
        )

    rec = run(program)
    comp = one(rec.resources, "reggie:components:AuroraPostgres")
    cluster = one(rec.resources, "aws:rds/cluster:Cluster")
    writer = one(rec.resources, "aws:rds/clusterInstance:ClusterInstance")
    assert cluster.inputs["backupRetentionPeriod"] == 30
    assert (rec.options[cluster.urn].protect, rec.options[cluster.urn].retain_on_delete) == (True, True)
    assert (rec.options[writer.urn].protect, rec.options[writer.urn].retain_on_delete) == (True, False)
    assert writer.parent == comp.urn


def test_a_keyed_childs_transform_tells_children_apart_by_name() -> None:
    def advanced_stripe(args: aws.ssm.ParameterArgs, opts: pulumi.ResourceOptions, name: str) -> None:
        if name == "sec-stripe-api-key":
            args.tier = "Advanced"

    values = {"stripe_api_key": "sk", "resend_api_key": "re"}
    res = run(
        lambda: Secrets("sec", SecretsArgs(path="/reggie/t", values=values, transforms={"parameter": advanced_stripe}))
    ).resources
    tiers = {r.name: r.inputs["tier"] for r in of_type(res, "aws:ssm/parameter:Parameter")}
    assert tiers == {"sec-stripe-api-key": "Advanced", "sec-resend-api-key": "Standard"}


def test_a_transform_must_answer_options_or_nothing() -> None:
    def wrong(args: object, opts: pulumi.ResourceOptions, name: str) -> object:
        return {"protect": True}

    hooks: Any = {"bucket": wrong}  # what an untyped caller could pass
    with pytest.raises(ComponentArgsError, match=r"role 'bucket' returned dict; return pulumi.ResourceOptions"):
        run(lambda: R2Bucket("docs", R2BucketArgs("reggie-docs", "f" * 32, [], transforms=hooks)))


def _urns(program: Callable[[], object], type_token: str) -> dict[str, Any]:
    return {r.urn: r.inputs for r in of_type(run(program).resources, type_token)}


def test_keyed_children_keep_their_urns_whatever_the_order() -> None:
    clients = {"api": "sg-api", "worker": "sg-worker", "scraper": "sg-scraper"}

    def database(order: list[str]) -> Callable[[], object]:
        return lambda: AuroraPostgres(
            "db",
            AuroraPostgresArgs(
                cluster_identifier="reggie-test-db",
                vpc_id="vpc-1",
                subnet_ids=["subnet-a"],
                allowed_security_groups={k: clients[k] for k in order},
            ),
        )

    rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    forward, backward = _urns(database(list(clients)), rule), _urns(database(list(reversed(clients))), rule)
    assert forward == backward
    assert {urn.rsplit("::", 1)[1] for urn in forward} == {"db-in-api", "db-in-worker", "db-in-scraper"}

    values = {"a_key": "1", "b_key": "2", "c_key": "3"}
    parameter = "aws:ssm/parameter:Parameter"
    assert _urns(lambda: Secrets("s", SecretsArgs("/r/t", values)), parameter) == _urns(
        lambda: Secrets("s", SecretsArgs("/r/t", dict(reversed(values.items())))), parameter
    )

    routes = [Route("GET", "/a"), Route("POST", "/b/{id}"), Route("DELETE", "/c")]

    def api(ordered: list[Route]) -> Callable[[], object]:
        target = LambdaTarget("api", FN_ARN, "reggie-test-api", ordered)
        return lambda: HttpApi("http", HttpApiArgs("reggie-test-api", [target], ["https://reggie.co.uk"], 30))

    route = "aws:apigatewayv2/route:Route"
    assert _urns(api(routes), route) == _urns(api(list(reversed(routes))), route)


def test_clients_once_named_by_position_keep_that_identity_as_an_alias() -> None:
    def program() -> None:
        db = AuroraPostgres(
            "db",
            AuroraPostgresArgs(
                cluster_identifier="reggie-test-db",
                vpc_id="vpc-1",
                subnet_ids=["subnet-a"],
                # "client-0" is now a label itself, so position 0 gets no alias that would claim its rule
                allowed_security_groups={"worker": "sg-w", "client-0": "sg-c", "api": "sg-a"},
            ),
        )
        db.allow_from("scraper", "sg-s")

    rec = run(program)
    prefix = "urn:pulumi:dev-test::reggie::reggie:components:AuroraPostgres$aws:vpc/securityGroupIngressRule:"
    aliases = {
        r.name: rec.options[r.urn].aliases
        for r in of_type(rec.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    }
    assert aliases == {
        "db-in-worker": (),
        "db-in-client-0": (f"{prefix}SecurityGroupIngressRule::db-in-client-1",),
        "db-in-api": (f"{prefix}SecurityGroupIngressRule::db-in-client-2",),
        "db-in-scraper": (),  # added by allow_from: always keyed, never positional
    }


def test_nodes_are_reachable_typed() -> None:
    found: dict[str, object] = {}

    def program() -> None:
        db = _aurora({})
        found["cluster"] = db.node("cluster", aws.rds.Cluster)
        found["clients"] = sorted(db.keyed_nodes("client_ingress", aws.vpc.SecurityGroupIngressRule))
        with pytest.raises(KeyError, match="no Key in role 'cluster'"):
            db.node("cluster", aws.kms.Key)
        with pytest.raises(KeyError, match="no keyed Cluster in role 'client_ingress'"):
            db.keyed_nodes("client_ingress", aws.rds.Cluster)

    run(program)
    assert isinstance(found["cluster"], aws.rds.Cluster)
    assert found["clients"] == ["api", "worker"]


class _ToyTransforms(TypedDict, total=False):
    key: Transform[aws.kms.KeyArgs]
    parameter: Transform[aws.ssm.ParameterArgs]


class _Toy(Component):
    """A component that misuses the door on purpose: ``misuse`` declares children after the first."""

    def __init__(self, misuse: Callable[[_Toy], object]) -> None:
        super().__init__("test:index:Toy", "toy", {}, roles_of(_ToyTransforms), None)
        self.child("key", aws.kms.Key, aws.kms.KeyArgs(), "key")
        self.child("parameter", aws.ssm.Parameter, aws.ssm.ParameterArgs(type="String", value="1"), "p-a", key="a")
        misuse(self)


def _parameter(toy: _Toy, key: str | None, suffix: str = "p-b") -> object:
    return toy.child("parameter", aws.ssm.Parameter, aws.ssm.ParameterArgs(type="String", value="1"), suffix, key=key)


@pytest.mark.parametrize(
    ("misuse", "message"),
    [
        (lambda toy: toy.child("key", aws.kms.Key, aws.kms.KeyArgs(), "key-2"), "role 'key' already has its child"),
        (lambda toy: _parameter(toy, "a"), "role 'parameter' already has a child keyed 'a'"),
        (lambda toy: _parameter(toy, None), "role 'parameter' already has its child; keyed children need a key"),
        (
            lambda toy: toy.child("parameter", aws.kms.Key, aws.kms.KeyArgs(), "k", key="b"),
            "role 'parameter' already names another kind of child",
        ),
        (lambda toy: toy.child("alias", aws.kms.Key, aws.kms.KeyArgs(), "k"), "role 'alias' is not declared"),
    ],
)
def test_the_door_keeps_one_role_to_one_kind_of_child(misuse: Callable[[_Toy], object], message: str) -> None:
    with pytest.raises(ComponentArgsError, match=message):
        run(lambda: _Toy(misuse))
