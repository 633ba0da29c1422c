"""A stand-in for R2's edge in tests: verifies presigned SigV4 query signatures, then forwards to moto.

Moto's S3 server does not check the signature of a presigned URL (it has no notion of which headers
were signed), so on its own it would accept an upload of any type and size. R2 and S3 do check: the
canonical request is rebuilt from the request as received, so a header listed in
``X-Amz-SignedHeaders`` with another value, or a body of another length, produces a different
signature and a 403. This gateway does exactly that check (the SigV4 algorithm, written out here
independently of botocore's signer), plus the expiry, for every request carrying ``X-Amz-Signature``;
other requests (the API's own header-signed calls) are forwarded untouched.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def expected_signature(
    *, method: str, raw_path: str, raw_query: str, headers: dict[str, str], secret_key: str
) -> tuple[str, dict[str, str]]:
    """The signature a presigned request must carry, and its query parameters."""
    params = dict(parse_qsl(raw_query, keep_blank_values=True))
    signed_names = params["X-Amz-SignedHeaders"].split(";")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(parse_qsl(raw_query, keep_blank_values=True))
        if k != "X-Amz-Signature"
    )
    lowered = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    canonical_headers = "".join(f"{name}:{lowered.get(name, '')}\n" for name in signed_names)
    canonical_request = "\n".join(
        [method, raw_path, canonical_query, canonical_headers, ";".join(signed_names), "UNSIGNED-PAYLOAD"]
    )
    _, date, region, service, terminator = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminator}"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _sign(_sign(_sign(_sign(("AWS4" + secret_key).encode(), date), region), service), terminator)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest(), params


class SigV4Gateway:
    def __init__(self, upstream_port: int, secret_key: str) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                if "X-Amz-Signature=" in split.query:
                    refusal = gateway.check(self.command, split.path, split.query, dict(self.headers.items()))
                    if refusal:
                        gateway.refusals.append(refusal)
                        payload = f"<Error><Code>{refusal}</Code></Error>".encode()
                        self.send_response(403)
                        self.send_header("Content-Type", "application/xml")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
                headers["Host"] = f"127.0.0.1:{upstream_port}"
                conn.request(self.command, self.path, body=body if body or length else None, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                # A HEAD answer has no body but reports the object's length: pass that through.
                length_header = response.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length_header or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815

        self.secret_key = secret_key
        self.refusals: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def check(self, method: str, raw_path: str, raw_query: str, headers: dict[str, str]) -> str | None:
        """``None`` when the presigned request is valid, else the S3 error code R2 would answer."""
        try:
            signature, params = expected_signature(
                method=method, raw_path=raw_path, raw_query=raw_query, headers=headers, secret_key=self.secret_key
            )
        except (KeyError, ValueError):
            return "AuthorizationQueryParametersError"
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if datetime.now(UTC) > signed_at + timedelta(seconds=int(params["X-Amz-Expires"])):
            return "AccessDenied"  # "Request has expired"
        if not hmac.compare_digest(signature, params.get("X-Amz-Signature", "")):
            return "SignatureDoesNotMatch"
        return None

    def __enter__(self) -> SigV4Gateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
