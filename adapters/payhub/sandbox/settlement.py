"""The daily settlement file: rows built from what was really paid and refunded, plus edits for tests.

Pure: rows in, CSV chunks out. The file is hashed in one pass and streamed in a second, both
over the same snapshot of rows, so its ``X-MaXacThuc`` header can be sent before the body.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import msgspec

from adapters.payhub import checksum
from adapters.payhub.codes import REFUND_DONE, SETTLEMENT_COLUMNS, SETTLEMENT_ROW_PAYMENT, SETTLEMENT_ROW_REFUND
from adapters.vntime import VN_TZ, business_day, format_compact

from .config import LATE_SETTLEMENT_SECONDS, SETTLEMENT_PUBLISH_HOUR, TRANSACTION_FEE
from .state import PAID, REFUNDED, Ledger

COLUMNS = SETTLEMENT_COLUMNS
ROW_PAYMENT = SETTLEMENT_ROW_PAYMENT
ROW_REFUND = SETTLEMENT_ROW_REFUND
CHUNK_ROWS = 1000

Row = dict[str, str]


class Edit(msgspec.Struct, forbid_unknown_fields=True):
    """A change to a day's file for reconciliation tests: add a row, or drop, duplicate or alter one."""

    action: str
    MaGiaoDich: str = ""
    row: dict[str, Any] = msgspec.field(default_factory=dict)
    changes: dict[str, Any] = msgspec.field(default_factory=dict)


class EditError(ValueError):
    pass


def parse_day(text: str) -> date:
    """``yyyyMMdd`` → date; ``ValueError`` otherwise."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"not a yyyyMMdd day: {text!r}")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def is_published(day: date, now: datetime) -> bool:
    """D's file exists from D+1 01:00 Vietnam time."""
    opens = datetime.combine(day + timedelta(days=1), time(SETTLEMENT_PUBLISH_HOUR), tzinfo=VN_TZ)
    return now >= opens


def settlement_day(moment: datetime) -> date:
    """The file money lands in: its Vietnam day, or the next one when it moved just before midnight."""
    return business_day(moment + timedelta(seconds=LATE_SETTLEMENT_SECONDS))


def ledger_rows(ledger: Ledger, day: date) -> list[Row]:
    """Paid transactions and completed refunds settled on ``day``, in time order."""
    stamp = f"{day:%Y%m%d}"
    dated: list[tuple[datetime, Row]] = []
    for order in ledger.orders.values():
        receipt = order.request.receipt
        if order.state in (PAID, REFUNDED) and order.paid_at and settlement_day(order.paid_at) == day:
            fee = min(TRANSACTION_FEE, order.amount)
            dated.append((order.paid_at, _row(
                order.transaction_id, order.reference, receipt.MaHoSo, receipt.MaDonVi, order.amount, fee,
                order.bank_code, order.paid_at, ROW_PAYMENT, stamp,
            )))
        for refund in order.refunds:
            done = refund.completed_at
            if refund.state == REFUND_DONE and done and settlement_day(done) == day:
                dated.append((done, _row(
                    refund.transaction_id, order.reference, receipt.MaHoSo, receipt.MaDonVi,
                    -refund.amount, 0, order.bank_code, done, ROW_REFUND, stamp,
                )))
    dated.sort(key=lambda pair: (pair[0], pair[1]["MaGiaoDich"]))
    return [row for _, row in dated]


def apply_edits(rows: list[Row], edits: Iterable[Edit], day: date) -> list[Row]:
    result = [dict(row) for row in rows]
    for edit in edits:
        result = apply_edit(result, edit, day)
    return result


def apply_edit(rows: list[Row], edit: Edit, day: date) -> list[Row]:
    """One edit; ``EditError`` when it names no row of the file or carries unknown columns."""
    if edit.action == "add":
        return [*rows, _added_row(edit.row, day)]
    index = next((i for i, row in enumerate(rows) if row["MaGiaoDich"] == edit.MaGiaoDich), None)
    if index is None:
        raise EditError(f"no row with MaGiaoDich {edit.MaGiaoDich!r}")
    if edit.action == "drop":
        return [*rows[:index], *rows[index + 1:]]
    if edit.action == "duplicate":
        return [*rows[:index + 1], dict(rows[index]), *rows[index + 1:]]
    if edit.action == "alter":
        _check_columns(edit.changes)
        altered = {**rows[index], **{k: str(v) for k, v in edit.changes.items()}}
        if "SoTienQuyetToan" not in edit.changes:
            altered["SoTienQuyetToan"] = _net(altered)
        return [*rows[:index], altered, *rows[index + 1:]]
    raise EditError(f"unknown action {edit.action!r}: add, drop, duplicate or alter")


def csv_chunks(rows: list[Row]) -> Iterator[bytes]:
    """RFC 4180 CSV, header first, in chunks of ``CHUNK_ROWS`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for count, row in enumerate(rows, start=1):
        writer.writerow([row.get(name, "") for name in COLUMNS])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def file_checksum(rows: list[Row], key: str) -> str:
    """``X-MaXacThuc`` of the file the rows make, hashed chunk by chunk."""
    digest = hashlib.sha256()
    for chunk in csv_chunks(rows):
        digest.update(chunk)
    return checksum.compute([digest.hexdigest()], key)


def _row(
    transaction_id: str, reference: str, dossier: str, agency: str, amount: int, fee: int, bank: str,
    at: datetime, state: str, day: str,
) -> Row:
    return {
        "MaGiaoDich": transaction_id,
        "MaThamChieu": reference,
        "MaHoSo": dossier,
        "MaDonVi": agency,
        "SoTien": str(amount),
        "PhiGiaoDich": str(fee),
        "SoTienQuyetToan": str(amount - fee),
        "MaNganHang": bank,
        "ThoiGianThanhToan": format_compact(at),
        "TrangThai": state,
        "NgayQuyetToan": day,
    }


def _added_row(given: dict[str, Any], day: date) -> Row:
    _check_columns(given)
    if not given.get("MaGiaoDich") or "SoTien" not in given:
        raise EditError("an added row needs at least MaGiaoDich and SoTien")
    row = {name: "" for name in COLUMNS}
    row.update({"PhiGiaoDich": "0", "TrangThai": ROW_PAYMENT, "NgayQuyetToan": f"{day:%Y%m%d}"})
    row.update({k: str(v) for k, v in given.items()})
    if "SoTienQuyetToan" not in given:
        row["SoTienQuyetToan"] = _net(row)
    return row


def _net(row: Row) -> str:
    try:
        return str(int(row["SoTien"]) - int(row["PhiGiaoDich"] or 0))
    except ValueError:
        return row.get("SoTienQuyetToan", "")


def _check_columns(values: dict[str, Any]) -> None:
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise EditError(f"unknown columns: {', '.join(sorted(unknown))}")
