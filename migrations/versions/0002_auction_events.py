"""auction events and stale valuations

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 19:00:00.000000

``auction_events``: the DVLA auction events the scraper fetches results for (status, lots imported,
the last file's content hash and problems, the last error and the attempts). ``valuations`` gains
``comparable_sale_at`` (set by an auction import that wrote a comparable sale) and ``stale``, a
stored generated column true while the cached valuation predates it.

Expand only: a new table, a nullable column and a generated column (which rewrites ``valuations``,
a cache of modest size, under a brief lock); code of the previous
release never reads or writes them. The API's upsert into ``valuations`` names its columns, so it
is unaffected, and refreshing ``created_at`` clears ``stale``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auction_events",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("sale_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("lots_imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("conflicts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("problems", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'imported', 'failed')", name=op.f("ck_auction_events_status")),
        sa.CheckConstraint(
            "lots_imported >= 0 AND rows_rejected >= 0 AND conflicts >= 0",
            name=op.f("ck_auction_events_counts_non_negative"),
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_auction_events")),
    )
    op.create_index("ix_auction_events_status", "auction_events", ["status"], unique=False)
    op.add_column("valuations", sa.Column("comparable_sale_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "valuations",
        sa.Column(
            "stale",
            sa.Boolean(),
            sa.Computed("comparable_sale_at IS NOT NULL AND comparable_sale_at > created_at", persisted=True),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("valuations", "stale")
    op.drop_column("valuations", "comparable_sale_at")
    op.drop_index("ix_auction_events_status", table_name="auction_events")
    op.drop_table("auction_events")
