"""marketplace: listings, one accepted offer per plate, checkout, email outbox, payment issues

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 10:00:00.000000

* ``plates``: ``claim_id`` (the approved claim a seller listed under) and the status ``unlisted``
  (an administrator took the listing down).
* ``offers``: the statuses ``declined``, ``payment_pending`` and ``lapsed``; when it was accepted,
  when it lapses, when it was paid; the Stripe Checkout Session the buyer was sent to; and the
  partial unique index ``uq_offers_one_holding_per_plate``: at most one offer per plate accepted,
  paying or paid.
* ``claim_documents.stored_key``: the confirmed copy, under a key no upload URL points at.
* ``email_outbox``: emails written with the change they report, sent by the worker.
* ``payment_issues``: payments to refund and payment ids reused, for the administrators.

Expand only, apart from one repair the index needs: before it, an administrator could accept any
number of offers on a plate. Of the offers holding one plate, the paid one (else the one accepted
first) keeps it and the others are declined, each with an audit row. Two paid offers on one plate
cannot be repaired here (someone must refund): the revision stops and names them. The previous
release's code writes none of the new values and ignores the new columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLATE_STATUSES_BEFORE = "status IN ('listed', 'under_offer', 'sold', 'withdrawn')"
_PLATE_STATUSES = "status IN ('listed', 'under_offer', 'sold', 'withdrawn', 'unlisted')"
_OFFER_STATUSES_BEFORE = "status IN ('open', 'withdrawn', 'accepted', 'rejected', 'paid')"
_OFFER_STATUSES = (
    "status IN ('open', 'withdrawn', 'accepted', 'rejected', 'declined', 'payment_pending', 'lapsed', 'paid')"
)
_HOLDING = "status IN ('accepted', 'payment_pending', 'paid')"

_DOUBLE_PAID = sa.text(
    "SELECT plate_id, array_agg(id ORDER BY id) AS offers FROM offers WHERE status = 'paid' "
    "GROUP BY plate_id HAVING count(*) > 1"
)
_DECLINE_EXTRA_HOLDERS = sa.text(
    """
    WITH ranked AS (
        SELECT id, plate_id, status, amount_pence,
               row_number() OVER (PARTITION BY plate_id ORDER BY (status = 'paid') DESC, updated_at, id) AS rank
        FROM offers WHERE status IN ('accepted', 'paid')
    ), declined AS (
        UPDATE offers SET status = 'declined', updated_at = now()
        FROM ranked WHERE offers.id = ranked.id AND ranked.rank > 1
        RETURNING offers.id, offers.plate_id, offers.amount_pence
    )
    INSERT INTO audit_log (actor_id, action, target_type, target_id, details)
    SELECT NULL, 'offer.declined', 'offer', declined.id::text,
           jsonb_build_object('reason', 'another offer on the plate was accepted first (migration 0003)',
                              'plate_id', declined.plate_id, 'amount_pence', declined.amount_pence)
    FROM declined
    """
)


def _replace_check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)


def upgrade() -> None:
    op.add_column("plates", sa.Column("claim_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_plates_claim_id_claims"), "plates", "claims", ["claim_id"], ["id"], ondelete="SET NULL"
    )
    _replace_check("plates", "status", _PLATE_STATUSES)

    _replace_check("offers", "status", _OFFER_STATUSES)
    for column in ("accepted_at", "lapses_at", "paid_at", "checkout_expires_at"):
        op.add_column("offers", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.add_column("offers", sa.Column("checkout_session_id", sa.String(length=255), nullable=True))
    op.add_column("offers", sa.Column("checkout_url", sa.Text(), nullable=True))
    op.add_column("offers", sa.Column("checkout_attempt", sa.Integer(), server_default="0", nullable=False))
    op.create_unique_constraint(op.f("uq_offers_checkout_session_id"), "offers", ["checkout_session_id"])
    op.create_index("ix_offers_status_lapses_at", "offers", ["status", "lapses_at"], unique=False)
    doubles = op.get_bind().execute(_DOUBLE_PAID).all()
    if doubles:
        listed = "; ".join(f"plate {row.plate_id}: offers {list(row.offers)}" for row in doubles)
        raise RuntimeError(
            f"plates paid for more than once ({listed}): refund all but one buyer and mark their offers "
            "'rejected', then deploy again"
        )
    op.execute(_DECLINE_EXTRA_HOLDERS)
    op.create_index(
        "uq_offers_one_holding_per_plate", "offers", ["plate_id"], unique=True, postgresql_where=sa.text(_HOLDING)
    )

    op.add_column("claim_documents", sa.Column("stored_key", sa.String(length=512), nullable=True))
    op.create_unique_constraint(op.f("uq_claim_documents_stored_key"), "claim_documents", ["stored_key"])

    op.create_table(
        "email_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f("ck_email_outbox_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_email_outbox_attempts_non_negative")),
        sa.CheckConstraint("user_id IS NOT NULL OR to_address IS NOT NULL", name=op.f("ck_email_outbox_has_recipient")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_email_outbox_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_email_outbox_idempotency_key")),
    )
    op.create_index(
        "ix_email_outbox_due",
        "email_outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_email_outbox_user_id_created_at", "email_outbox", ["user_id", "created_at"], unique=False)

    op.create_table(
        "payment_issues",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("payment_key", sa.String(length=255), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('refund_needed', 'payment_conflict')", name=op.f("ck_payment_issues_kind")),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_payment_issues_status")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_payment_issues_offer_id_offers"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_issues")),
        sa.UniqueConstraint("kind", "payment_key", name=op.f("uq_payment_issues_kind_payment_key")),
    )
    op.create_index(op.f("ix_payment_issues_offer_id"), "payment_issues", ["offer_id"], unique=False)
    op.create_index("ix_payment_issues_status_created_at", "payment_issues", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_payment_issues_status_created_at", table_name="payment_issues")
    op.drop_index(op.f("ix_payment_issues_offer_id"), table_name="payment_issues")
    op.drop_table("payment_issues")
    op.drop_index("ix_email_outbox_user_id_created_at", table_name="email_outbox")
    op.drop_index("ix_email_outbox_due", table_name="email_outbox", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("email_outbox")
    op.drop_constraint(op.f("uq_claim_documents_stored_key"), "claim_documents", type_="unique")
    op.drop_column("claim_documents", "stored_key")
    op.drop_index("uq_offers_one_holding_per_plate", table_name="offers", postgresql_where=sa.text(_HOLDING))
    op.drop_index("ix_offers_status_lapses_at", table_name="offers")
    op.drop_constraint(op.f("uq_offers_checkout_session_id"), "offers", type_="unique")
    for column in (
        "checkout_attempt",
        "checkout_url",
        "checkout_session_id",
        "checkout_expires_at",
        "paid_at",
        "lapses_at",
        "accepted_at",
    ):
        op.drop_column("offers", column)
    # The statuses the previous schema lacks go back to their nearest old meaning.
    op.execute("UPDATE offers SET status = 'rejected' WHERE status IN ('declined', 'lapsed')")
    op.execute("UPDATE offers SET status = 'accepted' WHERE status = 'payment_pending'")
    _replace_check("offers", "status", _OFFER_STATUSES_BEFORE)
    op.execute("UPDATE plates SET status = 'withdrawn' WHERE status = 'unlisted'")
    _replace_check("plates", "status", _PLATE_STATUSES_BEFORE)
    op.drop_constraint(op.f("fk_plates_claim_id_claims"), "plates", type_="foreignkey")
    op.drop_column("plates", "claim_id")
