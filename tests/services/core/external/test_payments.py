"""The Stripe Checkout client against the Stripe stand-in: the request it makes, idempotency, every failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.core.external.errors import PaymentProviderUnavailable, PaymentRejected
from services.core.external.payments import Payments, StripeSettings
from services.local.standins.server import Running, serve
from services.local.standins.stripe import StripeStandin
from tests.services.local.standins.fixtures import run_together

CHECKOUT: dict[str, Any] = {
    "offer_id": 42,
    "amount_pence": 150_000,
    "currency": "GBP",
    "buyer_email": "buyer@example.com",
    "success_url": "https://reggie.test/offers/42/paid",
    "cancel_url": "https://reggie.test/offers/42",
    "idempotency_key": "checkout-offer-42",
    "item_name": "AB12 CDE",
}


def payments(running: Running[StripeStandin], **settings: Any) -> Payments:
    options: dict[str, Any] = {"max_network_retries": 0, **settings}
    return Payments(StripeSettings(secret_key=running.standin.secret_key, api_base=running.base_url, **options))


def test_a_checkout_session_carries_the_offer_amount_and_currency(stripe_api: Running[StripeStandin]) -> None:
    session = payments(stripe_api).create_checkout_session(**CHECKOUT)
    assert session.id.startswith("cs_test_")
    assert session.url.endswith(f"/c/pay/{session.id}")
    form = stripe_api.standin.requests[0].form()
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][currency]"] == "gbp"
    assert form["line_items[0][price_data][unit_amount]"] == "150000"
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][product_data][name]"] == "AB12 CDE"
    assert form["metadata[offer_id]"] == "42"
    assert form["payment_intent_data[metadata][offer_id]"] == "42"
    assert form["client_reference_id"] == "42"
    assert form["customer_email"] == "buyer@example.com"
    assert stripe_api.standin.requests[0].headers["idempotency-key"] == "checkout-offer-42"


def test_a_retried_checkout_gets_the_same_session(stripe_api: Running[StripeStandin]) -> None:
    client = payments(stripe_api)
    assert client.create_checkout_session(**CHECKOUT) == client.create_checkout_session(**CHECKOUT)
    assert len(stripe_api.standin.sessions) == 1


def test_concurrent_checkouts_of_one_offer_create_one_session() -> None:
    with serve(StripeStandin(processing_delay_s=0.3)) as running:
        client = payments(running, max_network_retries=3)
        sessions = run_together(lambda: client.create_checkout_session(**CHECKOUT).id, 4)
        assert len(sessions) == 4
        assert len(set(sessions)) == 1
        assert len(running.standin.sessions) == 1


def test_reading_a_session_back_after_the_buyer_paid(stripe_api: Running[StripeStandin]) -> None:
    client = payments(stripe_api)
    session = client.create_checkout_session(**CHECKOUT)
    before = client.retrieve_checkout_session(session.id)
    assert (before.status, before.payment_status, before.payment_intent) == ("open", "unpaid", None)
    stripe_api.standin.pay(session.id)
    after = client.retrieve_checkout_session(session.id)
    assert (after.status, after.payment_status, after.amount_total, after.currency) == (
        "complete",
        "paid",
        150_000,
        "gbp",
    )
    assert after.metadata == {"offer_id": "42"}
    assert after.payment_intent is not None
    assert after.payment_intent.startswith("pi_")
    refund_id = client.refund(payment_intent=after.payment_intent, amount_pence=None, idempotency_key="refund-42")
    assert refund_id.startswith("re_")
    assert (
        client.refund(payment_intent=after.payment_intent, amount_pence=None, idempotency_key="refund-42") == refund_id
    )


def test_stripe_refusing_the_request_is_payment_rejected(stripe_api: Running[StripeStandin]) -> None:
    client = payments(stripe_api)
    with pytest.raises(PaymentRejected) as too_small:
        client.create_checkout_session(**{**CHECKOUT, "amount_pence": 29, "idempotency_key": "small"})
    assert (too_small.value.status, too_small.value.code, too_small.value.param) == (
        400,
        "amount_too_small",
        "line_items",
    )
    client.create_checkout_session(**CHECKOUT)
    with pytest.raises(PaymentRejected) as reused:
        client.create_checkout_session(**{**CHECKOUT, "amount_pence": 100_000})
    assert reused.value.code == "idempotency_error"
    with pytest.raises(PaymentRejected) as missing:
        client.retrieve_checkout_session("cs_test_missing")
    assert (missing.value.status, missing.value.code) == (404, "resource_missing")


def test_a_refused_key_is_provider_unavailable(stripe_api: Running[StripeStandin]) -> None:
    client = Payments(StripeSettings(secret_key="sk_test_not_ours_1234", api_base=stripe_api.base_url))
    with pytest.raises(PaymentProviderUnavailable) as caught:
        client.create_checkout_session(**CHECKOUT)
    assert caught.value.status == 401
    assert "sk_test" not in caught.value.message


def test_server_errors_are_retried_then_unavailable(stripe_api: Running[StripeStandin]) -> None:
    stripe_api.standin.fail_next(500)
    assert payments(stripe_api, max_network_retries=1).create_checkout_session(**CHECKOUT).id
    stripe_api.standin.fail_next(503, times=2)
    with pytest.raises(PaymentProviderUnavailable) as caught:
        payments(stripe_api, max_network_retries=1).create_checkout_session(**{**CHECKOUT, "idempotency_key": "other"})
    assert caught.value.status == 503
    stripe_api.standin.fail_next(429)
    with pytest.raises(PaymentProviderUnavailable):
        payments(stripe_api).create_checkout_session(**{**CHECKOUT, "idempotency_key": "third"})


def test_a_slow_or_absent_stripe_is_unavailable(stripe_api: Running[StripeStandin]) -> None:
    stripe_api.standin.delay_next(1.0)
    with pytest.raises(PaymentProviderUnavailable) as slow:
        payments(stripe_api, timeout_s=0.2).create_checkout_session(**CHECKOUT)
    assert slow.value.status is None
    base = stripe_api.base_url
    stripe_api.stop()
    absent = Payments(StripeSettings(secret_key="sk_test_x", api_base=base, max_network_retries=0))
    with pytest.raises(PaymentProviderUnavailable):
        absent.create_checkout_session(**CHECKOUT)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount_pence": 0}, "amount_pence"),
        ({"amount_pence": True}, "amount_pence"),
        ({"amount_pence": 12.5}, "amount_pence"),
        ({"currency": "pounds"}, "currency"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 256}, "idempotency_key"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    stripe_api: Running[StripeStandin], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        payments(stripe_api).create_checkout_session(**{**CHECKOUT, **change})
    assert stripe_api.standin.requests == []


@pytest.mark.parametrize(
    "settings",
    [
        {"secret_key": "pk_test_publishable"},
        {"secret_key": "sk_test_x", "api_base": "api.stripe.com"},
        {"secret_key": "sk_test_x", "timeout_s": 0},
        {"secret_key": "sk_test_x", "max_network_retries": -1},
    ],
)
def test_settings_are_checked(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="stripe"):
        StripeSettings(**settings)


def test_importing_the_client_does_not_import_stripe() -> None:
    code = (
        "import sys; import services.core.external.payments as p; "
        "p.Payments(p.StripeSettings(secret_key='sk_test_x')); assert 'stripe' not in sys.modules, 'stripe imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parents[4])
