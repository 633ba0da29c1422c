"""Clerk session-token verification: the API's only notion of who is calling.

Clerk signs session JWTs with RS256 and publishes its public keys as a JWKS. The verifier accepts a
token only when all of these hold (anything else is a 401 with a reason, never a 5xx):

* the header says ``alg: RS256`` (so ``none`` and HS256-signed-with-the-public-key are refused before
  any key is touched) and names a ``kid`` the JWKS holds;
* the signature verifies; ``iss`` equals the configured issuer exactly; ``exp``, ``nbf`` and ``iat``
  hold within a small leeway; ``sub`` and ``sid`` are present;
* ``azp`` (the origin the browser session belongs to) is one of the allowed origins.

The JWKS is fetched once and cached for an hour; a token naming an unknown ``kid`` (Clerk rotated its
keys) triggers one refetch, at most once a minute, so a stream of forged ``kid``\\ s cannot turn the
API into a JWKS request amplifier. A fetch that fails is different: until one succeeds, the API cannot
tell a new key from a forged one, so such a token is a 503 (``auth_unavailable``), never a 401 a client
would take as "signed out", and the next request after a short pause (:data:`JWKS_RETRY_AFTER_FAILURE_S`)
fetches again, so the API recovers within seconds of the issuer. Tokens signed with a key already held
keep verifying through an outage. Locally the same code points at the local issuer's JWKS.

PyJWT and ``cryptography`` load with this module, which the API imports with the first signed-in
request (see :mod:`services.api.resources`); the anonymous reads never pay for them.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt
from jwt import PyJWK

from services.api.errors import Unauthenticated, Unavailable
from services.api.principal import Principal, Role

JWKS_TTL_S = 3600.0
JWKS_MIN_REFRESH_INTERVAL_S = 60.0
JWKS_RETRY_AFTER_FAILURE_S = 2.0
"""After a failed fetch, requests in the next 2 s answer 503 at once instead of queueing behind fetches
that would time out too; the first one after that fetches again."""
LEEWAY_S = 5
_FETCH_TIMEOUT_S = 3.0


class JwksUnavailable(Exception):
    """The JWKS could not be fetched or parsed."""


def fetch_jwks(url: str) -> dict[str, Any]:
    """GET a JWKS document (stdlib only: no client library import on the cold-start path)."""
    try:
        with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_S) as response:  # noqa: S310 (https/http from settings)
            document = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise JwksUnavailable(f"cannot fetch the JWKS from {url}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable(f"{url} did not return a JWKS document")
    return document


class JwksCache:
    """Signing keys by ``kid``, fetched lazily, kept for an hour, refreshed on a miss at most once a minute,
    and retried soon after a failed fetch (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[str], dict[str, Any]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        """When the keys were last fetched successfully."""
        self._failure: tuple[float, str] | None = None
        """When and why the last fetch failed, until one succeeds."""
        self._lock = threading.Lock()
        self.fetch_count = 0

    def key(self, kid: str) -> PyJWK | None:
        """The key ``kid`` names, or ``None`` if the (fresh) key set lacks it; :class:`JwksUnavailable`
        when the key set cannot be fetched and ``kid`` is not among the keys already held."""
        with self._lock:
            now = self._clock()
            if self._should_fetch(kid, now):
                try:
                    self._refresh(now)
                except JwksUnavailable:
                    if kid not in self._keys:
                        raise
            elif self._failure is not None and kid not in self._keys:
                raise JwksUnavailable(self._failure[1])
            return self._keys.get(kid)

    def _should_fetch(self, kid: str, now: float) -> bool:
        if self._failure is not None:
            return now - self._failure[0] >= JWKS_RETRY_AFTER_FAILURE_S
        if self._fetched_at is None:
            return True
        age = now - self._fetched_at
        return age >= JWKS_TTL_S or (kid not in self._keys and age >= JWKS_MIN_REFRESH_INTERVAL_S)

    def _refresh(self, now: float) -> None:
        self.fetch_count += 1
        try:
            document = self._fetch(self._url)
        except JwksUnavailable as exc:
            self._failure = (now, str(exc))
            raise
        keys: dict[str, PyJWK] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
                continue
            try:
                keys[str(entry["kid"])] = PyJWK(entry, algorithm="RS256")
            except jwt.PyJWTError:
                continue
        self._keys, self._fetched_at, self._failure = keys, now, None


def _unauthorized(message: str) -> Unauthenticated:
    return Unauthenticated(message, code="invalid_token")


class TokenVerifier:
    def __init__(self, *, issuer: str, jwks: JwksCache, allowed_origins: tuple[str, ...], leeway_s: int = LEEWAY_S):
        self._issuer = issuer
        self._jwks = jwks
        self._allowed_origins = frozenset(allowed_origins)
        self._leeway_s = leeway_s

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("The bearer token is not a well-formed JWT.") from None
        if header.get("alg") != "RS256":
            raise _unauthorized("The bearer token must be signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _unauthorized("The bearer token names no signing key (kid).")
        try:
            key = self._jwks.key(kid)
        except JwksUnavailable as exc:
            message = "The sign-in keys cannot be fetched right now."
            raise Unavailable(message, code="auth_unavailable", reason=str(exc)) from None
        if key is None:
            raise _unauthorized("The bearer token is signed with an unknown key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={"require": ["exp", "iat", "nbf", "iss", "sub", "sid"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("The bearer token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise _unauthorized("The bearer token is not valid yet.") from None
        except jwt.InvalidIssuerError:
            raise _unauthorized("The bearer token was issued by someone else.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthorized(f"The bearer token lacks the {exc.claim!r} claim.") from None
        except jwt.PyJWTError:
            raise _unauthorized("The bearer token's signature or claims are invalid.") from None
        azp = claims.get("azp")
        if not isinstance(azp, str) or azp.rstrip("/") not in self._allowed_origins:
            raise _unauthorized("The bearer token belongs to an origin this API does not serve.")
        sub, sid = claims["sub"], claims["sid"]
        if not isinstance(sub, str) or not sub or not isinstance(sid, str) or not sid:
            raise _unauthorized("The bearer token's subject or session is empty.")
        email = claims.get("email")
        return Principal(
            user_id=sub, session_id=sid, role=role_of(claims), email=email if isinstance(email, str) else None
        )


def role_of(claims: dict[str, Any]) -> Role:
    """The role from the token's public metadata (Clerk session-token template ``{"metadata":
    "{{user.public_metadata}}"}``; ``public_metadata`` is accepted too). Anything but ``admin`` is a user."""
    for name in ("metadata", "public_metadata"):
        metadata = claims.get(name)
        if isinstance(metadata, dict) and metadata.get("role") == "admin":  # pyright: ignore[reportUnknownMemberType]
            return "admin"
    return "user"
