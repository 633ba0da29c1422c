"""Comparable past sales of a registration, from the ``sales`` table (the API adds them to a valuation).

Comparable means sold, same format, and close in spelling: first the mark itself if it sold
before, then the marks most similar by trigram similarity, so ``JAM 35`` finds ``JAM 353`` and other
``JAM`` numbers. The filter is ``pg_trgm``'s ``%`` operator (similarity above the server's
``pg_trgm.similarity_threshold``, 0.3 by default), which the GIN index on ``sales.registration``
serves, so the lookup stays fast as ``sales`` grows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from services.core.models import Sale
from services.core.registration import InvalidRegistration, parse

MAX_LIMIT = 50


def comparable_sales(session: Session, registration: str, limit: int = 5) -> list[dict[str, Any]]:
    """Up to ``limit`` past sales like ``registration``, most alike first; ``[]`` for an invalid mark."""
    try:
        mark = parse(registration)
    except InvalidRegistration:
        return []
    if limit <= 0:
        return []
    similarity = func.similarity(Sale.registration, mark.normalized)
    query = (
        select(Sale, similarity.label("similarity"))
        .where(
            Sale.sold.is_(True),
            Sale.hammer_price_pence.is_not(None),
            Sale.format == mark.format.value,
            Sale.registration.op("%")(mark.normalized),
        )
        .order_by(desc(Sale.registration == mark.normalized), desc(similarity), desc(Sale.sold_on), desc(Sale.id))
        .limit(min(limit, MAX_LIMIT))
    )
    return [_as_dict(sale, float(score)) for sale, score in session.execute(query).all()]


def _as_dict(sale: Sale, similarity: float) -> dict[str, Any]:
    return {
        "registration": sale.registration_display,
        "price": round((sale.hammer_price_pence or 0) / 100),
        "currency": "GBP",
        "auction": sale.auction_name,
        "auction_id": sale.auction_id,
        "lot": sale.lot_number,
        "sold_on": sale.sold_on.isoformat() if sale.sold_on else None,
        "similarity": round(similarity, 3),
    }
