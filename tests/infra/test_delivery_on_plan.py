"""The cost model, the diagram and the preview JSON on the real offline plan of the program (under mocks),
so they keep reading what the harness really captures (camelCase inputs, numbers as floats, real types)."""

from __future__ import annotations

import json

import pytest

from infra import cost, diagram, preview_json
from infra.plan import run_plan
from infra.planned import PlannedResource

pytestmark = pytest.mark.slow  # two whole-program plans under mocks, about 15 s with the provider imports


@pytest.fixture(scope="module")
def personal() -> list[PlannedResource]:
    return run_plan("dev-demo")


@pytest.fixture(scope="module")
def production() -> list[PlannedResource]:
    return run_plan("production")


def test_every_declared_type_is_priced_or_known_free(
    personal: list[PlannedResource], production: list[PlannedResource]
) -> None:
    for plan in (personal, production):  # production also has the sites
        assert cost.estimate(plan, cost.IDLE).unpriced == ()
        assert cost.estimate(plan, cost.LAUNCH).unpriced == ()


def test_personal_stage_pauses_its_database_when_idle(personal: list[PlannedResource]) -> None:
    idle = cost.estimate(personal, cost.IDLE)
    assert not [line for line in idle.lines if line.price_key == "aurora.acu"]
    nat_lines = [line for line in idle.lines if line.price_key in ("ec2.t4g.nano", "ebs.gp3", "vpc.public_ipv4")]
    # what remains once the NAT is shared is the database's key, secret and storage and the image repositories
    assert idle.total_usd - sum(line.monthly_usd for line in nat_lines) <= 5


def test_production_keeps_half_an_acu_on_writer_and_reader_and_two_nat_instances(
    production: list[PlannedResource],
) -> None:
    idle = cost.estimate(production, cost.IDLE)
    acu = [line for line in idle.lines if line.price_key == "aurora.acu"]
    assert [line.quantity for line in acu] == [0.5 * cost.HOURS_PER_MONTH] * 2  # the reader follows the writer
    assert len([line for line in idle.lines if line.price_key == "ec2.t4g.nano"]) == 2  # the NAT groups' instances
    assert len([line for line in idle.lines if line.price_key == "vpc.public_ipv4"]) == 2
    assert cost.estimate(production, cost.LAUNCH).total_usd > idle.total_usd
    assert idle.unpriced == ()


def test_production_prices_its_alarms_dashboard_and_the_metrics_they_watch(production: list[PlannedResource]) -> None:
    idle = cost.estimate(production, cost.IDLE)
    by_key = {line.price_key: line for line in idle.lines}
    alarms = [r for r in production if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    # every alarm reads one metric but the 5xx rate, which reads two
    assert by_key["cloudwatch.alarm"].quantity == len(alarms) + 1
    assert by_key["cloudwatch.custom_metric"].quantity == 4  # three health checks and the migrator's runs
    assert by_key["cloudwatch.dashboard"].monthly_usd == 3.00


def test_diagram_shows_every_function_and_the_way_in(production: list[PlannedResource]) -> None:
    text = diagram.render(production, title="reggie production")
    # a site's invalidation function is drawn as the site's own plumbing, not as a service
    functions = [
        r for r in production if r.type == "aws:lambda/function:Function" and "StaticSite" not in str(r.parent)
    ]
    assert functions
    for function in functions:
        assert f"λ {function.name}<br/>" in text
    assert "Aurora PostgreSQL" in text
    assert "-->|routes|" in text
    assert "-->|invoked on every deploy|" in text
    assert "clients -->|HTTPS| cloudflare" in text
    assert "CloudFront<br/>reggie.co.uk · http2and3" in text
    assert "CloudFront<br/>admin.reggie.co.uk · http2and3" in text


def test_diagram_shows_the_day_two_parts(production: list[PlannedResource]) -> None:
    text = diagram.render(production, title="reggie production")
    public = text.split('subgraph public["public subnets"]')[1].split("end")[0]
    assert public.count("NAT instance, self-healing<br/>") == 2
    assert "group of 1 · t4g.nano" in public
    assert "0.5–4 ACU · 2 instance(s) · writer + 1 failover reader(s)" in text
    alarms = sum(1 for r in production if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert f"SNS reggie-production-alarms → ops@reggie.co.uk<br/>{alarms} CloudWatch alarms" in text
    assert "private -->|default route| public" in text  # not the shared network's NAT


def test_preview_json_has_one_create_step_per_resource(production: list[PlannedResource]) -> None:
    doc = json.loads(preview_json.dumps(production))
    assert doc["changeSummary"] == {"create": len(production)}
    assert [step["urn"] for step in doc["steps"]] == [r.urn for r in production]
    assert all(step["newState"]["type"] == r.type for step, r in zip(doc["steps"], production, strict=True))
