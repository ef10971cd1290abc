"""Settlement files for tests, built by the hub sandbox's own functions so their format is the real one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from adapters.payhub import FeeItem, ReceiptInfo
from adapters.payhub.sandbox.settlement import Edit, Row, apply_edits, csv_chunks, file_checksum, ledger_rows
from adapters.payhub.sandbox.state import Ledger, OrderRequest
from adapters.vntime import VN_TZ

KEY = "settlement-test-key"
AGENCY = "000.00.01.H26"
OTHER_AGENCY = "000.00.02.H26"


def vn(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=VN_TZ)


@dataclass(frozen=True)
class Paid:
    """A payment the citizen made at the hub, and the refunds done on it."""

    reference: str
    amount: int
    at: datetime
    agency: str = AGENCY
    refunds: tuple[tuple[str, int, datetime], ...] = ()


def ledger_of(payments: Iterable[Paid]) -> Ledger:
    ledger = Ledger()
    for paid in payments:
        line = FeeItem(LoaiPhiLePhi=2, MaPhiLePhi="LP1", TenPhiLePhi="Lệ phí", SoTien=paid.amount)
        receipt = ReceiptInfo(MaHoSo=f"H-{paid.reference}", MaDonVi=paid.agency, TenDonVi="Sở Tư pháp", PhiLePhi=[line])
        _, order = ledger.open(OrderRequest(paid.reference, paid.amount, receipt), paid.at)
        assert order is not None
        ledger.conclude(order, "00", "VCB", paid.at)
        for refund_reference, amount, at in paid.refunds:
            ledger.refund(paid.reference, order.transaction_id, refund_reference, amount, "", at)
    return ledger


def rows_of(ledger: Ledger, day: date, edits: Iterable[Edit] = ()) -> list[Row]:
    return apply_edits(ledger_rows(ledger, day), edits, day)


def write_file(rows: list[Row], path: Path, key: str = KEY) -> str:
    """The file the hub would serve for these rows; returns its ``X-MaXacThuc``."""
    with path.open("wb") as out:
        for chunk in csv_chunks(rows):
            out.write(chunk)
    return file_checksum(rows, key)
