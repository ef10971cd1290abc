"""The tables of ``gateway.reconciliation`` (migration ``0009``): runs, the agencies' day totals, breaks.

- ``reconciliation_runs``: one attempt to reconcile one day's file of one partner (the hub's settlement file, the
  post's COD statement). The raw file is kept on disk under its SHA-256 (``file_sha256``, ``file_path``); the same
  file for the same day twice makes no second run (``uq_…_kind_day_file_sha256`` among completed runs is enforced by
  the service under a row lock on the day). A republished file makes a new run whose ``supersedes_id`` names the
  one it replaces, and that one's ``superseded_by_id`` is set. A refused file is a ``failed`` run with the reason.
- ``reconciliation_totals``: per run, agency and day, the money each side counted (collected, settled, fees,
  refunds, COD collected and remitted); the current figures are those of the day's current run.
- ``reconciliation_breaks``: one difference to explain, identified across runs by ``(kind, day, key)`` so a
  republished file keeps a break's history; its lifecycle is open → assigned → resolved, with who and when.
  Every change to a break is also an entry of ``staff_audit`` (``gateway.staff``), and so is a newer run's change
  of its facts, which moves its ``version`` on like a staff change. A break belongs to the agency its line names
  (``agency_code``) and to the agency of our record the line is about (``our_agency_code``, migration ``0010``).
- ``reconciliation_days``: one row per kind and day, the day's lock (a run records itself under ``FOR UPDATE`` on
  it, so two workers running the same day at once make one run) and its current run.
- ``reconciliation_waiting``: per completed run, our records that no file has settled yet (awaiting or missing at
  the hub; COD not remitted yet). The next day's run takes them again with that day's own records, so a late file
  still finds them and a record settled once is never waited for again.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from ..types import UTCDateTime
from .metadata import metadata

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # settlement | cod
    Column("day", Date(), nullable=False),  # the Vietnam business day reconciled
    Column("status", String(16), nullable=False),  # running | completed | failed
    Column("trigger", String(16), nullable=False),  # schedule | manual
    Column("started_by", String(64), nullable=False, server_default=""),  # staff username or the worker
    Column("file_sha256", String(64), nullable=False, server_default=""),
    Column("file_path", String(1000), nullable=False, server_default=""),
    Column("file_bytes", BigInteger(), nullable=False, server_default="0"),
    Column("file_rows", BigInteger(), nullable=False, server_default="0"),
    Column("our_rows", BigInteger(), nullable=False, server_default="0"),
    Column("matched", BigInteger(), nullable=False, server_default="0"),
    Column("breaks", BigInteger(), nullable=False, server_default="0"),
    Column("hub_amount", BigInteger(), nullable=False, server_default="0"),
    Column("hub_fee", BigInteger(), nullable=False, server_default="0"),
    Column("hub_net", BigInteger(), nullable=False, server_default="0"),
    Column("our_amount", BigInteger(), nullable=False, server_default="0"),
    Column("classes", JSON(), nullable=False),  # per line class: lines and amounts
    Column("refusal_code", String(32), nullable=False, server_default=""),
    Column("refusal_message", String(1000), nullable=False, server_default=""),
    Column("supersedes_id", String(32)),
    Column("superseded_by_id", String(32)),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Index(None, "kind", "day", "status"),
    Index(None, "started_at"),
)

reconciliation_totals = Table(
    "reconciliation_totals",
    metadata,
    Column("run_id", String(32), ForeignKey("reconciliation_runs.id"), primary_key=True),
    Column("agency_code", String(32), primary_key=True),  # the hub's MaDonVi / our agency's code
    Column("day", Date(), nullable=False),
    Column("collected", BigInteger(), nullable=False, server_default="0"),  # our payments, money received
    Column("refunded", BigInteger(), nullable=False, server_default="0"),  # our refunds done
    Column("hub_rows", BigInteger(), nullable=False, server_default="0"),
    Column("settled", BigInteger(), nullable=False, server_default="0"),  # the hub's SoTien, signed
    Column("hub_fee", BigInteger(), nullable=False, server_default="0"),  # PhiGiaoDich
    Column("hub_net", BigInteger(), nullable=False, server_default="0"),  # SoTienQuyetToan
    Column("cod_collected", BigInteger(), nullable=False, server_default="0"),
    Column("cod_remitted", BigInteger(), nullable=False, server_default="0"),
    Column("unexplained", BigInteger(), nullable=False, server_default="0"),
    Index(None, "agency_code", "day"),
)

reconciliation_breaks = Table(
    "reconciliation_breaks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # settlement | cod
    Column("day", Date(), nullable=False),
    Column("key", String(160), nullable=False),  # stable across runs of the day: code + the line's identity
    Column("code", String(32), nullable=False),  # reconciliation.reasons.LineClass
    Column("agency_code", String(32), nullable=False, server_default=""),  # the agency the line names
    # The agency of our record the line is about (migration 0010), when we hold one: the break is shown to the staff
    # of either agency, so a line naming another agency than the record's (agency_mismatch) reaches both.
    Column("our_agency_code", String(32), nullable=False, server_default=""),
    Column("run_id", String(32), ForeignKey("reconciliation_runs.id"), nullable=False),  # last run that saw it
    Column("first_run_id", String(32), nullable=False),
    Column("reference", String(64), nullable=False, server_default=""),  # MaThamChieu or S10 item code
    Column("transaction_id", String(64), nullable=False, server_default=""),
    Column("our_id", String(32), nullable=False, server_default=""),
    Column("hub_amount", BigInteger()),
    Column("our_amount", BigInteger()),
    Column("facts", JSON(), nullable=False),  # the engine's line, as found
    Column("status", String(16), nullable=False),  # open | assigned | resolved
    Column("assigned_to", String(64), nullable=False, server_default=""),
    Column("assigned_at", UTCDateTime()),
    Column("resolution", String(32), nullable=False, server_default=""),  # manual | hub_query | settled_later | …
    Column("resolved_by", String(64), nullable=False, server_default=""),
    Column("resolved_at", UTCDateTime()),
    Column("note", String(2000), nullable=False, server_default=""),
    Column("version", Integer(), nullable=False, server_default="1"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("kind", "day", "key"),
    Index(None, "status", "day"),
    Index(None, "agency_code", "day"),
    Index(None, "our_agency_code", "day"),
    Index(None, "reference"),
)

reconciliation_days = Table(
    "reconciliation_days",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("day", Date(), primary_key=True),
    Column("current_run_id", String(32)),  # the completed run whose figures stand for the day
    Column("updated_at", UTCDateTime(), nullable=False),
)

reconciliation_waiting = Table(
    "reconciliation_waiting",
    metadata,
    Column("run_id", String(32), ForeignKey("reconciliation_runs.id"), primary_key=True),
    Column("our_id", String(32), primary_key=True),  # a payment's or refund's id, or a shipment's for COD
    Column("day", Date(), nullable=False),  # the day its money moved
    Column("code", String(32), nullable=False),  # awaiting_hub | missing_at_hub | cod_awaiting | cod_not_remitted
)

__all__ = [
    "metadata",
    "reconciliation_breaks",
    "reconciliation_days",
    "reconciliation_runs",
    "reconciliation_totals",
    "reconciliation_waiting",
]
