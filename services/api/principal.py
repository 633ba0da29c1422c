"""Who is calling: the verified caller of a signed-in request (see :mod:`services.api.auth`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "admin"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller."""

    user_id: str
    """Clerk's user id (the token's ``sub``)."""
    session_id: str
    role: Role
    email: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
