"""The API under test, as in production: uvicorn (one worker) in a child process on a loopback port,
on the session's real PostgreSQL, with a real JWKS endpoint, moto's S3 server behind a SigV4-checking
gateway standing in for R2, the Stripe, Resend and DVLA stand-ins (reached through the official
libraries), and webhook secrets set in its environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import Engine

from services.core.contract import database_role
from services.local.standins.dvla import DvlaStandin, start_dvla
from services.local.standins.resend import ResendStandin, start_resend
from services.local.standins.server import Running
from services.local.standins.stripe import StripeStandin, start_stripe
from tests.services.api.sigv4_gateway import SigV4Gateway
from tests.services.api.support import (
    BUCKET,
    CLERK_WEBHOOK_SECRET,
    ISSUER,
    ORIGIN,
    S3_KEY_ID,
    S3_SECRET,
    STRIPE_WEBHOOK_SECRET,
    JwksServer,
    Signer,
    api_environment,
    free_port,
    running_api,
)


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer("key-1")


@pytest.fixture(scope="session")
def jwks(signer: Signer) -> Iterator[JwksServer]:
    server = JwksServer([signer])
    yield server
    server.close()


@pytest.fixture(scope="session")
def moto_port() -> Iterator[int]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )
    s3.create_bucket(Bucket=BUCKET)
    yield port
    server.stop()


@pytest.fixture(scope="session")
def r2(moto_port: int) -> Iterator[SigV4Gateway]:
    with SigV4Gateway(moto_port, S3_SECRET) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def stripe_standin() -> Iterator[Running[StripeStandin]]:
    with start_stripe(webhook_secret=STRIPE_WEBHOOK_SECRET) as running:
        yield running


@pytest.fixture(scope="session")
def resend_standin() -> Iterator[Running[ResendStandin]]:
    with start_resend() as running:
        yield running


@pytest.fixture(scope="session")
def dvla_standin() -> Iterator[Running[DvlaStandin]]:
    with start_dvla() as running:
        yield running


@pytest.fixture(scope="session")
def base_env(
    role_url: Callable[[str], str],
    jwks: JwksServer,
    r2: SigV4Gateway,
    stripe_standin: Running[StripeStandin],
    dvla_standin: Running[DvlaStandin],
) -> dict[str, str]:
    return api_environment(
        STAGE="ci",
        SERVICE_NAME="api",
        # As deployed: the API's own role (no DDL, no migrator's tables), over TLS verified against the suite's
        # CA; the local server trusts loopback logins, the stand-in for the IAM token a deployed stage signs.
        DATABASE_URL=role_url(database_role("api")),
        ALLOWED_ORIGINS=f"{ORIGIN},http://localhost:3000",
        CLERK_ISSUER=ISSUER,
        CLERK_JWKS_URL=jwks.url,
        BUCKET_NAME=BUCKET,
        BUCKET_ENDPOINT=f"http://127.0.0.1:{r2.port}",
        R2_ACCESS_KEY_ID=S3_KEY_ID,
        R2_SECRET_ACCESS_KEY=S3_SECRET,
        CLERK_WEBHOOK_SECRET=CLERK_WEBHOOK_SECRET,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        STRIPE_SECRET_KEY=stripe_standin.standin.secret_key,
        STRIPE_API_BASE=stripe_standin.base_url,
        DVLA_API_KEY=dvla_standin.standin.api_key,
        DVLA_API_URL=dvla_standin.base_url,
        OFFER_LAPSE_DAYS="3",
        VALUATION_BACKEND="fallback",  # the API, not the model under development, is under test here
        APP_VERSION="9.9.9",
        GIT_COMMIT="abc1234",
    )


@pytest.fixture(scope="session")
def api_url(base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = Path(tmp_path_factory.mktemp("api")) / "uvicorn.log"
    with running_api(base_env, log) as url:
        yield url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url + "/api/v1", timeout=30) as c:
        yield c


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    return db_engine


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
