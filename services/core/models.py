"""The schema, as SQLAlchemy 2 typed models: the single source the migrations are checked against.

Conventions:
* money is integer pence (``BIGINT``), never float;
* registrations are stored twice: ``registration`` is the normalized key (``AB12CDE``) every lookup
  uses, ``registration_display`` the DVLA spacing (``AB12 CDE``); both come from
  :func:`services.core.registration.parse`;
* statuses are short strings guarded by CHECK constraints (adding a value is an expand-only
  migration; a PostgreSQL enum type would need ``ALTER TYPE`` outside a transaction);
* every constraint and index has a deterministic name (``NAMING_CONVENTION``) so migrations can
  address it;
* timestamps are ``timestamptz`` filled by the server.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.core.registration import PlateFormat
from services.core.statuses import (
    OFFER_TRANSITIONS,
    OFFERS_HOLDING_PLATE,
    AuctionEventStatus,
    ClaimDocumentStatus,
    ClaimStatus,
    EmailStatus,
    OfferStatus,
    PaymentIssueKind,
    PlateStatus,
    UserRole,
    can_transition,
)

__all__ = [
    "OFFER_TRANSITIONS",
    "AuctionEvent",
    "AuctionEventStatus",
    "AuditLog",
    "Base",
    "Claim",
    "ClaimDocument",
    "ClaimDocumentStatus",
    "ClaimStatus",
    "EmailOutbox",
    "EmailStatus",
    "Offer",
    "OfferStatus",
    "PaymentIssue",
    "PaymentIssueKind",
    "Plate",
    "PlateStatus",
    "ProcessedWebhookEvent",
    "Sale",
    "User",
    "UserRole",
    "Valuation",
    "can_transition",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: type[StrEnum] | tuple[StrEnum, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _updated() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


def _id() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=False), primary_key=True)


class User(Base):
    """A person known to Clerk; mirrored by the Clerk webhook and on first authenticated request."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", UserRole), name="role"),)

    id: Mapped[int] = _id()
    clerk_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), server_default=UserRole.USER.value)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set when Clerk reports the user deleted; rows stay for the audit trail."""
    clerk_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When Clerk produced the last event applied to this row: an older event delivered late is ignored."""


class Plate(Base):
    """A registration listed for sale on the marketplace (one row per registration)."""

    __tablename__ = "plates"
    __table_args__ = (
        CheckConstraint(_in("status", PlateStatus), name="status"),
        CheckConstraint(_in("format", PlateFormat), name="format"),
        CheckConstraint("asking_price_pence > 0", name="asking_price_positive"),
        Index("ix_plates_status_created_at", "status", "created_at"),
        Index("ix_plates_format_status_asking_price_pence", "format", "status", "asking_price_pence"),
        Index("ix_plates_status_asking_price_pence", "status", "asking_price_pence"),
        Index(
            "ix_plates_registration_trgm",
            "registration",
            postgresql_using="gin",
            postgresql_ops={"registration": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = _id()
    registration: Mapped[str] = mapped_column(String(8), unique=True)
    registration_display: Mapped[str] = mapped_column(String(9))
    format: Mapped[str] = mapped_column(String(20))
    asking_price_pence: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=PlateStatus.LISTED.value)
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    """``None`` for stock the platform lists itself."""
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="SET NULL"))
    """The approved ownership claim the seller listed under (``None`` for the platform's own stock)."""
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    seller: Mapped[User | None] = relationship()


