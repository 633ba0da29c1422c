"""A local stand-in for Clerk: an RSA key, its JWKS over HTTP on loopback, and Clerk-shaped tokens.

The API verifies local tokens with exactly the code that verifies Clerk's: it fetches
``CLERK_JWKS_URL`` (here ``http://127.0.0.1:<port>/.well-known/jwks.json``), checks the RS256
signature by ``kid``, ``iss`` against ``CLERK_ISSUER``, the times, and ``azp`` against
``ALLOWED_ORIGINS``.

Token shape (a Clerk session token with the session-token template ``{"metadata":
"{{user.public_metadata}}"}``):

* header: ``alg=RS256``, ``typ=JWT``, ``kid`` (the key's RFC 7638 thumbprint);
* claims: ``iss`` (the issuer URL), ``sub`` (the user id, ``user_...``), ``sid`` (``sess_...``),
  ``azp`` (the origin the token was minted for), ``iat``, ``nbf`` (``iat`` minus 5 s, as Clerk
  does), ``exp``, ``v`` (2), and the role at **``metadata.role``** (``"user"`` or ``"admin"``).

State lives in one folder (``.local/issuer`` under ``make dev``; ``LOCAL_ISSUER_DIR`` names it):
``key.pem`` (PKCS#8, created on first run) and ``issuer.json`` (the issuer URL the running stack
serves, written when it starts), so :func:`mint_token` works from any process on the machine,
including the API's ``/dev/info`` endpoint and tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["JWKS_PATH", "IssuerStateError", "LocalIssuer", "default_issuer_dir", "mint_token"]

JWKS_PATH = "/.well-known/jwks.json"
_KEY_FILE = "key.pem"
_STATE_FILE = "issuer.json"
_NBF_SKEW_S = 5


class IssuerStateError(RuntimeError):
    """The issuer folder is missing or corrupt; the message names the file."""


def default_issuer_dir() -> Path:
    """``LOCAL_ISSUER_DIR`` if set, else ``<repo>/.local/issuer``."""
    configured = os.environ.get("LOCAL_ISSUER_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".local" / "issuer"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class LocalIssuer:
    """The signing key in ``directory`` (created on first use) and the issuer URL it signs for."""

    def __init__(self, directory: Path, *, issuer_url: str | None = None) -> None:
        self.directory = directory
        self._key = self._load_or_create_key()
        numbers = self._key.public_key().public_numbers()
        self._jwk = {"kty": "RSA", "e": _b64(numbers.e), "n": _b64(numbers.n)}
        thumbprint = json.dumps(self._jwk, separators=(",", ":"), sort_keys=True).encode()
        self.kid = "ins_" + base64.urlsafe_b64encode(hashlib.sha256(thumbprint).digest()).rstrip(b"=").decode()[:27]
        self.issuer_url = issuer_url or self._recorded_issuer_url()

    # -- key and state ---------------------------------------------------------------------------

    def _load_or_create_key(self) -> rsa.RSAPrivateKey:
        path = self.directory / _KEY_FILE
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise IssuerStateError(f"{path} is corrupt ({exc}); delete it to make a new key") from None
            if not isinstance(key, rsa.RSAPrivateKey):
                raise IssuerStateError(f"{path} is not an RSA key; delete it to make a new key")
            return key
        self.directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(pem)
        temporary.chmod(0o600)
        temporary.replace(path)  # atomic: a crash never leaves half a key
        return key

    def _recorded_issuer_url(self) -> str:
        path = self.directory / _STATE_FILE
        try:
            url = json.loads(path.read_text())["issuer"]
        except FileNotFoundError:
            raise IssuerStateError(f"{path} does not exist: start the local stack (make dev) first") from None
        except (ValueError, KeyError, TypeError):
            raise IssuerStateError(f"{path} is corrupt; rerun make dev to rewrite it") from None
        if not isinstance(url, str) or not url.startswith("http"):
            raise IssuerStateError(f"{path} is corrupt; rerun make dev to rewrite it")
        return url

    def record_issuer_url(self) -> None:
        """Write ``issuer.json`` so other processes can mint tokens for this issuer."""
        assert self.issuer_url is not None
        path = self.directory / _STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"issuer": self.issuer_url, "jwks_url": self.jwks_url, "kid": self.kid}))
        temporary.replace(path)

    # -- tokens ----------------------------------------------------------------------------------

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer_url}{JWKS_PATH}"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def mint(
        self,
        *,
        subject: str,
        role: str = "user",
        session_id: str | None = None,
        ttl_s: int = 3600,
        azp: str = "http://localhost:3000",
        now: float | None = None,
    ) -> str:
        """A signed session token for ``subject``; see the module docstring for its exact shape."""
        if not subject:
            raise ValueError("subject must be a non-empty user id")
        if role not in ("user", "admin"):
            raise ValueError(f"role must be 'user' or 'admin', not {role!r}")
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer_url,
            "sub": subject,
            "sid": session_id or f"sess_{secrets.token_hex(12)}",
            "azp": azp,
            "iat": issued,
            "nbf": issued - _NBF_SKEW_S,
            "exp": issued + ttl_s,
            "v": 2,
            "metadata": {"role": role},
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    # -- JWKS over HTTP --------------------------------------------------------------------------

    def serve(self, host: str, port: int) -> ThreadingHTTPServer:
        """Serve the JWKS (and the OpenID discovery document) on ``host:port`` from a daemon thread."""
        issuer = self
        body = json.dumps(self.jwks()).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == JWKS_PATH:
                    payload = body
                elif self.path == "/.well-known/openid-configuration":
                    payload = json.dumps({"issuer": issuer.issuer_url, "jwks_uri": issuer.jwks_url}).encode()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the dev console for the API's own log

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, name="local-issuer", daemon=True).start()
        return server


def mint_token(
    *,
    subject: str,
    role: str = "user",
    session_id: str | None = None,
    ttl_s: int = 3600,
    azp: str = "http://localhost:3000",
) -> str:
    """A Clerk-shaped RS256 session token from the running local stack's issuer.

    Reads the key and issuer URL from :func:`default_issuer_dir` (``LOCAL_ISSUER_DIR``). The role is
    carried at ``metadata.role``.
    """
    return LocalIssuer(default_issuer_dir()).mint(
        subject=subject, role=role, session_id=session_id, ttl_s=ttl_s, azp=azp
    )
