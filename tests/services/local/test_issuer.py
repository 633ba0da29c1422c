"""The local token issuer: Clerk-shaped RS256 tokens that verify against the JWKS it serves over HTTP."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import jwt
import pytest

from services.local.issuer import JWKS_PATH, IssuerStateError, LocalIssuer, mint_token
from tests.servers import free_port


@pytest.fixture
def running(tmp_path: Path):
    port = free_port()
    issuer = LocalIssuer(tmp_path / "issuer", issuer_url=f"http://127.0.0.1:{port}")
    server = issuer.serve("127.0.0.1", port)
    issuer.record_issuer_url()
    yield issuer
    server.shutdown()
    server.server_close()


def test_token_verifies_against_served_jwks(running: LocalIssuer) -> None:
    token = running.mint(subject="user_abc", role="admin", session_id="sess_1")
    with urllib.request.urlopen(f"{running.issuer_url}{JWKS_PATH}", timeout=5) as response:
        jwks = json.loads(response.read())
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == jwks["keys"][0]["kid"]
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(
        token,
        key=key,
        algorithms=["RS256"],
        issuer=running.issuer_url,
        options={"require": ["exp", "iat", "nbf", "iss", "sub", "sid"], "verify_aud": False},
    )
    assert claims["sub"] == "user_abc"
    assert claims["sid"] == "sess_1"
    assert claims["azp"] == "http://localhost:3000"
    assert claims["metadata"] == {"role": "admin"}
    assert claims["nbf"] < claims["iat"] < claims["exp"]


def test_token_from_another_key_does_not_verify(running: LocalIssuer, tmp_path: Path) -> None:
    other = LocalIssuer(tmp_path / "other", issuer_url=running.issuer_url)
    token = other.mint(subject="user_abc")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, key=jwt.PyJWK(running.jwks()["keys"][0]).key, algorithms=["RS256"], issuer=running.issuer_url)


def test_key_persists_and_mint_token_uses_the_recorded_issuer(
    running: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = LocalIssuer(running.directory)
    assert again.kid == running.kid
    assert again.issuer_url == running.issuer_url
    monkeypatch.setenv("LOCAL_ISSUER_DIR", str(running.directory))
    token = mint_token(subject="user_xyz", ttl_s=60)
    claims = jwt.decode(
        token, key=jwt.PyJWK(running.jwks()["keys"][0]).key, algorithms=["RS256"], issuer=running.issuer_url
    )
    assert claims["exp"] - claims["iat"] == 60
    assert claims["metadata"] == {"role": "user"}
    assert claims["sid"].startswith("sess_")


def test_bad_input_and_corrupt_state(tmp_path: Path) -> None:
    issuer = LocalIssuer(tmp_path / "ok", issuer_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="role"):
        issuer.mint(subject="user_a", role="root")
    with pytest.raises(ValueError, match="subject"):
        issuer.mint(subject="")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "key.pem").write_text("not a key")
    with pytest.raises(IssuerStateError, match=r"key\.pem is corrupt"):
        LocalIssuer(corrupt, issuer_url="http://127.0.0.1:1")
    with pytest.raises(IssuerStateError, match="start the local stack"):
        LocalIssuer(tmp_path / "never-started")
