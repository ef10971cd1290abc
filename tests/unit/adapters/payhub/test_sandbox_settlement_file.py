"""The settlement file's pure parts: rows from the ledger, the CSV and its checksum, edits, publication time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.payhub import FeeItem, ReceiptInfo
from adapters.payhub.checksum import settlement_body_checksum
from adapters.payhub.sandbox.config import TRANSACTION_FEE
from adapters.payhub.sandbox.settlement import (
    CHUNK_ROWS,
    COLUMNS,
    Edit,
    EditError,
    apply_edit,
    csv_chunks,
    file_checksum,
    is_published,
    ledger_rows,
    parse_day,
    settlement_day,
)
from adapters.payhub.sandbox.state import Ledger, OrderRequest
from adapters.vntime import VN_TZ

DAY = date(2026, 11, 22)


def vn(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=VN_TZ)


def ledger_with_payment(at: datetime, amount: int = 150_000) -> Ledger:
    ledger = Ledger()
    line = FeeItem(LoaiPhiLePhi=2, MaPhiLePhi="LP1", TenPhiLePhi="Lệ phí", SoTien=amount)
    receipt = ReceiptInfo(MaHoSo="H26-0001", MaDonVi="000.00.01.H26", TenDonVi="Sở Tư pháp", PhiLePhi=[line])
    _, order = ledger.open(OrderRequest("REF-1", amount, receipt), at)
    assert order is not None
    ledger.conclude(order, "00", "VCB", at)
    return ledger


def read_csv(chunks: list[bytes]) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8"), newline="")))


def test_file_opens_at_one_the_next_morning_vietnam_time() -> None:
    assert not is_published(DAY, vn(date(2026, 11, 23), 0, 59, 59))
    assert is_published(DAY, vn(date(2026, 11, 23), 1))
    assert is_published(DAY, datetime(2026, 11, 22, 18, 0, tzinfo=UTC))  # 01:00 on the 23rd in Hà Nội


def test_money_moved_just_before_midnight_lands_in_the_next_file() -> None:
    assert settlement_day(vn(DAY, 23, 59, 54)) == DAY
    assert settlement_day(vn(DAY, 23, 59, 58)) == date(2026, 11, 23)
    assert settlement_day(datetime(2026, 11, 21, 17, 0, 0, tzinfo=UTC)) == DAY  # 00:00 Vietnam time


def test_payment_and_refund_rows() -> None:
    ledger = ledger_with_payment(vn(DAY, 9))
    order = ledger.orders["REF-1"]
    ledger.refund("REF-1", order.transaction_id, "RF-1", 20_000, "", vn(DAY, 10))

    payment, refund = ledger_rows(ledger, DAY)

    assert payment["SoTien"] == "150000"
    assert payment["PhiGiaoDich"] == str(TRANSACTION_FEE)
    assert payment["SoTienQuyetToan"] == str(150_000 - TRANSACTION_FEE)
    assert (payment["ThoiGianThanhToan"], payment["NgayQuyetToan"]) == ("20261122090000", "20261122")
    assert (refund["SoTien"], refund["PhiGiaoDich"], refund["TrangThai"]) == ("-20000", "0", "5")
    assert ledger_rows(ledger, date(2026, 11, 23)) == []


def test_unpaid_and_processing_refunds_are_not_settled() -> None:
    ledger = ledger_with_payment(vn(DAY, 9))
    order = ledger.orders["REF-1"]
    ledger.refund("REF-1", order.transaction_id, "RF-1", 20_000, "", vn(DAY, 10), processing=True)

    assert [r["TrangThai"] for r in ledger_rows(ledger, DAY)] == ["1"]


cell = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=30)
@given(st.lists(st.fixed_dictionaries({name: cell for name in COLUMNS}), max_size=CHUNK_ROWS * 2 + 5))
def test_csv_reads_back_the_same_rows_and_carries_its_checksum(rows: list[dict[str, str]]) -> None:
    chunks = list(csv_chunks(rows))

    parsed = read_csv(chunks)

    assert parsed[0] == list(COLUMNS)
    assert parsed[1:] == [[row[name] for name in COLUMNS] for row in rows]
    assert len(chunks) == len(rows) // CHUNK_ROWS + 1
    assert file_checksum(rows, "k") == settlement_body_checksum(b"".join(chunks), "k")


def test_edits_change_the_file() -> None:
    rows = ledger_rows(ledger_with_payment(vn(DAY, 9)), DAY)
    transaction = rows[0]["MaGiaoDich"]

    doubled = apply_edit(rows, Edit("duplicate", MaGiaoDich=transaction), DAY)
    altered = apply_edit(rows, Edit("alter", MaGiaoDich=transaction, changes={"SoTien": 140_000}), DAY)
    added = apply_edit(rows, Edit("add", row={"MaGiaoDich": "X1", "SoTien": -5_000, "TrangThai": "5"}), DAY)

    assert apply_edit(rows, Edit("drop", MaGiaoDich=transaction), DAY) == []
    assert doubled == [rows[0], rows[0]]
    assert (altered[0]["SoTien"], altered[0]["SoTienQuyetToan"]) == ("140000", str(140_000 - TRANSACTION_FEE))
    assert added[1]["SoTienQuyetToan"] == "-5000" and added[1]["NgayQuyetToan"] == "20261122"
    assert rows[0]["SoTien"] == "150000"  # the original is untouched


@pytest.mark.parametrize(
    "edit",
    [
        Edit("drop", MaGiaoDich="nope"),
        Edit("alter", MaGiaoDich="nope", changes={"SoTien": 1}),
        Edit("add", row={"SoTien": 1}),
        Edit("add", row={"MaGiaoDich": "X", "SoTien": 1, "Extra": "?"}),
        Edit("shuffle"),
    ],
)
def test_bad_edits_are_refused(edit: Edit) -> None:
    with pytest.raises(EditError):
        apply_edit([], edit, DAY)


@pytest.mark.parametrize("text", ["2026112", "20261322", "2026-11-22", "abcdefgh"])
def test_bad_days_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_day(text)
