"""Everything a request needs that must not be built per request: the database engine, the token
verifier with its JWKS cache, the document store and the valuation client.

:func:`build_dependencies` runs once per process (at import of :mod:`services.api.app`, i.e. in
Lambda's init phase). A dependency that is not configured is ``None`` and the routes that need it
answer 503 with a body saying which one, so a partial local setup still serves the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.api import aws
from services.api.auth import JwksCache, Principal, TokenVerifier, bearer_token
from services.api.errors import ApiError
from services.api.reads import ReadPool, conninfo_from_sqlalchemy_url
from services.api.secrets import SecretUnavailable, secret
from services.api.settings import ApiSettings
from services.api.storage import DocumentStore
from services.api.valuation_client import InProcessBackend, LambdaBackend, ValuationBackend, ValuationClient
from services.core.db import CONNECT_TIMEOUT_S, build_engine, database_credentials, database_url, pool_recycle_s

log = logging.getLogger("reggie.api")

LOCAL_READ_CONNECTIONS = 8
"""Read connections of a long-running (uvicorn) process: enough to keep one CPU busy, since a plate
lookup spends most of its time waiting for PostgreSQL."""


@dataclass(slots=True)
class Dependencies:
    settings: ApiSettings
    engine: Engine | None
    sessions: sessionmaker[Session] | None
    reads: ReadPool | None
    verifier: TokenVerifier | None
    store: DocumentStore | None
    valuations: ValuationClient

    def require_reads(self) -> ReadPool:
        """The async connections for single-statement reads (plate lookup and search)."""
        if self.reads is None:
            raise ApiError(503, "database_unavailable", "The database is not configured for this stage.")
        return self.reads

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back when it raises."""
        if self.sessions is None:
            raise ApiError(503, "database_unavailable", "The database is not configured for this stage.")
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        if self.verifier is None:
            raise ApiError(503, "auth_unavailable", "Sign-in is not configured for this stage.")
        return self.verifier.verify(token)

    def require_store(self) -> DocumentStore:
        if self.store is None:
            raise ApiError(503, "storage_unavailable", "Document storage is not configured for this stage.")
        return self.store


def build_dependencies(settings: ApiSettings) -> Dependencies:
    core = settings.core
    engine = reads = None
    if core.database is not None:
        # One secret read serves both; each rereads it if a rotation refuses a new connection.
        credentials = database_credentials(core)
        url = database_url(core, credentials=credentials)
        engine = build_engine(url, on_lambda=core.on_lambda, application_name="reggie-api", credentials=credentials)
        reads = ReadPool(
            conninfo_from_sqlalchemy_url(url),
            # On Lambda an environment serves one request at a time: one connection, as for the engine.
            size=1 if core.on_lambda else LOCAL_READ_CONNECTIONS,
            max_age_s=pool_recycle_s(on_lambda=core.on_lambda),
            connect_timeout_s=CONNECT_TIMEOUT_S,
            application_name="reggie-api",
            credentials=credentials,
        )
    verifier = None
    if core.clerk_issuer and core.clerk_jwks_url:
        verifier = TokenVerifier(
            issuer=core.clerk_issuer, jwks=JwksCache(core.clerk_jwks_url), allowed_origins=core.allowed_origins
        )
    store = None
    if core.bucket_name and core.bucket_endpoint:
        try:
            key_id, key_secret = secret("r2_access_key_id"), secret("r2_secret_access_key")
        except SecretUnavailable:
            key_id = key_secret = None  # the default chain (AWS_* variables locally, for the R2 stand-in)
        store = DocumentStore(
            aws.r2_client(core.bucket_endpoint, access_key_id=key_id, secret_access_key=key_secret), core.bucket_name
        )
    function = core.function_names.get("valuation")
    backend: ValuationBackend
    if function:
        backend = LambdaBackend(aws.lambda_client(), function)
    elif settings.valuation_backend == "fallback":
        backend = InProcessBackend(None)
    else:
        backend = InProcessBackend.discover()
    return Dependencies(
        settings=settings,
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False) if engine is not None else None,
        reads=reads,
        verifier=verifier,
        store=store,
        valuations=ValuationClient(backend),
    )
