"""Bodies and bounds more than one domain shares (msgspec Structs, documented by the OpenAPI schema).

Each domain's own bodies live in its ``schemas.py``. Money is integer pence everywhere
(``*_pence``), as in the database.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

MAX_PRICE_PENCE = 100_000_000_00  # £100m: above any mark ever sold; bounds every money input

RegistrationText = Annotated[str, Meta(min_length=1, max_length=32, description="A UK mark, any spacing or case")]


class ReviewRequest(Struct, kw_only=True):
    """An administrator's decision on an offer or a claim, with an optional note."""

    note: Annotated[str, Meta(max_length=1000)] | None = None
