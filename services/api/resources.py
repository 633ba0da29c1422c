"""Everything a request needs that must not be built per request: the read pool, the write side's
sessions, the token verifier, the document store, the valuation client, the secrets.

:func:`build_resources` runs once per process (at import of :mod:`services.api.app`, i.e. in Lambda's
init phase) and decides what is built now and what on first use. Built now: only what the plate
lookup needs (the read pool, which opens no connection until the first read). Built by the first
request that needs it: the SQLAlchemy engine (the first write), the token verifier with PyJWT (the
first signed-in request), the R2 and Lambda clients with botocore (the first claim document, the
first valuation), the Stripe client (the first checkout) and the DVLA client with httpx (the first
vehicle lookup). A dependency that is not configured answers 503 naming itself on the routes that
need it, so a partial local set-up still serves the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.api import aws
from services.api.database import Database
from services.api.errors import Unavailable
from services.api.lazy import Lazy
from services.api.principal import Principal
from services.api.reads import DatabaseUnavailable, ReadPool, conninfo_for
from services.api.secrets import Secrets
from services.api.settings import ApiSettings
from services.api.valuations.client import InProcessBackend, LambdaBackend, ValuationBackend, ValuationClient
from services.core.connection import CONNECT_TIMEOUT_S, database_credentials, pool_recycle_s
from services.core.credentials import DatabaseLogin
from services.core.external.payments import Payments, StripeSettings
from services.core.market_settings import MarketSettings
from services.core.settings import Settings

if TYPE_CHECKING:
    from services.api.auth import TokenVerifier
    from services.api.storage import DocumentStore
    from services.core.external.dvla import VehicleEnquiry

__all__ = ["LOCAL_READ_CONNECTIONS", "Resources", "build_resources"]

LOCAL_READ_CONNECTIONS = 8
"""Read connections of a long-running (uvicorn) process: enough to keep one CPU busy, since a plate
lookup spends most of its time waiting for PostgreSQL."""


@dataclass(frozen=True, slots=True)
class Resources:
    settings: ApiSettings
    reads: ReadPool | None
    database: Database
    verify: Callable[[str], Principal] | None
    """Session token to caller; ``None`` when sign-in is not configured."""
    store: Callable[[], DocumentStore] | None
    secrets: Secrets
    valuations: ValuationClient
    payments: Callable[[], Payments]
    """Stripe Checkout; 503 ``payments_unavailable`` when the Stripe key is not configured."""
    vehicles: Callable[[], VehicleEnquiry]
    """The DVLA Vehicle Enquiry Service; 503 ``vehicle_lookup_unavailable`` when its key is not configured."""
    credentials: DatabaseLogin | None = None
    """How the API logs in to the database (its role and IAM tokens), shared by the read and the write side."""
    sign_in: Lazy[TokenVerifier] | None = None
    """The token verifier behind ``verify``, with its cached JWKS."""

    def forget_snapshot_state(self) -> None:
        """Drop what a SnapStart snapshot holds that a restored environment must not use (see
        :mod:`services.api.snapstart`): open database connections, the database credentials and the JWKS
        (cached with their age on the snapshot's clock), the secrets read so far. Each is rebuilt on use."""
        if self.reads is not None:
            self.reads.discard_connections()
        self.database.discard_connections()
        if self.credentials is not None:
            self.credentials.forget()
        if self.sign_in is not None:
            self.sign_in.reset()
        self.secrets.forget()

    def require_reads(self) -> ReadPool:
        """The async connections for single-statement reads (plate lookup and search)."""
        if self.reads is None:
            raise DatabaseUnavailable("The database is not configured for this stage.")
        return self.reads

    def require_payments(self) -> Payments:
        return self.payments()

    def require_vehicles(self) -> VehicleEnquiry:
        return self.vehicles()

    def require_store(self) -> DocumentStore:
        if self.store is None:
            raise Unavailable("Document storage is not configured for this stage.", code="storage_unavailable")
        return self.store()


def build_resources(settings: ApiSettings, *, valuation_backend: ValuationBackend | None = None) -> Resources:
    """The process's resources. ``valuation_backend``: what values marks when no valuation function is
    deployed (the local stack hands in the model in process); without one, a documented heuristic."""
    core = settings.core
    secrets = Secrets(core, aws.ssm_client())
    reads = credentials = None
    if core.database is not None:
        # One login serves both sides: each new connection gets a token signed for it. Nothing is signed
        # or connected until the first request needs it.
        credentials = database_credentials(core)
        reads = ReadPool(
            conninfo_for(core.database),
            # On Lambda an environment serves one request at a time: one connection, as for the engine.
            size=1 if core.on_lambda else LOCAL_READ_CONNECTIONS,
            max_age_s=pool_recycle_s(on_lambda=core.on_lambda),
            connect_timeout_s=CONNECT_TIMEOUT_S,
            application_name="reggie-api",
            credentials=credentials,
        )
    sign_in = _sign_in(core)
    return Resources(
        settings=settings,
        reads=reads,
        database=Database(core, credentials=credentials),
        verify=(lambda token: sign_in().verify(token)) if sign_in is not None else None,
        store=_document_store(core, secrets),
        secrets=secrets,
        valuations=ValuationClient(_valuation_backend(core, valuation_backend)),
        payments=_payments(settings.market, secrets),
        vehicles=_vehicles(settings.market, secrets),
        credentials=credentials,
        sign_in=sign_in,
    )


def _secret_or_unavailable(secrets: Secrets, name: str, code: str, what: str) -> str:
    value = secrets.optional(name)
    if not value:
        raise Unavailable(f"{what} is not configured for this stage.", code=code, reason=f"the {name} secret is unset")
    return value


def _payments(market: MarketSettings, secrets: Secrets) -> Callable[[], Payments]:
    def build() -> Payments:
        key = _secret_or_unavailable(secrets, "stripe_secret_key", "payments_unavailable", "Payment")
        return Payments(StripeSettings(secret_key=key, api_base=market.stripe_api_base))

    return Lazy(build)


def _vehicles(market: MarketSettings, secrets: Secrets) -> Callable[[], VehicleEnquiry]:
    def build() -> VehicleEnquiry:
        key = _secret_or_unavailable(secrets, "dvla_api_key", "vehicle_lookup_unavailable", "The vehicle lookup")
        from services.core.external.dvla import DvlaSettings, VehicleEnquiry  # noqa: PLC0415 - httpx, on first use

        return VehicleEnquiry(DvlaSettings(api_key=key, base_url=market.dvla_api_url))

    return Lazy(build)


def _sign_in(core: Settings) -> Lazy[TokenVerifier] | None:
    issuer, jwks_url = core.clerk_issuer, core.clerk_jwks_url
    if not issuer or not jwks_url:
        return None

    def build() -> TokenVerifier:
        from services.api.auth import JwksCache, TokenVerifier  # noqa: PLC0415 - PyJWT loads with the first sign-in

        return TokenVerifier(issuer=issuer, jwks=JwksCache(jwks_url), allowed_origins=core.allowed_origins)

    return Lazy(build)


def _document_store(core: Settings, secrets: Secrets) -> Callable[[], DocumentStore] | None:
    bucket, endpoint = core.bucket_name, core.bucket_endpoint
    if not bucket or not endpoint:
        return None

    def keys() -> tuple[str | None, str | None]:
        key_id, key_secret = secrets.optional("r2_access_key_id"), secrets.optional("r2_secret_access_key")
        if key_id and key_secret:
            return key_id, key_secret
        return None, None  # the default chain (AWS_* variables locally, for the R2 stand-in)

    def build() -> DocumentStore:
        from services.api.storage import DocumentStore  # noqa: PLC0415 - botocore loads with the first document

        return DocumentStore(aws.r2_client(endpoint, credentials=keys), bucket)

    return Lazy(build)


def _valuation_backend(core: Settings, given: ValuationBackend | None) -> ValuationBackend:
    function = core.function_names.get("valuation")
    if function:
        return LambdaBackend(aws.lambda_client(), function)
    return given or InProcessBackend(None)
