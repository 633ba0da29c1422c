"""Cursor paging for the lists administrators (and users, of their own things) read newest first.

A page is read in a stable order, the row's time then its unique key as the tiebreaker (two rows written in
the same microsecond still have an order), and one row more than asked for is read to know whether a next
page exists. The next page starts strictly after the last row shown, by that same (time, key) pair
(PostgreSQL's row comparison, which an index on the pair serves); unlike an offset, rows added while a client
pages (newer, so before the first page) neither repeat nor push rows out of view.

The cursor is opaque to clients: URL-safe base64 of the last row's time and key, with the name of the list
it belongs to, so a cursor of another list, an edited cursor or a made-up one is a 400 ``invalid_cursor``,
never a 500 and never a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import Parameter

from services.api.errors import Malformed

if TYPE_CHECKING:  # the controllers import the parameters below; the read path must not load SQLAlchemy
    from sqlalchemy import Select
    from sqlalchemy.orm import QueryableAttribute

__all__ = ["Cursor", "Limit", "Page", "Paging"]

T = TypeVar("T")
S = TypeVar("S", bound="Select[*tuple[Any, ...]]")

Limit = Annotated[int, Parameter(ge=1, le=200, description="Rows per page, 1 to 200")]
Cursor = Annotated[
    str | None,
    Parameter(max_length=200, description="The previous page's next_cursor; omit it for the first page"),
]

_BAD_CURSOR = "The cursor is not one this list gave out; start again without it."


class _Position(msgspec.Struct, array_like=True, frozen=True):
    list_name: str
    at: datetime
    key: int | str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """The rows of one page and the cursor of the next (``None`` on the last page)."""

    rows: Sequence[T]
    next_cursor: str | None


class Paging:
    """How one list is ordered: newest first by ``at``, then by ``key`` (unique), both descending.

    ``name`` says which list a cursor belongs to (another list's cursor is refused); ``key_type`` is the
    key's Python type (``int`` for an id column, ``str`` for a text key)."""

    def __init__(
        self,
        name: str,
        at: QueryableAttribute[datetime],
        key: QueryableAttribute[Any],
        *,
        key_type: type[int] | type[str] = int,
    ) -> None:
        self.name, self.at, self.key, self.key_type = name, at, key, key_type

    def select(self, statement: S, *, cursor: str | None, limit: int) -> S:
        """``statement`` in this list's order, from just after ``cursor``, one row more than ``limit``."""
        from sqlalchemy import tuple_  # noqa: PLC0415 - only the write path pages

        ordered = statement.order_by(self.at.desc(), self.key.desc()).limit(limit + 1)
        if cursor is None:
            return ordered
        return ordered.where(tuple_(self.at, self.key) < tuple_(*self._decode(cursor)))

    def page(self, rows: Sequence[T], *, limit: int, entity: Callable[[T], object] = lambda row: row) -> Page[T]:
        """The page of ``rows`` (read by :meth:`select`); ``entity`` picks the ordered entity out of a row
        (for rows that are tuples), whose ``at`` and ``key`` attributes make the cursor: the same columns the
        order is by, so the cursor cannot disagree with it."""
        if len(rows) <= limit:
            return Page(rows, None)
        last = entity(rows[limit - 1])
        at, key = getattr(last, self.at.key), getattr(last, self.key.key)
        raw = msgspec.json.encode(_Position(self.name, at, key))
        return Page(rows[:limit], base64.urlsafe_b64encode(raw).rstrip(b"=").decode())

    def _decode(self, cursor: str) -> tuple[datetime, int | str]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            position = msgspec.json.decode(raw, type=_Position)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise Malformed(_BAD_CURSOR, code="invalid_cursor") from None
        key = position.key
        fits = type(key) is self.key_type and (not isinstance(key, int) or -(2**63) <= key < 2**63)  # a bigint's range
        if position.list_name != self.name or position.at.tzinfo is None or not fits:
            raise Malformed(_BAD_CURSOR, code="invalid_cursor")
        return position.at, position.key
