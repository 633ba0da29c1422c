"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 20:52:01.107030

The whole first schema: users mirrored from Clerk, listed plates, historical auction sales, cached
valuations, offers, ownership claims with their documents, processed webhook events and the admin
audit log. pg_trgm backs the fuzzy registration search (GIN trigram indexes on plates and sales).

Expand and contract: this revision must work while the previous release's code is still serving.
Add nullable columns or columns with defaults, new tables and indexes (CONCURRENTLY for big tables)
here; drop or tighten only in a later revision, once no deployed code reads the old shape.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "processed_webhook_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_processed_webhook_events_provider_event_id")),
    )
    op.create_table(
        "sales",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("auction_name", sa.String(length=200), nullable=False),
        sa.Column("lot_number", sa.Integer(), nullable=False),
        sa.Column("registration", sa.String(length=8), nullable=False),
        sa.Column("registration_display", sa.String(length=9), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=True),
        sa.Column("hammer_price_pence", sa.BigInteger(), nullable=True),
        sa.Column("starting_price_pence", sa.BigInteger(), nullable=True),
        sa.Column("sold", sa.Boolean(), nullable=False),
        sa.Column("sold_on", sa.Date(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "hammer_price_pence IS NULL OR hammer_price_pence >= 0", name=op.f("ck_sales_hammer_price_non_negative")
        ),
        sa.CheckConstraint("lot_number > 0", name=op.f("ck_sales_lot_number_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
        sa.UniqueConstraint("auction_id", "lot_number", name=op.f("uq_sales_auction_id_lot_number")),
    )
    op.create_index("ix_sales_format_sold", "sales", ["format", "sold"], unique=False)
    op.create_index("ix_sales_registration_sold_on", "sales", ["registration", "sold_on"], unique=False)
    op.create_index(
        "ix_sales_registration_trgm",
        "sales",
        ["registration"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"registration": "gin_trgm_ops"},
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("clerk_user_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=16), server_default="user", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("clerk_user_id", name=op.f("uq_users_clerk_user_id")),
    )
    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=False)
    op.create_table(
        "valuations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("registration", sa.String(length=8), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("estimate_pence", sa.BigInteger(), nullable=False),
        sa.Column("low_pence", sa.BigInteger(), nullable=False),
        sa.Column("high_pence", sa.BigInteger(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "low_pence <= estimate_pence AND estimate_pence <= high_pence", name=op.f("ck_valuations_range_ordered")
        ),
        sa.CheckConstraint("low_pence >= 0", name=op.f("ck_valuations_low_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_valuations")),
        sa.UniqueConstraint("registration", "model_version", name=op.f("uq_valuations_registration_model_version")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_actor_id_created_at", "audit_log", ["actor_id", "created_at"], unique=False)
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"], unique=False)
    op.create_index("ix_audit_log_target_type_target_id", "audit_log", ["target_type", "target_id"], unique=False)
    op.create_table(
        "claims",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("registration", sa.String(length=8), nullable=False),
        sa.Column("registration_display", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("reviewer_id", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_claims_status")),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_claims_reviewer_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_claims_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    op.create_index("ix_claims_registration", "claims", ["registration"], unique=False)
    op.create_index("ix_claims_status_created_at", "claims", ["status", "created_at"], unique=False)
    op.create_index("ix_claims_user_id_created_at", "claims", ["user_id", "created_at"], unique=False)
    op.create_table(
        "plates",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("registration", sa.String(length=8), nullable=False),
        sa.Column("registration_display", sa.String(length=9), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("asking_price_pence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="listed", nullable=False),
        sa.Column("seller_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "format IN ('current', 'prefix', 'suffix', 'dateless', 'northern_ireland')", name=op.f("ck_plates_format")
        ),
        sa.CheckConstraint("status IN ('listed', 'under_offer', 'sold', 'withdrawn')", name=op.f("ck_plates_status")),
        sa.CheckConstraint("asking_price_pence > 0", name=op.f("ck_plates_asking_price_positive")),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["users.id"], name=op.f("fk_plates_seller_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plates")),
        sa.UniqueConstraint("registration", name=op.f("uq_plates_registration")),
    )
    op.create_index(
        "ix_plates_format_status_asking_price_pence", "plates", ["format", "status", "asking_price_pence"], unique=False
    )
    op.create_index(
        "ix_plates_registration_trgm",
        "plates",
        ["registration"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"registration": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_plates_seller_id"), "plates", ["seller_id"], unique=False)
    op.create_index("ix_plates_status_asking_price_pence", "plates", ["status", "asking_price_pence"], unique=False)
    op.create_index("ix_plates_status_created_at", "plates", ["status", "created_at"], unique=False)
    op.create_table(
        "claim_documents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(length=512), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("declared_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending_upload", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending_upload', 'uploaded', 'rejected')", name=op.f("ck_claim_documents_status")
        ),
        sa.CheckConstraint(
            "confirmed_size_bytes IS NULL OR confirmed_size_bytes >= 0",
            name=op.f("ck_claim_documents_confirmed_size_valid"),
        ),
        sa.CheckConstraint("declared_size_bytes > 0", name=op.f("ck_claim_documents_declared_size_positive")),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_documents_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_documents")),
        sa.UniqueConstraint("object_key", name=op.f("uq_claim_documents_object_key")),
    )
    op.create_index(op.f("ix_claim_documents_claim_id"), "claim_documents", ["claim_id"], unique=False)
    op.create_table(
        "offers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("plate_id", sa.BigInteger(), nullable=False),
        sa.Column("buyer_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("payment_reference", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'withdrawn', 'accepted', 'rejected', 'paid')", name=op.f("ck_offers_status")
        ),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_offers_amount_positive")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_offers_buyer_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["plate_id"], ["plates.id"], name=op.f("fk_offers_plate_id_plates"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint("payment_reference", name=op.f("uq_offers_payment_reference")),
    )
    op.create_index("ix_offers_buyer_id_created_at", "offers", ["buyer_id", "created_at"], unique=False)
    op.create_index("ix_offers_plate_id_status", "offers", ["plate_id", "status"], unique=False)
    op.create_index(
        "uq_offers_open_per_buyer_plate",
        "offers",
        ["plate_id", "buyer_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("uq_offers_open_per_buyer_plate", table_name="offers", postgresql_where=sa.text("status = 'open'"))
    op.drop_index("ix_offers_plate_id_status", table_name="offers")
    op.drop_index("ix_offers_buyer_id_created_at", table_name="offers")
    op.drop_table("offers")
    op.drop_index(op.f("ix_claim_documents_claim_id"), table_name="claim_documents")
    op.drop_table("claim_documents")
    op.drop_index("ix_plates_status_created_at", table_name="plates")
    op.drop_index("ix_plates_status_asking_price_pence", table_name="plates")
    op.drop_index(op.f("ix_plates_seller_id"), table_name="plates")
    op.drop_index(
        "ix_plates_registration_trgm",
        table_name="plates",
        postgresql_using="gin",
        postgresql_ops={"registration": "gin_trgm_ops"},
    )
    op.drop_index("ix_plates_format_status_asking_price_pence", table_name="plates")
    op.drop_table("plates")
    op.drop_index("ix_claims_user_id_created_at", table_name="claims")
    op.drop_index("ix_claims_status_created_at", table_name="claims")
    op.drop_index("ix_claims_registration", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_audit_log_target_type_target_id", table_name="audit_log")
    op.drop_index("ix_audit_log_created_at", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id_created_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("valuations")
    op.drop_index(op.f("ix_users_email"), table_name="users")
    op.drop_table("users")
    op.drop_index(
        "ix_sales_registration_trgm",
        table_name="sales",
        postgresql_using="gin",
        postgresql_ops={"registration": "gin_trgm_ops"},
    )
    op.drop_index("ix_sales_registration_sold_on", table_name="sales")
    op.drop_index("ix_sales_format_sold", table_name="sales")
    op.drop_table("sales")
    op.drop_table("processed_webhook_events")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
