"""unissued receipts and COD exceptions: sources held back with a reason, money reported but not taken on trust

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = gateway.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "unissued_receipts",
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", UTC, nullable=False),
        sa.Column("last_failed_at", UTC, nullable=False),
        sa.Column("retry_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_unissued_receipts_agency_id_agencies")),
        sa.ForeignKeyConstraint(["portal_id"], ["portals.id"], name=op.f("fk_unissued_receipts_portal_id_portals")),
        sa.PrimaryKeyConstraint("source_type", "source_id", name=op.f("pk_unissued_receipts")),
    )
    with op.batch_alter_table("unissued_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unissued_receipts_retry_at"), ["retry_at"], unique=False)

    op.create_table(
        "cod_exceptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shipment_id", sa.String(length=32), nullable=False),
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("booked_amount", sa.BigInteger(), nullable=False),
        sa.Column("reported_amount", sa.BigInteger(), nullable=False),
        sa.Column("shipment_status", sa.String(length=24), nullable=False),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column("raw_code", sa.SmallInteger(), nullable=False),
        sa.Column("reported_at", UTC, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_cod_exceptions_agency_id_agencies")),
        sa.ForeignKeyConstraint(["portal_id"], ["portals.id"], name=op.f("fk_cod_exceptions_portal_id_portals")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_cod_exceptions_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cod_exceptions")),
        sa.UniqueConstraint("event_key", name=op.f("uq_cod_exceptions_event_key")),
    )
    with op.batch_alter_table("cod_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cod_exceptions_shipment_id"), ["shipment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cod_exceptions_status_created_at"), ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cod_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cod_exceptions_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_cod_exceptions_shipment_id"))
    op.drop_table("cod_exceptions")
    with op.batch_alter_table("unissued_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unissued_receipts_retry_at"))
    op.drop_table("unissued_receipts")
