"""TLS to the database, for real: libpq with ``sslmode=verify-full`` against the suite's PostgreSQL behind its TLS
front, with the CA the tests made, refusing a wrong host name, an unknown CA and a connection without TLS;
the deployed settings' connections (own role, IAM token, the shipped RDS roots); and the shipped roots
themselves, held to their pinned fingerprints."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import msgspec
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import Engine, text

from services.core.connection import conninfo_for, database_credentials, database_url
from services.core.credentials import IamAuthToken
from services.core.db import build_engine
from services.core.settings import DatabaseLocation, Settings, load_settings
from services.core.tls import CERTS_FOLDER, RDS_ROOTS, rds_ca_bundle
from tests.tls_front import TlsFront


def _conninfo(front: TlsFront, ca_file: Path | str, **extra: str) -> str:
    options = {"host": front.host, "port": str(front.port), "dbname": "reggie_test", "user": "reggie_api"}
    options |= {"sslmode": "verify-full", "sslrootcert": str(ca_file), "connect_timeout": "5"} | extra
    return " ".join(f"{key}='{value}'" for key, value in options.items())


def test_verify_full_connects_to_the_server_its_ca_vouches_for(
    migrated_database_url: str, postgres_tls: TlsFront, postgres_ca_file: Path
) -> None:
    del migrated_database_url
    with psycopg.connect(_conninfo(postgres_tls, postgres_ca_file)) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT current_user").fetchone() == ("reggie_api",)


def test_verify_full_refuses_a_certificate_for_another_host(
    migrated_database_url: str, postgres_tls: TlsFront, postgres_ca_file: Path
) -> None:
    """The certificate names 127.0.0.1; reached under another name, libpq hangs up."""
    del migrated_database_url
    wrong_name = _conninfo(postgres_tls, postgres_ca_file, host="db.reggie.invalid", hostaddr="127.0.0.1")
    with pytest.raises(psycopg.OperationalError, match=r"does not match host name|certificate"):
        psycopg.connect(wrong_name)


def test_verify_full_refuses_a_server_signed_by_an_unknown_ca(
    migrated_database_url: str, postgres_tls: TlsFront
) -> None:
    """Trusting only the RDS roots (what a deployed function trusts), the test server is refused."""
    del migrated_database_url
    roots = rds_ca_bundle("eu-west-2")
    assert roots is not None
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(_conninfo(postgres_tls, roots))


def test_a_connection_without_tls_is_refused(migrated_database_url: str, postgres_tls: TlsFront) -> None:
    del migrated_database_url
    with pytest.raises(psycopg.OperationalError, match="without TLS refused"):
        psycopg.connect(_conninfo(postgres_tls, "", sslmode="disable"))


# -- the deployed settings ----------------------------------------------------------------------------


@pytest.fixture
def aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials botocore signs with (tokens are signed locally: no AWS endpoint is called)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREGGIETESTKEY000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "reggie-test-secret-key")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # boto3's default session keeps the credentials it resolved first (another test's): start a new one.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def _deployed(front: TlsFront) -> Settings:
    return load_settings(
        {
            "STAGE": "staging",
            "SERVICE_NAME": "api",
            "DB_HOST": front.host,
            "DB_PORT": str(front.port),
            "DB_NAME": "reggie_test",
            "DB_USER": "reggie_api",
            "AWS_REGION": "eu-west-2",
            "AWS_LAMBDA_FUNCTION_NAME": "reggie-staging-api",
        }
    )


def _with_roots(settings: Settings, ca_file: Path) -> Settings:
    """``settings`` trusting ``ca_file`` instead of the RDS roots (the test server is no RDS instance)."""
    assert settings.database is not None
    database: DatabaseLocation = msgspec.structs.replace(settings.database, ca_file=str(ca_file))
    return msgspec.structs.replace(settings, database=database)


class CountingLogin:
    """An :class:`IamAuthToken` that records each token it signs."""

    def __init__(self, inner: IamAuthToken) -> None:
        self.inner = inner
        self.tokens: list[str] = []

    def current(self) -> tuple[str, str]:
        user, token = self.inner.current()
        self.tokens.append(token)
        return user, token

    def reread(self) -> bool:
        return self.inner.reread()

    def forget(self) -> None:
        self.inner.forget()


def _deployed_engine(front: TlsFront, ca_file: Path) -> tuple[Engine, CountingLogin]:
    """The engine a deployed service builds (its role's IAM tokens, TLS verified against ``ca_file``), with
    the login recording every token it signs."""
    settings = _with_roots(_deployed(front), ca_file)
    login = database_credentials(settings)
    assert isinstance(login, IamAuthToken)
    counting = CountingLogin(login)
    return build_engine(database_url(settings, credentials=counting), on_lambda=False, credentials=counting), counting


def test_a_deployed_service_signs_an_iam_token_for_its_own_role_with_every_connection(
    migrated_database_url: str, postgres_tls: TlsFront, postgres_ca_file: Path, aws_keys: None
) -> None:
    del migrated_database_url, aws_keys
    engine, counting = _deployed_engine(postgres_tls, postgres_ca_file)
    try:
        for _ in range(2):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT current_user")).scalar() == "reggie_api"
                assert conn.connection.dbapi_connection.pgconn.ssl_in_use  # type: ignore[union-attr]
            engine.dispose()  # the next connect is a new connection, with a new token
    finally:
        engine.dispose()
    assert len(counting.tokens) == 3  # the URL's, then one per connection
    token = counting.tokens[-1]
    assert token.startswith(f"{postgres_tls.host}:{postgres_tls.port}/?")
    query = parse_qs(urlsplit("https://" + token).query)
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == ["reggie_api"]
    assert query["X-Amz-Expires"] == [str(IamAuthToken.TOKEN_LIFETIME_S)]
    assert query["X-Amz-Credential"][0].endswith("/eu-west-2/rds-db/aws4_request")
    assert query["X-Amz-Credential"][0].startswith("AKIAREGGIETESTKEY000/")
    assert query["X-Amz-Signature"][0]


def test_a_deployed_service_trusts_only_the_rds_roots(
    migrated_database_url: str, postgres_tls: TlsFront, aws_keys: None
) -> None:
    """The deployed settings' own read path (libpq conninfo, IAM login): verify-full against the shipped RDS
    roots, so the suite's server, signed by another CA, is refused before any login is sent."""
    del migrated_database_url, aws_keys
    settings = _deployed(postgres_tls)
    assert settings.database is not None
    conninfo = conninfo_for(settings.database)
    assert "sslmode=verify-full" in conninfo
    login = database_credentials(settings)
    assert login is not None
    user, token = login.current()
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(conninfo, user=user, password=token, connect_timeout=5)


# -- the shipped roots ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[x509.Certificate]]:
    return {
        region: x509.load_pem_x509_certificates((CERTS_FOLDER / f"rds-{region}.pem").read_bytes())
        for region in RDS_ROOTS
    }


def test_every_shipped_root_is_pinned_and_nothing_else_is_shipped(shipped: dict[str, list[Any]]) -> None:
    assert sorted(path.name for path in CERTS_FOLDER.iterdir()) == sorted(f"rds-{r}.pem" for r in RDS_ROOTS)
    for region, certificates in shipped.items():
        found = {
            cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value: cert.fingerprint(
                hashes.SHA256()
            ).hex()
            for cert in certificates
        }
        assert found == RDS_ROOTS[region]


def test_the_shipped_roots_are_unexpired_self_signed_cas_that_openssl_loads(
    shipped: dict[str, list[x509.Certificate]],
) -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365 * 5)
    for region, certificates in shipped.items():
        for cert in certificates:
            assert cert.issuer == cert.subject
            assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            assert cert.not_valid_after_utc > soon, f"{cert.subject.rfc4514_string()} expires within five years"
            cert.verify_directly_issued_by(cert)  # the signature is the root's own
        context = ssl.create_default_context(cafile=str(CERTS_FOLDER / f"rds-{region}.pem"))
        assert len(context.get_ca_certs()) == len(certificates)


