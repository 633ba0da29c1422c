"""Listings: the approved owner of a mark lists it with an asking price, edits it, withdraws it; an
administrator can take any listing down.

Who may list: the user whose claim to the mark was approved most recently (``claims``), so approving
a claim is what makes a listing possible, and nobody lists a mark they have not shown a V5C for. A
listing is the ``plates`` row of the mark; listing again after a withdrawal reuses it. Every change
of status runs under the plate's row lock (see :mod:`services.core.offers`), like accepting an offer.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.api.accounts import CallerSession, audit
from services.api.errors import Conflict, Forbidden, NotFound
from services.api.listings.schemas import ListingChange, ListingOffers, ListingView
from services.api.offers.service import view as offer_view
from services.core.models import Claim, ClaimStatus, Offer, OfferStatus, Plate, PlateStatus
from services.core.notifications import EmailKind, money, notify
from services.core.offers import close_open_offers, lock_plate
from services.core.registration import Registration

_SHOWN = (PlateStatus.LISTED.value, PlateStatus.UNDER_OFFER.value)


def listing_view(plate: Plate) -> ListingView:
    return ListingView(
        id=plate.id,
        registration=plate.registration_display,
        status=plate.status,
        asking_price_pence=plate.asking_price_pence,
        description=plate.description,
        listed_at=plate.created_at,
        updated_at=plate.updated_at,
    )


class Listings(CallerSession):
    """The listings ``caller`` may see and change, in one request's session."""

    def create(self, mark: Registration, *, asking_price_pence: int, description: str | None) -> ListingView:
        session = self.session
        seller_id = self.member_id
        claim = session.scalar(
            select(Claim)
            .where(Claim.registration == mark.normalized, Claim.status == ClaimStatus.APPROVED.value)
            .order_by(Claim.reviewed_at.desc().nulls_last(), Claim.id.desc())
            .limit(1)
        )
        if claim is None or claim.user_id != seller_id:
            raise Forbidden(
                f"Only the owner whose claim to {mark.display} was approved may list it; claim it first.",
                code="not_owner",
            )
        plate_id = session.scalar(select(Plate.id).where(Plate.registration == mark.normalized))
        plate = lock_plate(session, plate_id) if plate_id is not None else None
        if plate is None:
            plate = Plate(registration=mark.normalized, registration_display=mark.display, format=mark.format.value)
            session.add(plate)
        elif plate.status in _SHOWN:
            raise Conflict(
                f"{mark.display} is already listed.", code="already_listed", details={"listing_id": plate.id}
            )
        elif plate.status == PlateStatus.SOLD.value:
            raise Conflict(f"{mark.display} was sold on Reggie and cannot be listed again here.", code="plate_sold")
        elif plate.status == PlateStatus.UNLISTED.value:
            raise Conflict(
                f"An administrator took the listing of {mark.display} down; contact support to list it again.",
                code="listing_unlisted",
            )
        plate.status = PlateStatus.LISTED.value
        plate.seller_id = seller_id
        plate.claim_id = claim.id
        plate.asking_price_pence = asking_price_pence
        plate.description = description
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # listed by a concurrent request in between
            raise Conflict(f"{mark.display} is already listed.", code="already_listed") from None
        self._audit(plate, "listing.listed", asking_price_pence=asking_price_pence)
        return self._saved(plate)

    def mine(self) -> list[ListingView]:
        plates = self.session.scalars(
            select(Plate).where(Plate.seller_id == self.member_id).order_by(Plate.updated_at.desc(), Plate.id.desc())
        )
        return [listing_view(plate) for plate in plates]

    def offers(self, listing_id: int) -> ListingOffers:
        """The listing and every offer on it, newest first (its seller or an administrator)."""
        plate = self._own(listing_id, lock=False)
        offers = self.session.scalars(
            select(Offer).where(Offer.plate_id == plate.id).order_by(Offer.created_at.desc(), Offer.id.desc())
        )
        return ListingOffers(
            listing=listing_view(plate), offers=[offer_view(o, plate.registration_display) for o in offers]
        )

    def change(self, listing_id: int, change: ListingChange) -> ListingView:
        """A new asking price or description, while the plate is listed or under offer."""
        plate = self._own(listing_id)
        if plate.status not in _SHOWN:
            raise Conflict(f"This listing is {plate.status}; list the plate again instead.", code="listing_closed")
        details: dict[str, object] = {}
        if change.asking_price_pence is not None and change.asking_price_pence != plate.asking_price_pence:
            details = {"from_pence": plate.asking_price_pence, "to_pence": change.asking_price_pence}
            plate.asking_price_pence = change.asking_price_pence
        if change.description is not None:
            plate.description = change.description
        self._audit(plate, "listing.changed", **details)
        return self._saved(plate)

    def withdraw(self, listing_id: int) -> ListingView:
        """The seller takes the listing down; open offers are declined. Not while an offer is accepted."""
        plate = self._own(listing_id)
        if plate.status == PlateStatus.UNDER_OFFER.value:
            raise Conflict(
                "An accepted offer is waiting for payment; the listing can be withdrawn if it lapses.",
                code="offer_accepted",
            )
        if plate.status != PlateStatus.LISTED.value:
            raise Conflict(f"This listing is {plate.status}.", code="listing_closed")
        plate.status = PlateStatus.WITHDRAWN.value
        declined = close_open_offers(self.session, plate, reason="the seller withdrew the listing")
        self._audit(plate, "listing.withdrawn", declined_offers=declined)
        return self._saved(plate)

    def unlist(self, listing_id: int) -> ListingView:
        """An administrator takes a listing down: open offers and an unpaid accepted one are declined.
        Not while a delayed payment is settling, nor once sold."""
        self.require_admin()
        plate = self._own(listing_id)
        if plate.status in (PlateStatus.SOLD.value, PlateStatus.UNLISTED.value):
            raise Conflict(f"This listing is {plate.status}.", code="listing_closed")
        holding = self.session.scalar(
            select(Offer)
            .where(Offer.plate_id == plate.id, Offer.status.in_([OfferStatus.ACCEPTED, OfferStatus.PAYMENT_PENDING]))
            .with_for_update()
        )
        if holding is not None and holding.status == OfferStatus.PAYMENT_PENDING.value:
            raise Conflict("A payment for this plate is settling; wait for it.", code="payment_pending")
        if holding is not None:
            holding.status = OfferStatus.DECLINED.value
            notify(
                self.session,
                EmailKind.OFFER_DECLINED,
                user_id=holding.buyer_id,
                registration=plate.registration_display,
                amount=money(holding.amount_pence),
                reason="the listing was taken down",
            )
        plate.status = PlateStatus.UNLISTED.value
        declined = close_open_offers(self.session, plate, reason="the listing was taken down")
        if holding is not None:
            declined.append(holding.id)
        self._audit(plate, "listing.unlisted", declined_offers=declined)
        return self._saved(plate)

    def _own(self, listing_id: int, *, lock: bool = True) -> Plate:
        """The listing, if the caller is its seller or an administrator (locked unless ``lock`` is false)."""
        plate = (
            lock_plate(self.session, listing_id)
            if lock
            else self.session.scalar(select(Plate).where(Plate.id == listing_id))
        )
        if plate is None or not (self.caller.is_admin or plate.seller_id == self.member_id):
            raise NotFound("The listing was not found.")
        return plate

    def _audit(self, plate: Plate, action: str, **details: object) -> None:
        audit(
            self.session,
            actor_id=self.member_id,
            action=action,
            target_type="plate",
            target_id=plate.id,
            registration=plate.registration,
            **details,
        )

    def _saved(self, plate: Plate) -> ListingView:
        self.session.flush()
        self.session.refresh(plate)
        return listing_view(plate)
