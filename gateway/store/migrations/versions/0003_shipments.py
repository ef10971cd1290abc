"""shipments: parcels booked with the post, their events, the feed cursor and COD collections

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "postal_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_postal_cursors")),
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), server_default="", nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("status_text", sa.String(length=255), server_default="", nullable=False),
        sa.Column("status_at", gateway.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("service_code", sa.String(length=16), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=False),
        sa.Column("cod_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("citizen_name", sa.String(length=255), nullable=False),
        sa.Column("citizen_phone", sa.String(length=16), nullable=False),
        sa.Column("citizen_street", sa.String(length=255), nullable=False),
        sa.Column("citizen_province_code", sa.String(length=2), nullable=False),
        sa.Column("citizen_province_name", sa.String(length=100), nullable=False),
        sa.Column("citizen_commune_code", sa.String(length=5), nullable=False),
        sa.Column("citizen_commune_name", sa.String(length=100), nullable=False),
        sa.Column("citizen_admin_version", sa.String(length=16), nullable=False),
        sa.Column("agency_name", sa.String(length=255), nullable=False),
        sa.Column("agency_phone", sa.String(length=16), nullable=False),
        sa.Column("agency_street", sa.String(length=255), nullable=False),
        sa.Column("agency_province_code", sa.String(length=2), nullable=False),
        sa.Column("agency_province_name", sa.String(length=100), nullable=False),
        sa.Column("agency_commune_code", sa.String(length=5), nullable=False),
        sa.Column("agency_commune_name", sa.String(length=100), nullable=False),
        sa.Column("agency_admin_version", sa.String(length=16), nullable=False),
        sa.Column("original_id", sa.String(length=64), nullable=True),
        sa.Column("item_code", sa.String(length=13), nullable=True),
        sa.Column("postage", sa.BigInteger(), nullable=True),
        sa.Column("status_reason", sa.String(length=64), server_default="", nullable=False),
        sa.Column("booked_at", gateway.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_shipments_agency_id_agencies")),
        sa.ForeignKeyConstraint(["portal_id"], ["portals.id"], name=op.f("fk_shipments_portal_id_portals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("original_id", name=op.f("uq_shipments_original_id")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipments_portal_id_dossier_code"), ["portal_id", "dossier_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shipments_status_created_at"), ["status", "created_at"], unique=False)

    op.create_table(
        "cod_collections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shipment_id", sa.String(length=32), nullable=False),
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), server_default="", nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("collected_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("receipt_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_cod_collections_agency_id_agencies")),
        sa.ForeignKeyConstraint(["portal_id"], ["portals.id"], name=op.f("fk_cod_collections_portal_id_portals")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_cod_collections_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cod_collections")),
        sa.UniqueConstraint("shipment_id", name=op.f("uq_cod_collections_shipment_id")),
    )
    with op.batch_alter_table("cod_collections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cod_collections_receipt_id_collected_at"), ["receipt_id", "collected_at"], unique=False
        )

    op.create_table(
        "shipment_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shipment_id", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("feed_id", sa.BigInteger(), nullable=True),
        sa.Column("raw_code", sa.SmallInteger(), nullable=False),
        sa.Column("raw_text", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("occurred_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=255), server_default="", nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("cod_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("received_at", gateway.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_events_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_shipment_events_dedupe_key")),
    )
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_events_shipment_id_occurred_at"), ["shipment_id", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_events_shipment_id_occurred_at"))

    op.drop_table("shipment_events")
    with op.batch_alter_table("cod_collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cod_collections_receipt_id_collected_at"))

    op.drop_table("cod_collections")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_shipments_portal_id_dossier_code"))

    op.drop_table("shipments")
    op.drop_table("postal_cursors")
