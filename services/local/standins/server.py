"""What every stand-in shares: a loopback HTTP server in a thread, request recording and fault injection.

A stand-in is a :class:`Standin` subclass: it turns one :class:`Request` into one :class:`Reply` and
knows its service's error shape (:meth:`Standin.error_reply`). :func:`serve` starts it on a free
loopback port (or a given one) in a daemon thread and returns a :class:`Running` handle with the base
URL and ``stop()``. The server records every request and the status it answered, so tests can check
what the code under test really sent, and it can be told to fail (``fail_next``) or stall
(``delay_next``) the next requests, as a real service sometimes does.

Standard library only (``http.server``): the stand-ins start in milliseconds and add no dependency
to ``make dev``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

__all__ = ["RecordedRequest", "Reply", "Request", "Running", "Standin", "json_reply", "serve"]

LOOPBACK = "127.0.0.1"
_MAX_BODY_BYTES = 1_000_000
"""Larger bodies are refused with 413 before they are read (none of the emulated calls comes close)."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    """The path without the query string."""
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not."""
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict[str, str])


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers=dict(headers or {}))


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request a stand-in received, with the status it answered."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The form-encoded body as flat pairs (``line_items[0][quantity]`` stays one key)."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class Standin:
    """The behaviour of one emulated service; subclasses implement :meth:`handle` and :meth:`error_reply`."""

    name = "standin"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: deque[int] = deque()
        self._delays: deque[float] = deque()

    # -- to override -----------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def error_reply(self, status: int) -> Reply:
        """The body the real service sends with ``status`` when it fails on its side."""
        return json_reply(status, {"error": f"HTTP {status}"})

    # -- for tests -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` in the service's error shape."""
        with self._lock:
            self._faults.extend([status] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Stall the next ``times`` requests for ``seconds`` before answering (for client timeouts)."""
        with self._lock:
            self._delays.extend([seconds] * times)

    # -- used by the server ----------------------------------------------------------------------

    def respond(self, request: Request) -> Reply:
        with self._lock:
            delay = self._delays.popleft() if self._delays else 0.0
            fault = self._faults.popleft() if self._faults else None
        if delay:
            time.sleep(delay)
        reply = self.error_reply(fault) if fault is not None else self.handle(request)
        with self._lock:
            self._requests.append(
                RecordedRequest(request.method, request.path, dict(request.headers), request.body, reply.status)
            )
        return reply


S = TypeVar("S", bound=Standin)


@dataclass
class Running(Generic[S]):
    """A stand-in serving on loopback; ``base_url`` has no trailing slash."""

    standin: S
    base_url: str
    _server: ThreadingHTTPServer

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Running[S]:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout) before a delayed answer is expected, not a failure.
        pass


def _handler_for(standin: Standin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the official clients expect of a real API

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY_BYTES:
                self._send(json_reply(413, {"error": "request body too large"}), close=True)
                return
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            self._send(standin.respond(request))

        def _send(self, reply: Reply, *, close: bool = False) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch  # noqa: N815 - http.server's method names

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the dev console is for the API's own log

    return Handler


def serve(standin: S, *, host: str = LOOPBACK, port: int = 0) -> Running[S]:
    """Serve ``standin`` on ``host:port`` (port 0: a free one) from a daemon thread."""
    server = _QuietServer((host, port), _handler_for(standin))
    bound_port = server.server_address[1]
    # A short poll interval makes stop() return in milliseconds rather than the default half second.
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"standin-{standin.name}", daemon=True
    ).start()
    return Running(standin=standin, base_url=f"http://{host}:{bound_port}", _server=server)
