"""Exports read back as Excel and a CSV reader would: Vietnamese headers, money as integers shown with thousands,
real dates, UTF-8 with a BOM and CRLF, no formula from a text cell; breaks streamed from the database."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest

from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import BreakFilter, DayRange, Staffer, daily_totals, get_run, resolve_break, stream_breaks
from gateway.reconciliation.exports import filename, write_breaks, write_run, write_totals
from gateway.store.db import Database
from tests.support.reconciliation_rows import DAY, add_break, add_run

SCOPE = AgencyScope.of(["A01"])


async def _seeded(db: Database) -> tuple[str, str]:
    run = await add_run(
        db,
        agencies={"A01": {"settled": 1_250_000, "hub_fee": 12_500, "collected": 1_200_000}, "B02": {"settled": 7}},
        classes={"matched": {"lines": 9, "hub_amount": 1_200_000, "our_amount": 1_200_000}},
    )
    b = await add_break(
        db, run, agency="A01", code="amount_mismatch", reference="=HYPERLINK(\"x\")", hub_amount=1_250_000,
        our_amount=1_200_000,
    )  # fmt: skip
    await add_break(db, run, agency="B02", code="missing_in_ours", hub_amount=7)
    await resolve_break(db, Staffer("lan", SCOPE), b, 1, "Đã đối chiếu với sao kê ngân hàng: phí thu thêm")
    return run, b


async def test_the_breaks_as_xlsx_open_with_vietnamese_headers_numbers_and_dates(db: Database) -> None:
    _, b = await _seeded(db)
    out = io.BytesIO()
    async with db.read() as conn:
        written = await write_breaks(stream_breaks(conn, SCOPE, BreakFilter()), out, "xlsx")
    assert written == 1, "another agency's break is not exported"
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert sheet is not None
    headers = [c.value for c in sheet[1]]
    row = dict(zip(headers, [c for c in sheet[2]], strict=True))
    assert headers[:5] == ["Mã sai lệch", "Loại đối soát", "Ngày", "Mã lý do", "Lý do"]
    assert row["Mã sai lệch"].value == b and row["Lý do"].value == "Lệch số tiền"
    assert row["Ngày"].value == datetime(DAY.year, DAY.month, DAY.day) and row["Ngày"].number_format == "dd/mm/yyyy"
    assert row["Số tiền chênh lệch"].value == 50_000 and row["Số tiền chênh lệch"].number_format == "#,##0"
    assert row["Mã tham chiếu"].data_type == "s" and row["Mã tham chiếu"].value == '=HYPERLINK("x")'
    assert row["Trạng thái"].value == "Đã giải quyết" and row["Cách giải quyết"].value == "Nhân viên giải quyết"
    assert isinstance(row["Thời điểm giải quyết"].value, datetime)
    assert row["Ghi chú"].value.startswith("Đã đối chiếu")


async def test_the_breaks_as_csv_are_utf8_with_a_bom_and_crlf_for_excel(db: Database) -> None:
    await _seeded(db)
    out = io.BytesIO()
    async with db.read() as conn:
        await write_breaks(stream_breaks(conn, SCOPE, BreakFilter()), out, "csv")
    raw = out.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    header, row = rows
    record = dict(zip(header, row, strict=True))
    assert record["Ngày"] == DAY.isoformat() and record["Số tiền chênh lệch"] == "50000"
    assert record["Mã tham chiếu"] == '\'=HYPERLINK("x")', "a text cell never starts a formula"
    assert record["Lý do"] == "Lệch số tiền"


async def test_a_run_and_the_day_totals_as_xlsx(db: Database) -> None:
    run, _ = await _seeded(db)
    out, totals_out = io.BytesIO(), io.BytesIO()
    async with db.read() as conn:
        detail = await get_run(conn, SCOPE, run)
        await write_run(detail, stream_breaks(conn, SCOPE, BreakFilter(run_id=run)), out, "xlsx")
        totals = await daily_totals(conn, SCOPE, DayRange(DAY, DAY))
    await write_totals(totals, totals_out, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["Sai lệch theo lý do", "Tổng hợp theo đơn vị", "Sai lệch"], "no file-wide sheet"
    agencies = list(book["Tổng hợp theo đơn vị"].iter_rows(values_only=True))
    assert agencies[1][:4] == (datetime(2026, 11, 20), "A01", 1_200_000, 0)
    day_sheet = openpyxl.load_workbook(io.BytesIO(totals_out.getvalue())).active
    assert day_sheet is not None
    header, values = list(day_sheet.iter_rows(values_only=True))
    assert dict(zip(header, values, strict=True))["Cổng quyết toán"] == 1_250_000
    assert filename("run", "xlsx", date(2026, 11, 20)) == "doi-soat-run-20261120.xlsx"


async def test_an_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        await write_totals([], io.BytesIO(), "pdf")
