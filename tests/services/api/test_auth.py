"""Clerk session-token verification: every attack in the issue is a 401, over real HTTP with real
RSA signatures; plus the JWKS cache's refresh policy with a controlled clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from services.api.auth import (
    JWKS_MIN_REFRESH_INTERVAL_S,
    JWKS_RETRY_AFTER_FAILURE_S,
    JWKS_TTL_S,
    JwksCache,
    JwksUnavailable,
    TokenVerifier,
)
from services.api.errors import Unauthenticated, Unavailable
from tests.services.api.conftest import bearer
from tests.services.api.support import ISSUER, ORIGIN, JwksServer, Signer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "user_mallory", "sid": "s", "azp": ORIGIN, "iat": now, "nbf": now, "exp": now + 600,
            **overrides}  # fmt: skip


def _alg_none() -> str:
    return _b64(b'{"alg":"none","typ":"JWT","kid":"key-1"}') + "." + _b64(json.dumps(_claims()).encode()) + "."


def _hs256_with_public_key(signer: Signer) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signer.kid}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    signature = hmac.new(signer.public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _tampered(signer: Signer) -> str:
    header, _, signature = signer.mint(sub="user_alice").split(".")
    forged = _b64(json.dumps(_claims(sub="user_admin", metadata={"role": "admin"})).encode())
    return f"{header}.{forged}.{signature}"


ATTACKS = {
    "alg none": lambda s: _alg_none(),
    "HS256 signed with the public key": _hs256_with_public_key,
    "expired": lambda s: s.mint(ttl_s=-60),
    "not yet valid (nbf)": lambda s: s.mint(nbf_offset_s=120),
    "issued in the future (iat)": lambda s: s.mint(iat_offset_s=120),
    "wrong issuer": lambda s: s.mint(iss="https://clerk.evil.test"),
    "issuer with a trailing path": lambda s: s.mint(iss=ISSUER + "/x"),
    "wrong azp": lambda s: s.mint(azp="https://evil.test"),
    "no azp": lambda s: s.mint(azp=None),
    "unknown kid": lambda s: Signer("key-unknown").mint(),
    "tampered payload": _tampered,
    "missing sub": lambda s: s.mint(drop=("sub",)),
    "missing sid": lambda s: s.mint(drop=("sid",)),
    "missing exp": lambda s: s.mint(drop=("exp",)),
    "missing iat": lambda s: s.mint(drop=("iat",)),
    "missing nbf": lambda s: s.mint(drop=("nbf",)),
    "empty sub": lambda s: s.mint(sub=""),
    "garbage": lambda s: "not.a.jwt",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_token_attacks_are_401(client: httpx.Client, signer: Signer, attack: str) -> None:
    response = client.get("/offers", headers=bearer(ATTACKS[attack](signer)))
    assert response.status_code == 401, (attack, response.text)
    assert response.json()["code"] == "invalid_token"


def test_valid_token_is_accepted_and_guards_hold(client: httpx.Client, signer: Signer) -> None:
    assert client.get("/offers", headers=bearer(signer.mint())).status_code == 200
    response = client.get("/offers", params={"all": "true"}, headers=bearer(signer.mint()))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    admin = signer.mint(sub="user_root", role="admin")
    assert client.get("/offers", params={"all": "true"}, headers=bearer(admin)).status_code == 200


def test_missing_or_malformed_authorization_is_401(client: httpx.Client, signer: Signer) -> None:
    assert client.get("/offers").json()["code"] == "missing_token"
    assert client.get("/offers", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/offers", headers={"Authorization": "Bearer"}).status_code == 401


def test_forged_kids_do_not_hammer_the_jwks(client: httpx.Client, signer: Signer, jwks: JwksServer) -> None:
    client.get("/offers", headers=bearer(signer.mint()))
    before = jwks.hits
    forgers = [Signer("forged-a"), Signer("forged-b")]
    for i in range(20):
        assert client.get("/offers", headers=bearer(forgers[i % 2].mint())).status_code == 401
    assert jwks.hits - before <= 1


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_jwks_cache_refresh_policy() -> None:
    old, new = Signer("old"), Signer("new")
    published = [old]
    fetches: list[float] = []
    clock = _Clock()

    def fetch(url: str) -> dict[str, Any]:
        fetches.append(clock.now)
        return {"keys": [s.jwk() for s in published]}

    cache = JwksCache("http://jwks", fetch=fetch, clock=clock)
    verifier = TokenVerifier(issuer=ISSUER, jwks=cache, allowed_origins=(ORIGIN,))
    assert verifier.verify(old.mint()).user_id == "user_alice"
    assert verifier.verify(old.mint()).role == "user"
    assert len(fetches) == 1  # cached
    published.append(new)  # Clerk rotates its keys
    clock.now += 30
    with pytest.raises(Unauthenticated):
        verifier.verify(new.mint())  # unknown kid, but the last fetch was 30 s ago: no refetch
    assert len(fetches) == 1
    clock.now += JWKS_MIN_REFRESH_INTERVAL_S
    assert verifier.verify(new.mint(role="admin")).is_admin  # refetched once on the unknown kid
    assert len(fetches) == 2
    clock.now += JWKS_TTL_S
    verifier.verify(old.mint())
    assert len(fetches) == 3  # the hour is up: refreshed even for a known kid


def test_jwks_outage_is_503_not_500() -> None:
    def down(url: str) -> dict[str, Any]:
        raise JwksUnavailable("connection refused")

    verifier = TokenVerifier(issuer=ISSUER, jwks=JwksCache("http://jwks", fetch=down), allowed_origins=(ORIGIN,))
    with pytest.raises(Unavailable) as raised:
        verifier.verify(Signer("k").mint())
    assert raised.value.code == "auth_unavailable"
    assert "connection refused" in raised.value.reason


def test_a_jwks_outage_is_a_503_never_a_401_and_recovery_is_prompt() -> None:
    """The sequence that logged users out: the JWKS fetch fails at cold start, the issuer recovers seconds
    later, and valid tokens must verify then (not a minute later), with nothing a 401 in between."""
    key, rotated = Signer("key-1"), Signer("key-2")
    published = [key]
    up = [False]
    fetches: list[float] = []
    clock = _Clock()

    def fetch(url: str) -> dict[str, Any]:
        fetches.append(clock.now)
        if not up[0]:
            raise JwksUnavailable("connection refused")
        return {"keys": [s.jwk() for s in published]}

    verifier = TokenVerifier(
        issuer=ISSUER, jwks=JwksCache("http://jwks", fetch=fetch, clock=clock), allowed_origins=(ORIGIN,)
    )

    def outage() -> None:
        with pytest.raises(Unavailable) as raised:
            verifier.verify(key.mint())
        assert raised.value.code == "auth_unavailable"

    outage()  # cold start, issuer down: fetched and failed
    clock.now += JWKS_RETRY_AFTER_FAILURE_S / 2
    outage()  # still a 503, answered without queueing another fetch
    assert len(fetches) == 1
    up[0] = True
    clock.now += JWKS_RETRY_AFTER_FAILURE_S / 2
    assert verifier.verify(key.mint()).user_id == "user_alice"  # seconds after recovery, not a minute
    assert len(fetches) == 2

    # An outage once the keys are held: the held key keeps verifying, a key not held is a 503.
    up[0] = False
    published.append(rotated)
    clock.now += JWKS_TTL_S
    assert verifier.verify(key.mint()).user_id == "user_alice"  # the hourly refresh failed; the key is still good
    with pytest.raises(Unavailable):
        verifier.verify(rotated.mint())  # could be Clerk's new key: not a 401
    assert len(fetches) == 3
    up[0] = True
    clock.now += JWKS_RETRY_AFTER_FAILURE_S
    assert verifier.verify(rotated.mint()).user_id == "user_alice"
    with pytest.raises(Unauthenticated):
        verifier.verify(Signer("forged").mint())  # the key set is fresh and known-good: a forged kid is a 401
    assert len(fetches) == 4


def test_decoding_is_pinned_to_rs256() -> None:
    signer = Signer("k")
    token = jwt.encode(_claims(), signer.key, algorithm="RS512", headers={"kid": "k"})
    verifier = TokenVerifier(
        issuer=ISSUER, jwks=JwksCache("x", fetch=lambda _: {"keys": [signer.jwk()]}), allowed_origins=(ORIGIN,)
    )
    with pytest.raises(Unauthenticated) as raised:
        verifier.verify(token)
    assert raised.value.code == "invalid_token"
