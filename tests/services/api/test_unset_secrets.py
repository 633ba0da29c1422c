"""A personal stage stores the placeholder ``unset`` for every secret nobody set. The API reads it from SSM
(moto's server standing in, reached through ``AWS_ENDPOINT_URL``) and must treat it as not configured: a
webhook signed with ``unset`` is anyone's forgery, so it is a 503, never processed."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from sqlalchemy import Engine, text

from services.core import contract
from tests.services.api.support import running_api
from tests.services.api.test_health_plates import assert_error
from tests.services.api.test_webhooks import sign_stripe

WEBHOOK_SECRETS = ("stripe_webhook_secret", "clerk_webhook_secret")


@pytest.fixture(scope="module")
def personal_api(
    base_env: dict[str, str], moto_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    endpoint = f"http://127.0.0.1:{moto_port}"
    aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "eu-west-2"}
    aws |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="eu-west-2", aws_access_key_id="testing",
                       aws_secret_access_key="testing")  # fmt: skip
    env = {k: v for k, v in base_env.items() if k.lower() not in WEBHOOK_SECRETS} | aws | {"STAGE": "dev-demo"}
    for name in WEBHOOK_SECRETS:
        parameter = f"/reggie/dev-demo/{name}"
        ssm.put_parameter(Name=parameter, Value=contract.UNSET_SECRET, Type="SecureString", Overwrite=True)
        env[contract.secret_parameter_variable(name)] = parameter
    log = Path(tmp_path_factory.mktemp("personal-api")) / "uvicorn.log"
    with running_api(env, log) as url, httpx.Client(base_url=url + "/api/v1", timeout=30) as client:
        yield client


def test_webhooks_signed_with_the_placeholder_are_503_and_store_nothing(
    personal_api: httpx.Client, engine: Engine
) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": "checkout.session.completed", "data": {"object": {}}}).encode()
    forged = {"Stripe-Signature": sign_stripe(contract.UNSET_SECRET, int(time.time()), body)}
    assert_error(personal_api.post("/webhooks/stripe", content=body, headers=forged), 503, "webhook_unconfigured")

    msg = f"msg_{uuid.uuid4().hex}"
    svix = {"svix-id": msg, "svix-timestamp": str(int(time.time())), "svix-signature": "v1,Zm9yZ2Vk"}
    clerk = personal_api.post("/webhooks/clerk", content=b'{"type": "user.created", "data": {}}', headers=svix)
    assert_error(clerk, 503, "webhook_unconfigured")

    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT count(*) FROM processed_webhook_events WHERE event_id IN (:a, :b)"), {"a": event_id, "b": msg}
        ).scalar_one()
    assert stored == 0
