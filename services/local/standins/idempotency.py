"""Idempotency keys as Stripe and Resend keep them: the first answer is saved and replayed.

Both services save the answer to the first request made with a key (once the endpoint began
working; a request refused by validation saves nothing, so it can be fixed and retried with the same
key), replay it to a retry with the same key and the same request, refuse the key with a different
request, and refuse a second request while the first one with the key is still being processed.
They differ only in the status codes and bodies of those refusals, which each stand-in supplies.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum

from services.local.standins.server import Reply

__all__ = ["Claim", "IdempotencyStore", "Outcome"]


class Outcome(Enum):
    FRESH = "fresh"
    """No answer saved under the key: process the request, then :meth:`IdempotencyStore.finish`."""
    REPLAY = "replay"
    """The same request was answered before: send :attr:`Claim.reply` again."""
    MISMATCH = "mismatch"
    """The key was first used with a different request."""
    IN_FLIGHT = "in_flight"
    """The first request with the key is still being processed."""


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: Outcome
    reply: Reply | None = None
    first_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class _Saved:
    fingerprint: str
    reply: Reply


class IdempotencyStore:
    """Saved answers by key; thread-safe. ``fingerprint`` is whatever identifies "the same request"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved: dict[str, _Saved] = {}
        self._in_flight: dict[str, str] = {}

    def claim(self, key: str, fingerprint: str) -> Claim:
        with self._lock:
            saved = self._saved.get(key)
            if saved is not None:
                if saved.fingerprint == fingerprint:
                    return Claim(Outcome.REPLAY, saved.reply)
                return Claim(Outcome.MISMATCH, first_fingerprint=saved.fingerprint)
            if key in self._in_flight:
                return Claim(Outcome.IN_FLIGHT, first_fingerprint=self._in_flight[key])
            self._in_flight[key] = fingerprint
            return Claim(Outcome.FRESH)

    def finish(self, key: str, reply: Reply, *, save: bool) -> None:
        """End the processing of ``key``; ``save`` keeps ``reply`` for retries (False: forget the key)."""
        with self._lock:
            fingerprint = self._in_flight.pop(key)
            if save:
                self._saved[key] = _Saved(fingerprint, reply)
