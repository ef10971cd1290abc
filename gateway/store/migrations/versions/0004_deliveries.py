"""deliveries: webhook endpoints, delivery attempts, and the outbox's delivery and feed columns

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC = gateway.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("secret", sa.String(length=400), nullable=False),
        sa.Column("previous_secret", sa.String(length=400), nullable=True),
        sa.Column("previous_expires_at", UTC, nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("circuit_open_until", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["portal_id"], ["portals.id"], name=op.f("fk_webhook_endpoints_portal_id_portals")),
        sa.PrimaryKeyConstraint("portal_id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.SmallInteger(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=255), server_default="", nullable=False),
        sa.Column("attempted_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_attempts_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_attempts_portal_id_id"), ["portal_id", "id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("dispatch_state", sa.String(length=16), server_default="pending", nullable=False))
        batch_op.add_column(sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", UTC, nullable=True))
        batch_op.add_column(sa.Column("delivered_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=255), server_default="", nullable=False))
        batch_op.create_index(
            batch_op.f("ix_outbox_dispatch_state_position"), ["dispatch_state", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_portal_id_txid_position"), ["portal_id", "txid", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_portal_id_dispatch_state_position"),
            ["portal_id", "dispatch_state", "position"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        # Every event remembers the transaction that wrote it, so the feed can wait for older ones to commit.
        op.execute("ALTER TABLE outbox ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_portal_id_dispatch_state_position"))
        batch_op.drop_index(batch_op.f("ix_outbox_portal_id_txid_position"))
        batch_op.drop_index(batch_op.f("ix_outbox_dispatch_state_position"))
        for column in (
            "last_error",
            "delivered_at",
            "claimed_until",
            "claim_token",
            "next_attempt_at",
            "attempts",
            "dispatch_state",
            "txid",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_portal_id_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_event_id"))
    op.drop_table("delivery_attempts")
    op.drop_table("webhook_endpoints")
