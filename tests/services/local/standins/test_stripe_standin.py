"""The Stripe stand-in, driven by the official stripe library over real sockets."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import httpx
import pytest
import stripe

from services.local.standins.server import Reply, Request, Running, Standin, json_reply, serve
from services.local.standins.stripe import SESSION_EVENTS, StripeStandin, start_stripe
from services.local.standins.stripe_events import deliver
from tests.services.local.standins.fixtures import run_together

SESSION: dict[str, Any] = {
    "mode": "payment",
    "success_url": "https://reggie.test/offers/42/paid",
    "cancel_url": "https://reggie.test/offers/42",
    "line_items": [
        {"quantity": 1, "price_data": {"currency": "gbp", "unit_amount": 150_000, "product_data": {"name": "AB12 CDE"}}}
    ],
    "metadata": {"offer_id": "42"},
    "payment_intent_data": {"metadata": {"offer_id": "42"}},
    "customer_email": "buyer@example.com",
}


def client(running: Running[StripeStandin], *, key: str | None = None, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(
        key or running.standin.secret_key, base_addresses={"api": running.base_url}, max_network_retries=retries
    )


def create(running: Running[StripeStandin], params: dict[str, Any] | None = None, **options: Any) -> Any:
    return client(running).v1.checkout.sessions.create(params=params or SESSION, options=options)  # pyright: ignore[reportArgumentType]


def test_a_checkout_session_is_created_as_stripe_shapes_it(stripe_api: Running[StripeStandin]) -> None:
    session = create(stripe_api)
    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert len(session.id) == 66
    assert (session.amount_total, session.currency, session.mode) == (150_000, "gbp", "payment")
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert session.metadata.to_dict() == {"offer_id": "42"}
    assert session.customer_email == "buyer@example.com"
    assert session.url == f"{stripe_api.base_url}/c/pay/{session.id}"
    page = httpx.get(session.url)
    assert page.status_code == 200
    assert session.id in page.text
    (recorded,) = stripe_api.standin.requests[:1]
    assert recorded.headers["authorization"] == f"Bearer {stripe_api.standin.secret_key}"
    assert recorded.headers["content-type"] == "application/x-www-form-urlencoded"
    assert recorded.headers["idempotency-key"]  # the library adds one to every POST
    form = recorded.form()
    assert form["line_items[0][price_data][unit_amount]"] == "150000"
    assert form["payment_intent_data[metadata][offer_id]"] == "42"


def test_a_wrong_or_missing_key_is_a_401_in_stripes_shape(stripe_api: Running[StripeStandin]) -> None:
    with pytest.raises(stripe.AuthenticationError) as caught:
        client(stripe_api, key="sk_test_wrongwrongwrong1234").v1.checkout.sessions.create(params=SESSION)  # pyright: ignore[reportArgumentType]
    assert caught.value.http_status == 401
    message = str(caught.value.user_message)
    assert message.startswith("Invalid API Key provided: sk_test_*")
    assert message.endswith("*1234")
    assert "wrong" not in message  # Stripe masks all but the prefix and the last four characters
    missing = httpx.post(f"{stripe_api.base_url}/v1/checkout/sessions", data={"mode": "payment"})
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert missing.json()["error"]["message"].startswith("You did not provide an API key.")
    assert stripe_api.standin.sessions == []


def test_http_basic_auth_with_the_key_as_user_is_accepted(stripe_api: Running[StripeStandin]) -> None:
    response = httpx.get(
        f"{stripe_api.base_url}/v1/checkout/sessions/cs_test_nope", auth=(stripe_api.standin.secret_key, "")
    )
    assert response.status_code == 404  # authenticated, then the session is missing


def _with(path: str, value: Any) -> dict[str, Any]:
    """SESSION with the dotted ``path`` set to ``value`` (``None`` removes it)."""
    params = copy.deepcopy(SESSION)
    node: Any = params
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return params


@pytest.mark.parametrize(
    ("params", "param", "code", "message"),
    [
        (_with("line_items.0.price_data.currency", None), "line_items[0][price_data][currency]", "parameter_missing",
         "Missing required param: line_items[0][price_data][currency]."),
        (_with("line_items.0.price_data.unit_amount", 12.5), "line_items[0][price_data][unit_amount]",
         "parameter_invalid_integer", "Invalid integer: 12.5"),
        (_with("line_items.0.price_data.unit_amount", 29), "line_items", "amount_too_small",
         "The Checkout Session's total amount due must add up to at least £0.30 gbp"),
        (_with("line_items.0.price_data.unit_amount", None), "line_items[0][price_data][unit_amount]",
         "parameter_missing", None),
        (_with("line_items.0.quantity", 0), "line_items[0][quantity]", "parameter_invalid_integer", None),
        (_with("line_items.0.quantity", None), "line_items[0][quantity]", "parameter_missing", None),
        (_with("line_items.0.price_data.product_data", None), "line_items[0][price_data][product_data][name]",
         "parameter_missing", None),
        (_with("line_items.0.price_data.currency", "xyz"), "line_items[0][price_data][currency]", None, None),
        (_with("line_items.0", {"price": "price_123", "quantity": 1}), "line_items[0][price]", "resource_missing",
         "No such price: 'price_123'"),
        (_with("line_items", None), "line_items", "parameter_missing", None),
        (_with("mode", "subscription"), "mode", None, None),
        (_with("mode", "rent"), "mode", None, None),
        (_with("mode", None), "mode", "parameter_missing", None),
        (_with("success_url", "not a url"), "success_url", "url_invalid", "Not a valid URL"),
        (_with("success_url", None), "success_url", "parameter_missing", None),
        (_with("customer_email", "nobody"), "customer_email", "email_invalid", None),
        (_with("metadata", {"k" * 41: "v"}), f"metadata[{'k' * 41}]", None, None),
        (_with("metadata", {"k": "v" * 501}), "metadata[k]", None, None),
        (_with("shipping", "yes"), "shipping", "parameter_unknown", "Received unknown parameter: shipping"),
        (_with("payment_intent_data.capture_method", "manual"), "payment_intent_data[capture_method]",
         "parameter_unknown", None),
        (_with("expires_at", int(time.time()) + 60), "expires_at", None, None),
    ],
)  # fmt: skip
def test_stripe_refuses_a_malformed_session_with_its_error(
    stripe_api: Running[StripeStandin], params: dict[str, Any], param: str, code: str | None, message: str | None
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create(stripe_api, params)
    error = caught.value
    assert error.http_status == 400
    assert error.param == param
    assert error.code == code
    if message is not None:
        assert error.user_message == message
    assert stripe_api.standin.sessions == []


def test_mixed_currencies_and_the_minimum_boundary(stripe_api: Running[StripeStandin]) -> None:
    mixed = copy.deepcopy(SESSION)
    mixed["line_items"].append(
        {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}}}
    )
    with pytest.raises(stripe.InvalidRequestError, match="same currency"):
        create(stripe_api, mixed)
    assert create(stripe_api, _with("line_items.0.price_data.unit_amount", 30)).amount_total == 30


def test_the_same_idempotency_key_and_parameters_replay_the_first_session(stripe_api: Running[StripeStandin]) -> None:
    first = create(stripe_api, idempotency_key="offer-42-checkout")
    reordered = {key: SESSION[key] for key in reversed(list(SESSION))}  # the same parameters in another order
    again = create(stripe_api, reordered, idempotency_key="offer-42-checkout")
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_api.standin.sessions) == 1


def test_the_key_with_other_parameters_or_another_endpoint_is_an_idempotency_error(
    stripe_api: Running[StripeStandin],
) -> None:
    create(stripe_api, idempotency_key="offer-42-checkout")
    with pytest.raises(stripe.IdempotencyError) as caught:
        create(stripe_api, _with("line_items.0.price_data.unit_amount", 100), idempotency_key="offer-42-checkout")
    assert caught.value.http_status == 400
    assert "can only be used with the same parameters" in str(caught.value.user_message)
    with pytest.raises(stripe.IdempotencyError, match="same endpoint"):
        client(stripe_api).v1.refunds.create(
            params={"payment_intent": "pi_x"}, options={"idempotency_key": "offer-42-checkout"}
        )
    assert len(stripe_api.standin.sessions) == 1


def test_a_request_refused_by_validation_saves_nothing_under_its_key(stripe_api: Running[StripeStandin]) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        create(stripe_api, _with("line_items.0.price_data.unit_amount", 10), idempotency_key="k")
    assert create(stripe_api, idempotency_key="k").amount_total == 150_000


def test_a_concurrent_request_with_the_same_key_meets_a_409_and_the_library_retries_it() -> None:
    with serve(StripeStandin(processing_delay_s=0.4)) as running:
        stripe_client = client(running, retries=3)
        ids = run_together(
            lambda: stripe_client.v1.checkout.sessions.create(params=SESSION, options={"idempotency_key": "k"}).id,  # pyright: ignore[reportArgumentType]
            2,
            stagger_s=0.05,
        )
        assert len(ids) == 2
        assert ids[0] == ids[1]
        assert len(running.standin.sessions) == 1
        conflicts = [r for r in running.standin.requests if r.status == 409]
        assert conflicts, "the second request should have met the first one in flight"


def test_retrieving_sessions_and_a_missing_one(stripe_api: Running[StripeStandin]) -> None:
    session = create(stripe_api)
    assert client(stripe_api).v1.checkout.sessions.retrieve(session.id).amount_total == 150_000
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client(stripe_api).v1.checkout.sessions.retrieve("cs_test_missing")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
    assert caught.value.user_message == "No such checkout.session: 'cs_test_missing'"


def test_an_unknown_url_is_stripes_404(stripe_api: Running[StripeStandin]) -> None:
    response = httpx.post(
        f"{stripe_api.base_url}/v1/charges", headers={"Authorization": f"Bearer {stripe_api.standin.secret_key}"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("Unrecognized request URL (POST: /v1/charges)")


def test_a_json_body_is_refused(stripe_api: Running[StripeStandin]) -> None:
    response = httpx.post(
        f"{stripe_api.base_url}/v1/checkout/sessions",
        json=SESSION,
        headers={"Authorization": f"Bearer {stripe_api.standin.secret_key}"},
    )
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.json()["error"]["message"]


def test_server_errors_are_retried_by_the_library(stripe_api: Running[StripeStandin]) -> None:
    stripe_api.standin.fail_next(500)
    session = client(stripe_api, retries=1).v1.checkout.sessions.create(params=SESSION)  # pyright: ignore[reportArgumentType]
    assert session.id.startswith("cs_test_")
    assert [r.status for r in stripe_api.standin.requests] == [500, 200]
    stripe_api.standin.fail_next(503)
    with pytest.raises(stripe.APIError):
        create(stripe_api)


def test_refunds_against_a_paid_session(stripe_api: Running[StripeStandin]) -> None:
    session = create(stripe_api)
    intent = stripe_api.standin.pay(session.id)["payment_intent"]
    refunds = client(stripe_api).v1.refunds
    partial = refunds.create(params={"payment_intent": intent, "amount": 50_000})
    assert (partial.object, partial.amount, partial.currency, partial.status) == ("refund", 50_000, "gbp", "succeeded")
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        refunds.create(params={"payment_intent": intent, "amount": 100_001})
    assert too_much.value.code == "amount_too_large"
    assert refunds.create(params={"payment_intent": intent}).amount == 100_000  # what is left
    with pytest.raises(stripe.InvalidRequestError) as twice:
        refunds.create(params={"payment_intent": intent})
    assert twice.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        refunds.create(params={"payment_intent": "pi_unknown"})
    assert (unknown.value.code, unknown.value.param) == ("resource_missing", "payment_intent")
    with pytest.raises(stripe.InvalidRequestError) as neither:
        refunds.create(params={})  # pyright: ignore[reportArgumentType]
    assert neither.value.code == "parameter_missing"


def test_paying_creates_the_payment_intent_with_its_own_metadata(stripe_api: Running[StripeStandin]) -> None:
    session = create(stripe_api, _with("metadata", {"offer_id": "42", "only_on": "session"}))
    paid = stripe_api.standin.pay(session.id)
    assert (paid["status"], paid["payment_status"]) == ("complete", "paid")
    intent = client(stripe_api).v1.payment_intents.retrieve(paid["payment_intent"])
    assert (intent.amount, intent.currency, intent.status) == (150_000, "gbp", "succeeded")
    assert intent.metadata.to_dict() == {"offer_id": "42"}  # from payment_intent_data, not the session


def _session_in_state_for(standin: StripeStandin, event_type: str, session_id: str) -> None:
    if event_type == "checkout.session.expired":
        standin.expire(session_id)
        return
    delayed = event_type.startswith("checkout.session.async")
    standin.pay(session_id, payment_status="unpaid" if delayed else "paid")
    if delayed:
        standin.settle(session_id, succeeded=event_type.endswith("succeeded"))


@pytest.mark.parametrize("event_type", SESSION_EVENTS)
def test_signed_events_verify_with_the_stripe_library(stripe_api: Running[StripeStandin], event_type: str) -> None:
    session = create(stripe_api)
    _session_in_state_for(stripe_api.standin, event_type, session.id)
    delivery = stripe_api.standin.sign(stripe_api.standin.event(event_type, session.id))
    event = stripe.Webhook.construct_event(
        delivery.payload, delivery.headers["Stripe-Signature"], stripe_api.standin.webhook_secret
    )
    assert event.type == event_type
    obj = event.data.object
    if event_type == "payment_intent.succeeded":
        assert (obj["object"], obj["amount_received"], obj["metadata"]["offer_id"]) == ("payment_intent", 150_000, "42")
    else:
        assert (obj["object"], obj["id"], obj["metadata"]["offer_id"]) == ("checkout.session", session.id, "42")
    expected_payment_status = {
        "checkout.session.completed": "paid",
        "checkout.session.async_payment_succeeded": "paid",
        "checkout.session.async_payment_failed": "unpaid",
        "checkout.session.expired": "unpaid",
    }
    if event_type in expected_payment_status:
        assert obj["payment_status"] == expected_payment_status[event_type]


def test_forged_or_stale_signatures_are_refused_by_the_library(stripe_api: Running[StripeStandin]) -> None:
    session = create(stripe_api)
    stripe_api.standin.pay(session.id)
    secret = stripe_api.standin.webhook_secret
    forged = stripe_api.standin.event("checkout.session.completed", session.id, amount_total=1, currency="usd")
    assert forged["data"]["object"]["amount_total"] == 1
    delivery = stripe_api.standin.sign(forged)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.payload + b" ", delivery.headers["Stripe-Signature"], secret)
    other = stripe_api.standin.sign(forged, secret="whsec_someone_else")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(other.payload, other.headers["Stripe-Signature"], secret)
    stale = stripe_api.standin.sign(forged, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(stale.payload, stale.headers["Stripe-Signature"], secret)


class Receiver(Standin):
    name = "receiver"

    def handle(self, request: Request) -> Reply:
        return json_reply(200, {"received": True})


def test_deliver_posts_the_exact_signed_bytes() -> None:
    with start_stripe() as stripe_running, serve(Receiver()) as receiver:
        session = create(stripe_running)
        stripe_running.standin.pay(session.id)
        delivery = stripe_running.standin.sign(stripe_running.standin.event("checkout.session.completed", session.id))
        response = deliver(f"{receiver.base_url}/api/v1/webhooks/stripe", delivery)
        assert response.status_code == 200
        (received,) = receiver.standin.requests
        assert received.path == "/api/v1/webhooks/stripe"
        assert received.body == delivery.payload
        assert received.headers["stripe-signature"] == delivery.headers["Stripe-Signature"]
        assert received.headers["content-type"] == "application/json; charset=utf-8"
        assert json.loads(received.body)["type"] == "checkout.session.completed"


def test_the_stand_in_refuses_live_keys_and_bad_secrets() -> None:
    with pytest.raises(ValueError, match="test-mode"):
        StripeStandin(secret_key="sk_live_abc")
    with pytest.raises(ValueError, match="whsec_"):
        StripeStandin(webhook_secret="secret")
