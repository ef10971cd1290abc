"""receipts

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt_series",
        sa.Column("tax_code", sa.String(length=14), nullable=False),
        sa.Column("template", sa.String(length=5), nullable=False),
        sa.Column("series", sa.String(length=3), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tax_code", "template", "series", name=op.f("pk_receipt_series")),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("tax_code", sa.String(length=14), nullable=False),
        sa.Column("template", sa.String(length=5), nullable=False),
        sa.Column("series", sa.String(length=3), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("issued_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lookup_code", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("replaces_id", sa.String(length=32), nullable=True),
        sa.Column("replaced_by_id", sa.String(length=32), nullable=True),
        sa.Column("cancel_reason", sa.String(length=255), server_default="", nullable=False),
        sa.Column("cancelled_at", gateway.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_receipts_agency_id_agencies")),
        sa.ForeignKeyConstraint(["portal_id"], ["portals.id"], name=op.f("fk_receipts_portal_id_portals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("lookup_code", name=op.f("uq_receipts_lookup_code")),
        sa.UniqueConstraint(
            "source_type", "source_id", "revision", name=op.f("uq_receipts_source_type_source_id_revision")
        ),
        sa.UniqueConstraint(
            "tax_code", "template", "series", "number", name=op.f("uq_receipts_tax_code_template_series_number")
        ),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipts_portal_id_dossier_code"), ["portal_id", "dossier_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_portal_id_dossier_code"))
    op.drop_table("receipts")
    op.drop_table("receipt_series")
