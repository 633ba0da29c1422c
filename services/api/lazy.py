"""Values built on first use: how the API keeps a path's cost on that path.

The plate lookup, the route clients call most, needs Litestar, psycopg and the read pool; the writes
need SQLAlchemy, the claims need botocore, sign-in needs PyJWT. Each of those is built (and its
library imported) by the first request that needs it, once per process, not at every cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Lazy"]


class Lazy(Generic[T]):
    """``build()`` run on the first call, once, even when threads race for it; a failure is not kept,
    so the next call tries again (a dependency that was down may be back)."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def reset(self) -> None:
        """Forget the value: the next call builds it again (what a SnapStart restore asks of state that
        must not outlive the snapshot)."""
        with self._lock:
            self._value, self._built = None, False

    def __call__(self) -> T:
        if not self._built:
            with self._lock:
                if not self._built:
                    self._value = self._build()
                    self._built = True
        return self._value  # pyright: ignore[reportReturnType]  (set once _built is true)
