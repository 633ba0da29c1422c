"""The schema's rules, enforced by the real database: uniqueness, money checks, fuzzy search."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.models import (
    ClaimDocument,
    Offer,
    OfferStatus,
    Plate,
    ProcessedWebhookEvent,
    Sale,
    User,
    can_transition,
)
from services.core.registration import parse


def _plate(text: str, price: int = 50_000) -> Plate:
    reg = parse(text)
    return Plate(
        registration=reg.normalized,
        registration_display=reg.display,
        format=reg.format.value,
        asking_price_pence=price,
    )


def test_one_open_offer_per_buyer_and_plate(db_session: Session) -> None:
    buyer = User(clerk_user_id="user_buyer")
    plate = _plate("AB12 CDE")
    db_session.add_all([buyer, plate])
    db_session.flush()
    first = Offer(plate_id=plate.id, buyer_id=buyer.id, amount_pence=40_000)
    db_session.add(first)
    db_session.flush()
    assert first.status == OfferStatus.OPEN
    savepoint = db_session.begin_nested()
    db_session.add(Offer(plate_id=plate.id, buyer_id=buyer.id, amount_pence=45_000))
    with pytest.raises(IntegrityError, match="uq_offers_open_per_buyer_plate"):
        db_session.flush()
    savepoint.rollback()
    first.status = OfferStatus.WITHDRAWN
    db_session.flush()
    db_session.add(Offer(plate_id=plate.id, buyer_id=buyer.id, amount_pence=45_000))
    db_session.flush()  # a new open offer is fine once the old one is withdrawn


def test_offer_state_machine() -> None:
    assert can_transition("open", "accepted")
    assert can_transition(OfferStatus.ACCEPTED, OfferStatus.PAID)
    assert not can_transition("open", "paid")
    assert not can_transition("withdrawn", "open")
    assert not can_transition("paid", "rejected")
    assert not can_transition("open", "bogus")


@pytest.mark.parametrize(
    "row",
    [
        lambda: _plate("A1", price=0),
        lambda: Plate(registration="X", registration_display="X", format="square", asking_price_pence=1),
        lambda: User(clerk_user_id="user_bad_role", role="root"),
        lambda: ClaimDocument(claim_id=None, object_key="k", content_type="image/png", declared_size_bytes=0),
    ],
)
def test_check_constraints_refuse_bad_rows(db_session: Session, row) -> None:
    db_session.add(row())
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_sales_unique_per_auction_and_lot(db_session: Session) -> None:
    def sale(lot: int, auction: str = "dvla-csv-1") -> Sale:
        return Sale(
            auction_id=auction,
            auction_name="DVLA auction 1",
            lot_number=lot,
            registration="AA54NDS",
            registration_display="AA54 NDS",
            format="current",
            hammer_price_pence=28_000,
            sold=True,
            source="test",
        )

    db_session.add_all([sale(1), sale(2), sale(1, auction="dvla-csv-2")])
    db_session.flush()
    db_session.add(sale(1))
    with pytest.raises(IntegrityError, match="uq_sales_auction_id_lot_number"):
        db_session.flush()


def test_webhook_event_is_processed_once(db_session: Session) -> None:
    db_session.add(ProcessedWebhookEvent(provider="stripe", event_id="evt_1", event_type="payment_intent.succeeded"))
    db_session.flush()
    db_session.add(ProcessedWebhookEvent(provider="stripe", event_id="evt_1"))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_fuzzy_registration_search_uses_trigrams(db_session: Session) -> None:
    db_session.add_all([_plate("AB12 CDE"), _plate("AB12 CDF"), _plate("XY70 ZZZ")])
    db_session.flush()
    similarity = func.similarity(Plate.registration, "AB12CDX")
    found = db_session.scalars(
        select(Plate.registration).where(Plate.registration.op("%")("AB12CDX")).order_by(similarity.desc())
    ).all()
    assert set(found) == {"AB12CDE", "AB12CDF"}
