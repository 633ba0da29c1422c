"""A local stand-in for the auctioneer's site (real sockets): ``/Event/DownloadExcel?EventID=<id>``
answers whatever the test set for that event (a file, a status, a slow or dripping body); any other
event is a 404, as for an event with no results yet."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from services.scraper.settings import EVENT_IDS, FETCH_TIMEOUT_S, URL_TEMPLATE, ScraperSettings, load_scraper_settings

Reply = Callable[[BaseHTTPRequestHandler], None]


def file_reply(body: bytes, *, delay: float = 0.0) -> Reply:
    def reply(request: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        request.send_response(200)
        request.send_header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return reply


def status_reply(status: int) -> Reply:
    def reply(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return reply


def drip_reply(chunks: int, pause: float) -> Reply:
    def reply(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.end_headers()
        for _ in range(chunks):
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(pause)

    return reply


def _replies() -> dict[str, Reply]:
    return {}


def _requests() -> list[str]:
    return []


@dataclass
class Auctioneer:
    url_template: str
    replies: dict[str, Reply] = field(default_factory=_replies)
    requests: list[str] = field(default_factory=_requests)

    def settings(self, *event_ids: str, timeout: float = 5.0) -> ScraperSettings:
        return load_scraper_settings(
            {
                EVENT_IDS: ",".join(event_ids),
                URL_TEMPLATE: self.url_template,
                FETCH_TIMEOUT_S: str(timeout),
            }
        )


@contextmanager
def serve_auctioneer() -> Iterator[Auctioneer]:
    """An :class:`Auctioneer` listening on a free loopback port until the block ends."""
    state: list[Auctioneer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            event_id = parse_qs(url.query).get("EventID", [""])[0]
            site = state[0]
            site.requests.append(event_id)
            if url.path != "/Event/DownloadExcel" or event_id not in site.replies:
                status_reply(404)(self)
                return
            site.replies[event_id](self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state.append(Auctioneer(f"http://{host!s}:{port}/Event/DownloadExcel?EventID={{event_id}}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