class Sale(Base):
    """A historical auction result (DVLA auctions): what a registration fetched, or that it did not sell."""

    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("auction_id", "lot_number"),
        CheckConstraint("hammer_price_pence IS NULL OR hammer_price_pence >= 0", name="hammer_price_non_negative"),
        CheckConstraint("lot_number > 0", name="lot_number_positive"),
        Index("ix_sales_registration_sold_on", "registration", "sold_on"),
        Index("ix_sales_format_sold", "format", "sold"),
        Index(
            "ix_sales_registration_trgm",
            "registration",
            postgresql_using="gin",
            postgresql_ops={"registration": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = _id()
    auction_id: Mapped[str] = mapped_column(String(64))
    """Stable per source: for the DVLA CSV, ``dvla-csv-<block>`` with blocks numbered from 1."""
    auction_name: Mapped[str] = mapped_column(String(200))
    lot_number: Mapped[int] = mapped_column(Integer)
    registration: Mapped[str] = mapped_column(String(8))
    registration_display: Mapped[str] = mapped_column(String(9))
    format: Mapped[str | None] = mapped_column(String(20))
    """``None`` when the source lists a mark the parser does not recognise."""
    hammer_price_pence: Mapped[int | None] = mapped_column(BigInteger)
    """The hammer price; ``None`` (or 0 in some sources) when the lot did not sell."""
    starting_price_pence: Mapped[int | None] = mapped_column(BigInteger)
    sold: Mapped[bool] = mapped_column(Boolean)
    sold_on: Mapped[date | None] = mapped_column(Date)
    """The auction date when the source gives one (the DVLA CSV does not)."""
    category: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = _created()


class Valuation(Base):
    """A cached valuation of a registration by one model version."""

    __tablename__ = "valuations"
    __table_args__ = (
        UniqueConstraint("registration", "model_version"),
        CheckConstraint("low_pence <= estimate_pence AND estimate_pence <= high_pence", name="range_ordered"),
        CheckConstraint("low_pence >= 0", name="low_non_negative"),
    )

    id: Mapped[int] = _id()
    registration: Mapped[str] = mapped_column(String(8))
    model_version: Mapped[str] = mapped_column(String(64))
    estimate_pence: Mapped[int] = mapped_column(BigInteger)
    low_pence: Mapped[int] = mapped_column(BigInteger)
    high_pence: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """The model's explanation (features, rules applied), shown to clients as is."""
    created_at: Mapped[datetime] = _created()
    comparable_sale_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When an auction import last wrote a sale comparable to this mark (same format, similar
    spelling, or the mark itself); set by :mod:`services.core.auction_import`."""
    stale: Mapped[bool] = mapped_column(
        Boolean, Computed("comparable_sale_at IS NOT NULL AND comparable_sale_at > created_at", persisted=True)
    )
    """The cached valuation predates the newest comparable sale, so it should be revalued when next
    asked for; refreshing the row (which sets ``created_at``) clears it."""


class AuctionEvent(Base):
    """A DVLA auction event whose results the scraper fetches (``reggie:auctionEventIds`` or an admin)."""

    __tablename__ = "auction_events"
    __table_args__ = (
        CheckConstraint(_in("status", AuctionEventStatus), name="status"),
        CheckConstraint("lots_imported >= 0 AND rows_rejected >= 0 AND conflicts >= 0", name="counts_non_negative"),
        Index("ix_auction_events_status", "status"),
    )

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """The auctioneer's ``EventID``: results are at the URL template with it filled in."""
    name: Mapped[str | None] = mapped_column(String(200))
    """From the results file's title row, once imported."""
    sale_date: Mapped[date | None] = mapped_column(Date)
    """The latest lot date in the results file, once imported."""
    status: Mapped[str] = mapped_column(String(16), server_default=AuctionEventStatus.PENDING.value)
    lots_imported: Mapped[int] = mapped_column(Integer, server_default="0")
    """Lots of the event's auction in ``sales`` after the last import."""
    rows_rejected: Mapped[int] = mapped_column(Integer, server_default="0")
    """Rows of the last file that could not be read (see ``problems``)."""
    conflicts: Mapped[int] = mapped_column(Integer, server_default="0")
    """Lots of the last file whose number already holds another registration in ``sales`` (kept as stored)."""
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    """The first reported rows of the last import: ``[{"line": 12, "message": "..."}]``."""
    content_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the last file imported; a re-published file with another hash is imported again."""
    last_error: Mapped[str | None] = mapped_column(Text)
    """Why the last attempt failed; cleared by a successful import."""
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    """Fetches tried, successful or not."""
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Imported events are re-checked for a re-published file for a while after this."""
    last_imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Offer(Base):
    """A buyer's offer on a listed plate; moves only along :data:`OFFER_TRANSITIONS`."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(_in("status", OfferStatus), name="status"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        Index("ix_offers_plate_id_status", "plate_id", "status"),
        Index("ix_offers_buyer_id_created_at", "buyer_id", "created_at"),
        # One open offer per buyer and plate: a second one must withdraw the first.
        Index(
            "uq_offers_open_per_buyer_plate",
            "plate_id",
            "buyer_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        # One accepted (or paying, or paid) offer per plate: what keeps a plate from being sold twice,
        # whatever the code above it does.
        Index(
            "uq_offers_one_holding_per_plate",
            "plate_id",
            unique=True,
            postgresql_where=text(_in("status", OFFERS_HOLDING_PLATE)),
        ),
        Index("ix_offers_status_lapses_at", "status", "lapses_at"),
    )

    id: Mapped[int] = _id()
    plate_id: Mapped[int] = mapped_column(ForeignKey("plates.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=OfferStatus.OPEN.value)
    payment_reference: Mapped[str | None] = mapped_column(String(255), unique=True)
    """The payment provider's id (a Stripe PaymentIntent) once the buyer has paid (or started a delayed payment)."""
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lapses_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """An accepted offer not paid by then lapses (the scheduled run), and the plate is listed again."""
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    """The Stripe Checkout Session the buyer was last sent to (one at a time per offer)."""
    checkout_url: Mapped[str | None] = mapped_column(Text)
    checkout_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checkout_attempt: Mapped[int] = mapped_column(Integer, server_default="0")
    """Sessions created for this offer so far: part of the idempotency key, so a session that expired
    is replaced by a new one, while a retried or concurrent request for the same one is not."""
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    plate: Mapped[Plate] = relationship()
    buyer: Mapped[User] = relationship()


class Claim(Base):
    """A user's claim to own a registration, backed by uploaded V5C scans and reviewed by an admin."""

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint(_in("status", ClaimStatus), name="status"),
        Index("ix_claims_user_id_created_at", "user_id", "created_at"),
        Index("ix_claims_status_created_at", "status", "created_at"),
        Index("ix_claims_registration", "registration"),
    )

    id: Mapped[int] = _id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    registration: Mapped[str] = mapped_column(String(8))
    registration_display: Mapped[str] = mapped_column(String(9))
    status: Mapped[str] = mapped_column(String(16), server_default=ClaimStatus.PENDING.value)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    documents: Mapped[list[ClaimDocument]] = relationship(back_populates="claim", order_by="ClaimDocument.id")


class ClaimDocument(Base):
    """One uploaded file (a V5C scan) of a claim, stored in the bucket under ``object_key``."""

    __tablename__ = "claim_documents"
    __table_args__ = (
        CheckConstraint(_in("status", ClaimDocumentStatus), name="status"),
        CheckConstraint("declared_size_bytes > 0", name="declared_size_positive"),
        CheckConstraint("confirmed_size_bytes IS NULL OR confirmed_size_bytes >= 0", name="confirmed_size_valid"),
    )

    id: Mapped[int] = _id()
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    object_key: Mapped[str] = mapped_column(String(512), unique=True)
    """Where the client uploads through its presigned PUT URL; deleted once the document is confirmed."""
    stored_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    """The confirmed copy, under a key no upload URL was ever signed for, so it cannot be replaced."""
    content_type: Mapped[str] = mapped_column(String(100))
    declared_size_bytes: Mapped[int] = mapped_column(BigInteger)
    confirmed_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=ClaimDocumentStatus.PENDING_UPLOAD.value)
    created_at: Mapped[datetime] = _created()
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    claim: Mapped[Claim] = relationship(back_populates="documents")


