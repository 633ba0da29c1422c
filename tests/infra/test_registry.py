"""The service registry: discovery of services/*/deploy.py and validation of each spec."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from infra.registry import ServiceSpecError, discover, validate
from infra.service_spec import Concurrency, HttpRoute, Secret, ServiceSpec, Setting

SERVICES = Path(__file__).resolve().parents[2] / "services"


def test_discovers_every_deploy_spec_in_dependency_order() -> None:
    specs = discover()
    names = [s.name for s in specs]
    on_disk = {p.parent.name for p in SERVICES.glob("*/deploy.py")}
    assert set(names) == on_disk
    assert {"api", "valuation", "migrator"} <= on_disk
    assert names.index("valuation") < names.index("api")  # the API links (invokes) valuation


def _spec(**overrides: object) -> ServiceSpec:
    base = ServiceSpec(name="svc", package="zip", handler="services.svc.handler.handler")
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"memory_mb": 64}, "memory_mb"),
        ({"memory_mb": 20_000}, "memory_mb"),
        ({"timeout_s": 901}, "timeout_s"),
        ({"timeout_s": 30, "routes": (HttpRoute("GET", "/x"),)}, "under API Gateway's 30 s"),
        ({"package": "image"}, "dockerfile"),
        ({"dockerfile": "Dockerfile"}, "zip service"),
        ({"handler": "not a path"}, "handler"),
        ({"schedule": "every day"}, "schedule"),
        ({"links": ("database",)}, "vpc must be True to link 'database'"),
        ({"links": ("ghost",)}, "'ghost' is neither a platform link"),
        ({"links": ("stripe_secret_key",)}, r"Secret\('stripe_secret_key'\)"),  # a secret named as a service
        ({"links": ("svc",)}, "cannot link itself"),
        ({"links": ("documents", "documents")}, "linked twice"),
        ({"links": (Secret("a"), Secret("a", granted=False))}, "linked twice"),
        ({"links": (Secret("Stripe-Key"),)}, "snake_case"),
        ({"links": (42,)}, "neither a name, Secret"),
        ({"links": (Setting("Rota"),)}, r"Setting\('Rota'\): the name must be snake_case"),
        ({"links": (Setting("rota", pattern="(unclosed"),)}, "pattern is not a regular expression"),
        ({"links": (Setting("rota", default="sometimes", pattern="weekdays|always"),)}, "does not match the pattern"),
        ({"links": (Setting("rota"), Setting("rota", default="x"))}, "linked twice"),
        ({"links": (Secret("rota"), Setting("rota"))}, "both as a Secret and as a Setting"),
        ({"name": "database"}, "platform link"),
        ({"concurrency": Concurrency(fixed=0)}, "concurrency fixed must be at least 1"),
        ({"concurrency": Concurrency(share=1.5, connections=1)}, "share must be between 0 and 1"),
        ({"concurrency": Concurrency(share=0.5, fixed=2, connections=1)}, "not both"),
        ({"concurrency": Concurrency(share=0.5)}, "needs connections per environment"),
        ({"concurrency": Concurrency(connections=1)}, "does not link 'database'"),
        ({"environment": {"lower": "x"}}, "UPPER_SNAKE_CASE"),
        ({"timeout_s": 10, "routes": (HttpRoute("GET", "x"),)}, "path"),
        (
            {"timeout_s": 10, "routes": (HttpRoute("POST", "/x", "urgent"),)},  # type: ignore[arg-type]
            r"POST /x: budget 'urgent' is not one of \('standard', 'costly', 'webhook'\)",
        ),
        ({"package": "image", "dockerfile": "services/none/Dockerfile"}, "dockerfile 'services/none/Dockerfile'"),
        ({"package": "image", "dockerfile": "../shared/Dockerfile"}, "inside the repository"),
        (
            {"package": "image", "dockerfile": "services/migrator/requirements.in"},
            r"needs its allow-list beside it, requirements\.in\.dockerignore",
        ),
        ({"run_inputs": ("migrations",)}, "run_inputs only re-run a run_on_deploy service"),
        ({"run_on_deploy": True, "run_inputs": ("/etc",)}, "inside the repository"),
    ],
)
def test_invalid_specs_name_the_service_and_field(overrides: dict[str, object], message: str) -> None:
    spec = _spec(**overrides)
    with pytest.raises(ServiceSpecError, match=message) as caught:
        validate([spec])
    assert f"service {spec.name}:" in str(caught.value)


def test_duplicate_routes_and_invoke_cycles_are_rejected() -> None:
    route = (HttpRoute("GET", "/x"),)
    with pytest.raises(ServiceSpecError, match="already served"):
        validate([_spec(name="a", routes=route, timeout_s=10), _spec(name="b", routes=route, timeout_s=10)])
    with pytest.raises(ServiceSpecError, match="cycle: a -> b -> a"):
        validate([_spec(name="a", links=("b",)), _spec(name="b", links=("a",))])


def test_two_services_linking_one_setting_must_declare_it_alike() -> None:
    rota = Setting("rota", default="weekdays", pattern="weekdays|always")
    validate([_spec(name="a", links=(rota,)), _spec(name="b", links=(rota,))])
    with pytest.raises(ServiceSpecError, match=r"service b: Setting\('rota'\) differs from the one service a links"):
        validate(
            [_spec(name="a", links=(rota,)), _spec(name="b", links=(dataclasses.replace(rota, default="always"),))]
        )


def test_valid_links_order_linked_services_first() -> None:
    specs = validate(
        [
            _spec(name="front", vpc=True, links=("database", "documents", "clerk", "back", Secret("front_key"))),
            _spec(name="back", links=(Secret("back_key", granted=False),)),
        ]
    )
    assert [s.name for s in specs] == ["back", "front"]


def test_a_scheduled_service_is_valid() -> None:
    (spec,) = validate([_spec(schedule="cron(0 3 ? * MON *)")])
    assert spec.schedule == "cron(0 3 ? * MON *)"


def test_shares_of_the_database_add_up_to_at_most_one() -> None:
    def sharing(name: str, share: float) -> ServiceSpec:
        return _spec(name=name, vpc=True, links=("database",), concurrency=Concurrency(share=share, connections=1))

    validate([sharing("a", 0.5), sharing("b", 0.5)])
    with pytest.raises(ServiceSpecError, match=r"shares add up to 1\.1; together at most 1"):
        validate([sharing("a", 0.6), sharing("b", 0.5)])
