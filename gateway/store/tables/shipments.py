"""The shipment tables (added by migration 0003): parcels booked with the post, their events, the feed cursor and
the fees the post collected on delivery (COD)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, SmallInteger, String, Table

from ..types import BigSerial, UTCDateTime
from .metadata import metadata

shipments = Table(
    "shipments",
    metadata,
    # the id is also the saleOrderCode sent to the post, so every event names the shipment it belongs to
    Column("id", String(32), primary_key=True),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False),
    Column("agency_id", String(32), ForeignKey("agencies.id"), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("procedure_code", String(64), nullable=False, server_default=""),
    Column("direction", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("status_code", SmallInteger()),  # the post's raw state (0-22) that set ``status``
    Column("status_text", String(255), nullable=False, server_default=""),
    Column("status_at", UTCDateTime()),  # when the post says that state was reached
    Column("service_code", String(16), nullable=False),
    Column("weight_grams", Integer(), nullable=False),
    Column("cod_amount", BigInteger(), nullable=False, server_default="0"),
    Column("note", String(500), nullable=False, server_default=""),
    Column("citizen_name", String(255), nullable=False),
    Column("citizen_phone", String(16), nullable=False),
    Column("citizen_street", String(255), nullable=False),
    Column("citizen_province_code", String(2), nullable=False),
    Column("citizen_province_name", String(100), nullable=False),
    Column("citizen_commune_code", String(5), nullable=False),
    Column("citizen_commune_name", String(100), nullable=False),
    Column("citizen_admin_version", String(16), nullable=False),
    Column("agency_name", String(255), nullable=False),
    Column("agency_phone", String(16), nullable=False),
    Column("agency_street", String(255), nullable=False),
    Column("agency_province_code", String(2), nullable=False),
    Column("agency_province_name", String(100), nullable=False),
    Column("agency_commune_code", String(5), nullable=False),
    Column("agency_commune_name", String(100), nullable=False),
    Column("agency_admin_version", String(16), nullable=False),
    Column("original_id", String(64), unique=True),  # the post's order id, once it booked the parcel
    Column("item_code", String(13)),  # the S10 number on the parcel
    Column("postage", BigInteger()),  # the post's totalFee, đồng
    Column("status_reason", String(64), nullable=False, server_default=""),
    Column("booked_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "portal_id", "dossier_code"),
    Index(None, "status", "created_at"),
)

shipment_events = Table(
    "shipment_events",
    metadata,
    Column("id", BigSerial, primary_key=True, autoincrement=True),
    Column("shipment_id", String(32), ForeignKey("shipments.id"), nullable=False),
    # originalId, raw status and time: the same on the webhook, the feed and getOrder's history (see events.py)
    Column("dedupe_key", String(120), nullable=False, unique=True),
    Column("feed_id", BigInteger()),
    Column("raw_code", SmallInteger(), nullable=False),
    Column("raw_text", String(255), nullable=False),
    Column("state", String(24), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("location", String(255), nullable=False, server_default=""),
    Column("note", String(500), nullable=False, server_default=""),
    Column("cod_amount", BigInteger(), nullable=False, server_default="0"),
    Column("source", String(16), nullable=False),
    Column("applied", Boolean(), nullable=False),  # whether it moved the shipment's status
    Column("received_at", UTCDateTime(), nullable=False),
    Index(None, "shipment_id", "occurred_at"),
)

postal_cursors = Table(
    "postal_cursors",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_id", BigInteger(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

cod_collections = Table(
    "cod_collections",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("shipment_id", String(32), ForeignKey("shipments.id"), nullable=False, unique=True),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False),
    Column("agency_id", String(32), ForeignKey("agencies.id"), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("procedure_code", String(64), nullable=False, server_default=""),
    Column("amount", BigInteger(), nullable=False),
    Column("collected_at", UTCDateTime(), nullable=False),
    Column("receipt_id", String(32)),  # set by the receipt issuer once it has issued one
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "receipt_id", "collected_at"),
)

# Money the post reported collecting that we do not take as received (migration 0006): an amount other than the one
# booked, or a collection on a shipment that cannot collect (no COD booked, cancelled, returned). Held for
# reconciliation, once per event of the post; never a ``cod_collections`` row, never receipted, never in a total.
cod_exceptions = Table(
    "cod_exceptions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("shipment_id", String(32), ForeignKey("shipments.id"), nullable=False),
    Column("portal_id", String(32), ForeignKey("portals.id"), nullable=False),
    Column("agency_id", String(32), ForeignKey("agencies.id"), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("booked_amount", BigInteger(), nullable=False),
    Column("reported_amount", BigInteger(), nullable=False),
    Column("shipment_status", String(24), nullable=False),  # the shipment's status when the report came
    Column("event_key", String(120), nullable=False, unique=True),  # the reporting event's ``dedupe_key``
    Column("raw_code", SmallInteger(), nullable=False),
    Column("reported_at", UTCDateTime(), nullable=False),  # when the post says it collected
    Column("source", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # open until reconciled
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "shipment_id"),
    Index(None, "status", "created_at"),
)

__all__ = ["cod_collections", "cod_exceptions", "metadata", "postal_cursors", "shipment_events", "shipments"]
