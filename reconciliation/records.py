"""Our side of a reconciliation: the payments and refunds the gateway recorded, one by one or in bulk.

``OurRecord`` is the shape of one row; ``RecordSpool`` takes them (or whole column batches straight from a
database cursor) and keeps them on disk as Arrow IPC parts, so millions of rows reach the engine without ever being
Python objects all at once. The parts are uncompressed: they are written once and read back once, and Parquet's
encoding cost more than the disk it saved.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from adapters.payhub.codes import SettledKind as RecordKind

SPOOL_BATCH_ROWS = 200_000


class RecordStatus(enum.StrEnum):
    """The gateway's states of a payment and of a refund, as stored."""

    CREATED = "created"
    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PROCESSING = "processing"  # refund accepted by the hub, not done
    UNKNOWN = "unknown"  # refund sent, no answer yet
    SUCCEEDED = "succeeded"  # refund done


# States in which money moved, so the hub's file must list the record.
MONEY_MOVED = frozenset(
    {RecordStatus.PAID, RecordStatus.PARTIALLY_REFUNDED, RecordStatus.REFUNDED, RecordStatus.SUCCEEDED}
)


class OurRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One payment or refund of ours. ``reference`` is the payment's ``MaThamChieu`` (a refund's, its payment's);
    ``day`` is the Vietnam business day the money moved (or, if it has not, the day the record was opened);
    ``agency`` is the agency code the hub writes for it."""

    id: str
    kind: RecordKind
    reference: str
    amount: int  # whole đồng, positive for payments and refunds alike
    status: RecordStatus
    day: date
    agency: str
    transaction_id: str = ""  # the hub's MaGiaoDich once known
    refund_reference: str = ""  # MaYeuCauHoan of a refund


RECORD_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "kind": pl.String,
    "reference": pl.String,
    "amount": pl.Int64,
    "status": pl.String,
    "day": pl.Date,
    "agency": pl.String,
    "transaction_id": pl.String,
    "refund_reference": pl.String,
}
FIELDS = tuple(RECORD_SCHEMA)


def records_frame(records: Iterable[OurRecord]) -> pl.DataFrame:
    """A small set of records as one frame (tests, one-off runs); use ``RecordSpool`` for millions."""
    rows = [tuple(getattr(record, name) for name in FIELDS) for record in records]
    return pl.DataFrame(rows, schema=RECORD_SCHEMA, orient="row")


class RecordSpool:
    """Records written to Arrow IPC parts in a directory, batch by batch; ``scan()`` reads them all lazily."""

    def __init__(self, directory: Path, batch_rows: int = SPOOL_BATCH_ROWS) -> None:
        self.directory = directory
        self.batch_rows = batch_rows
        self.parts = 0
        self.rows = 0
        self._pending: list[OurRecord] = []
        directory.mkdir(parents=True, exist_ok=True)

    def add(self, record: OurRecord) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.batch_rows:
            self.flush()

    def add_columns(self, columns: Mapping[str, Sequence[Any]]) -> None:
        """A batch as columns (name → values), e.g. straight from a database cursor's fetch."""
        self._write(pl.DataFrame(dict(columns), schema=RECORD_SCHEMA))

    def flush(self) -> None:
        if self._pending:
            self._write(records_frame(self._pending))
            self._pending = []

    def scan(self) -> pl.LazyFrame:
        self.flush()
        if not self.parts:
            return pl.LazyFrame(schema=RECORD_SCHEMA)
        return pl.scan_ipc(self.directory / "part-*.arrow")

    def _write(self, frame: pl.DataFrame) -> None:
        bad = frame.filter(
            ~pl.col("kind").is_in([k.value for k in RecordKind])
            | ~pl.col("status").is_in([s.value for s in RecordStatus])
            | (pl.col("amount") < 0)
        )
        if not bad.is_empty():
            raise ValueError(f"records with an unknown kind or status or a negative amount: {bad.head(3).to_dicts()}")
        frame.write_ipc(self.directory / f"part-{self.parts:05d}.arrow", compression="uncompressed")
        self.parts += 1
        self.rows += frame.height