class ProcessedWebhookEvent(Base):
    """A webhook already handled; inserting the same (provider, event id) twice fails, so retries are no-ops."""

    __tablename__ = "processed_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = _id()
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str | None] = mapped_column(String(100))
    processed_at: Mapped[datetime] = _created()


class AuditLog(Base):
    """An administrative action: who did what to which object, with the details as JSON."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_target_type_target_id", "target_type", "target_id"),
        Index("ix_audit_log_actor_id_created_at", "actor_id", "created_at"),
        Index("ix_audit_log_created_at", "created_at"),
    )

    id: Mapped[int] = _id()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created()


class EmailOutbox(Base):
    """An email to send, written in the same transaction as the change it tells someone about.

    The sender (:mod:`services.core.outbox`) sends due rows with Resend, each under its own
    ``idempotency_key``, so a send retried after a crash cannot deliver twice.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint(_in("status", EmailStatus), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint("user_id IS NOT NULL OR to_address IS NOT NULL", name="has_recipient"),
        Index("ix_email_outbox_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_email_outbox_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(40))
    """What it tells (``offer_received``, ``offer_accepted``, ``refund_needed``...)."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    """The recipient; their current address is read when the email is sent."""
    to_address: Mapped[str | None] = mapped_column(String(320))
    """The address, when known at writing time (used when the user has none)."""
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, server_default=text("gen_random_uuid()"))
    status: Mapped[str] = mapped_column(String(16), server_default=EmailStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    """Resend's email id once sent."""
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PaymentIssue(Base):
    """A payment the marketplace could not simply accept: money to refund, or a payment id reused.

    One row per kind and payment (``payment_key``: the PaymentIntent, else the Checkout Session), so
    the two events Stripe sends for one payment record it once; each new row notifies the administrators.
    """

    __tablename__ = "payment_issues"
    __table_args__ = (
        CheckConstraint(_in("kind", PaymentIssueKind), name="kind"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        UniqueConstraint("kind", "payment_key"),
        Index("ix_payment_issues_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(40))
    """Why (``amount_mismatch``, ``currency_mismatch``, ``offer_not_accepted``, ``unknown_offer``...)."""
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    payment_key: Mapped[str] = mapped_column(String(255))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    """What the provider reports was paid, in the currency's minor unit."""
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    created_at: Mapped[datetime] = _created()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
