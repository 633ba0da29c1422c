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

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from services.api import aws
from services.api.auth import JwksCache, Principal, TokenVerifier, bearer_token
from services.api.errors import ApiError
from services.api.secrets import SecretUnavailable, secret
from services.api.settings import ApiSettings
from services.api.storage import DocumentStore
from services.api.valuation_client import InProcessBackend, LambdaBackend, ValuationBackend, ValuationClient
from services.core.db import build_engine, database_url

log = logging.getLogger("reggie.api")


@dataclass(slots=True)
class Dependencies:
    settings: ApiSettings
    engine: Engine | None
    sessions: sessionmaker[Session] | None
    verifier: TokenVerifier | None
    store: DocumentStore | None
    valuations: ValuationClient

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in autocommit for single-statement reads: no BEGIN and no ROLLBACK round trip
        around the one query (the plate lookup is a single statement, consistent on its own)."""
        if self.engine is None:
            raise ApiError(503, "database_unavailable", "The database is not configured for this stage.")
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

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
    engine = None
    if core.database is not None:
        engine = build_engine(database_url(core), on_lambda=core.on_lambda, application_name="reggie-api")
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
        verifier=verifier,
        store=store,
        valuations=ValuationClient(backend),
    )