def _token_window(token: str) -> tuple[datetime.datetime, datetime.datetime]:
    """When an IAM token was signed and when RDS stops accepting it (``X-Amz-Date`` + ``X-Amz-Expires``)."""
    query = parse_qs(urlsplit("https://" + token).query)
    signed = datetime.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    return signed, signed + datetime.timedelta(seconds=int(query["X-Amz-Expires"][0]))


def test_a_connection_opened_at_minute_fourteen_carries_a_token_signed_then_and_pooled_ones_keep_working(
    migrated_database_url: str,
    postgres_tls: TlsFront,
    postgres_ca_file: Path,
    aws_keys: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The clock botocore signs by is moved on: each new connection's token is signed at the moment it
    connects, so one opened 14 minutes after the first is good for another 15 (none is presented near its
    expiry, let alone expiring during the handshake); the connection opened at minute 0 stays pooled and
    keeps answering at minute 20, past its token's expiry, as an RDS connection does (a token admits a
    login; it does not bound the session)."""
    del migrated_database_url, aws_keys
    import botocore.auth

    start = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    now = {"at": start}
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now["at"].replace(tzinfo=None))
    engine, counting = _deployed_engine(postgres_tls, postgres_ca_file)
    try:
        with engine.connect() as first:
            assert first.execute(text("SELECT current_user")).scalar() == "reggie_api"
            presented = [(now["at"], counting.tokens[-1])]
            now["at"] = start + datetime.timedelta(minutes=14)
            with engine.connect() as second:  # the first is in use: a new connection, a new login
                assert second.execute(text("SELECT 1")).scalar() == 1
                presented.append((now["at"], counting.tokens[-1]))
            now["at"] = start + datetime.timedelta(minutes=20)
            assert first.execute(text("SELECT current_user")).scalar() == "reggie_api"
        with engine.connect() as again:  # a pooled connection, reused after its token expired
            assert again.execute(text("SELECT 1")).scalar() == 1
        assert len(counting.tokens) == 3  # the URL's and one per connection: reuse signed nothing
    finally:
        engine.dispose()
    for connected_at, token in presented:
        signed, expires = _token_window(token)
        assert signed == connected_at  # signed for this connection, not reused from an earlier one
        assert expires - connected_at == datetime.timedelta(minutes=15)
