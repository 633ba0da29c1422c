"""Loopback port checks (standard library only, so ``make dev`` can check ports before any heavy import)."""

from __future__ import annotations

import socket

__all__ = ["port_is_free"]


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port`` (checked by binding, as a server would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
