"""Helpers for the API tests: a JWKS server with real RSA keys, token minting, a fake Lambda
Invoke endpoint, the API under uvicorn in a child process, and seeding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import Engine, text

from services.core.registration import parse
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[3]
ISSUER = "https://clerk.reggie.test"
ORIGIN = "https://app.reggie.test"
CLERK_WEBHOOK_SECRET = "whsec_dGVzdC1jbGVyay13ZWJob29rLXNlY3JldA=="
STRIPE_WEBHOOK_SECRET = "whsec_test_stripe_secret"
S3_KEY_ID, S3_SECRET = "testing", "testing-secret"
BUCKET = "reggie-claims"


class Signer:
    """An RSA key with a kid, published by a :class:`JwksServer`."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def mint(
        self,
        *,
        sub: str = "user_alice",
        role: str = "user",
        iss: str = ISSUER,
        azp: str | None = ORIGIN,
        ttl_s: int = 600,
        nbf_offset_s: int = -5,
        iat_offset_s: int = 0,
        drop: tuple[str, ...] = (),
        sid: str = "sess_1",
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss,
            "sub": sub,
            "sid": sid,
            "azp": azp,
            "iat": now + iat_offset_s,
            "nbf": now + nbf_offset_s,
            "exp": now + ttl_s,
            "metadata": {"role": role},
            **extra,
        }
        for name in drop:
            claims.pop(name, None)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


class JwksServer:
    def __init__(self, signers: list[Signer]) -> None:
        self.signers = signers
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps({"keys": [s.jwk() for s in server.signers]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeLambda:
    """Answers the Lambda Invoke API (``POST /2015-03-31/functions/<name>/invocations``).

    ``mode``: ``"ok"`` answers with ``respond(registrations)``; ``"error"`` a 500 service error;
    ``"function_error"`` a handled function error; ``"flaky"`` fails the first call then succeeds.
    ``calls`` counts the invocations and ``asked`` holds the marks of each, in order.
    """

    def __init__(self, respond: Callable[[list[str]], list[dict[str, Any]]]) -> None:
        self.mode = "ok"
        self.calls = 0
        self.asked: list[list[str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                fake.calls += 1
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                fake.asked.append(list(payload.get("registrations", [])))
                status, headers, body = 200, {}, b""
                if fake.mode == "error" or (fake.mode == "flaky" and fake.calls % 2 == 1):
                    status, body = 500, json.dumps({"Type": "Service", "message": "boom"}).encode()
                    headers["x-amzn-ErrorType"] = "ServiceException"
                elif fake.mode == "function_error":
                    headers["X-Amz-Function-Error"] = "Unhandled"
                    body = json.dumps({"errorMessage": "crashed", "errorType": "RuntimeError"}).encode()
                else:
                    body = json.dumps({"results": respond(payload["registrations"])}).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def api_environment(**overrides: str) -> dict[str, str]:
    """The child's environment: this process's minus anything AWS- or stage-specific, plus ``overrides``."""
    dropped = (
        "AWS_", "STAGE", "DATABASE_URL", "BUCKET_", "CLERK_", "STRIPE_", "R2_", "VALUATION_", "DB_",
        "RESEND_", "DVLA_", "OFFER_", "EMAIL_", "CHECKOUT_",
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(overrides)
    return env


DEPLOYED_APP = "services.api.app:app"
LOCAL_APP = "services.local.api:app"


@contextmanager
def running_api(env: dict[str, str], log_path: Path, *, app: str = DEPLOYED_APP) -> Iterator[str]:
    """Serve ``app`` (the deployed API by default) under uvicorn (one worker) on a free loopback port;
    yield its URL."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--log-level", "warning", "--no-access-log"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the API exited at startup:\n{log_path.read_text()}")
                try:
                    if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not become healthy:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def seed_plate(engine: Engine, mark: str, price_pence: int, status: str = "listed") -> int:
    """List ``mark`` (or update its listing) directly in the database; return the plate id."""
    reg = parse(mark)
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO plates (registration, registration_display, format, asking_price_pence, status) "
                    "VALUES (:r, :d, :f, :p, :s) ON CONFLICT (registration) DO UPDATE "
                    "SET asking_price_pence = EXCLUDED.asking_price_pence, status = EXCLUDED.status RETURNING id"
                ),
                {"r": reg.normalized, "d": reg.display, "f": reg.format.value, "p": price_pence, "s": status},
            ).scalar_one()
        )
