"""Exports for finance staff: a run (its classes and its breaks), the breaks list and the day totals, as CSV or XLSX
with Vietnamese headers, written to a binary file object row by row.

XLSX: money as integers shown ``#,##0``, days and times as real dates (Vietnam time), text always written as text
(never a formula); the workbook is written in xlsxwriter's constant-memory mode, so a run of a million breaks never
sits in memory. CSV: UTF-8 with a byte-order mark and CRLF line ends, which Excel needs to open Vietnamese text; a
text cell that starts like a formula is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter

from adapters.vntime import to_vn

from .figures import label
from .lifecycle import RESOLUTION_LABELS, STATUS_LABELS
from .views import BreakView, DayTotals, RunDetail

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KIND_LABELS = {"settlement": "Quyết toán Cổng thanh toán", "cod": "Thu hộ (COD) bưu điện"}
TEXT, MONEY, COUNT, DAY, TIME = "text", "money", "count", "day", "time"
CSV_BATCH = 1_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str
    value: Callable[[Any], Any]


BREAK_COLUMNS = (
    Column("Mã sai lệch", TEXT, lambda b: b.id),
    Column("Loại đối soát", TEXT, lambda b: KIND_LABELS.get(b.kind, b.kind)),
    Column("Ngày", DAY, lambda b: b.day),
    Column("Mã lý do", TEXT, lambda b: b.code),
    Column("Lý do", TEXT, lambda b: b.label),
    Column("Đơn vị", TEXT, lambda b: b.agency_code),
    Column("Đơn vị của khoản trong hệ thống", TEXT, lambda b: b.our_agency_code),
    Column("Mã tham chiếu", TEXT, lambda b: b.reference),
    Column("Mã giao dịch Cổng", TEXT, lambda b: b.transaction_id),
    Column("Mã của hệ thống", TEXT, lambda b: b.our_id),
    Column("Số tiền theo Cổng/bưu điện", MONEY, lambda b: b.hub_amount),
    Column("Số tiền theo hệ thống", MONEY, lambda b: b.our_amount),
    Column("Số tiền chênh lệch", MONEY, lambda b: b.at_stake),
    Column("Trạng thái", TEXT, lambda b: STATUS_LABELS.get(b.status, b.status)),
    Column("Người được giao", TEXT, lambda b: b.assigned_to),
    Column("Cách giải quyết", TEXT, lambda b: RESOLUTION_LABELS.get(b.resolution, b.resolution)),
    Column("Người giải quyết", TEXT, lambda b: b.resolved_by),
    Column("Thời điểm giải quyết", TIME, lambda b: b.resolved_at),
    Column("Ghi chú", TEXT, lambda b: b.note),
)

TOTALS_COLUMNS = (
    Column("Ngày", DAY, lambda t: t.day),
    Column("Đơn vị", TEXT, lambda t: t.agency_code),
    Column("Đã thu", MONEY, lambda t: t.figures.collected),
    Column("Đã hoàn", MONEY, lambda t: t.figures.refunded),
    Column("Số giao dịch Cổng quyết toán", COUNT, lambda t: t.figures.hub_rows),
    Column("Cổng quyết toán", MONEY, lambda t: t.figures.settled),
    Column("Phí giao dịch", MONEY, lambda t: t.figures.hub_fee),
    Column("Thực nhận", MONEY, lambda t: t.figures.hub_net),
    Column("Thu hộ COD đã thu", MONEY, lambda t: t.figures.cod_collected),
    Column("Thu hộ COD đã chuyển", MONEY, lambda t: t.figures.cod_remitted),
    Column("Chênh lệch chưa giải thích", MONEY, lambda t: t.figures.unexplained),
    Column("Số sai lệch chưa giải quyết", COUNT, lambda t: t.open_breaks),
    Column("Số tiền sai lệch chưa giải quyết", MONEY, lambda t: t.open_amount),
)

CLASS_COLUMNS = (
    Column("Mã phân loại", TEXT, lambda c: c.code),
    Column("Phân loại", TEXT, lambda c: label(c.code)),
    Column("Số dòng", COUNT, lambda c: c.lines),
    Column("Số tiền theo Cổng", MONEY, lambda c: c.hub_amount),
    Column("Số tiền theo hệ thống", MONEY, lambda c: c.our_amount),
)

BREAK_COUNT_COLUMNS = (
    Column("Mã lý do", TEXT, lambda c: c.code),
    Column("Lý do", TEXT, lambda c: c.label),
    Column("Số sai lệch", COUNT, lambda c: c.total),
    Column("Chưa giải quyết", COUNT, lambda c: c.unresolved),
    Column("Số tiền chênh lệch", MONEY, lambda c: c.at_stake),
)


def _local(moment: datetime | None) -> datetime | None:
    """An instant as Vietnam wall-clock time (spreadsheets hold no zone)."""
    return None if moment is None else to_vn(moment).replace(tzinfo=None)


# -- CSV


def _csv_cell(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind == TIME:
        return f"{_local(value):%Y-%m-%d %H:%M:%S}"
    if kind == DAY:
        return value.isoformat()
    if kind == TEXT and str(value).startswith(FORMULA_START):
        return "'" + str(value)
    return value


class _CsvOut:
    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.buffer = out, io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")
        out.write("\ufeff".encode())

    def row(self, cells: Iterable[Any]) -> None:
        self.writer.writerow(cells)

    def flush(self) -> None:
        self.out.write(self.buffer.getvalue().encode("utf-8"))
        self.buffer.seek(0)
        self.buffer.truncate()


async def _csv(columns: tuple[Column, ...], rows: AsyncIterable[Any], out: IO[bytes]) -> int:
    sink = _CsvOut(out)
    sink.row(c.header for c in columns)
    count = 0
    async for item in rows:
        sink.row(_csv_cell(c.kind, c.value(item)) for c in columns)
        count += 1
        if count % CSV_BATCH == 0:
            sink.flush()
    sink.flush()
    return count


# -- XLSX


class _Book:
    """A workbook in constant-memory mode: each sheet is written top to bottom, once."""

    def __init__(self, out: IO[bytes]) -> None:
        self.book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
        self.styles = {
            MONEY: self.book.add_format({"num_format": "#,##0"}),
            COUNT: self.book.add_format({"num_format": "#,##0"}),
            DAY: self.book.add_format({"num_format": "dd/mm/yyyy"}),
            TIME: self.book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"}),
            "header": self.book.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
        }

    def sheet(self, name: str, columns: tuple[Column, ...]) -> Any:
        sheet = self.book.add_worksheet(name)
        for index, column in enumerate(columns):
            sheet.set_column(index, index, 14 if column.kind != TEXT else 22)
            sheet.write_string(0, index, column.header, self.styles["header"])
        sheet.freeze_panes(1, 0)
        return sheet

    def row(self, sheet: Any, number: int, columns: tuple[Column, ...], item: Any) -> None:
        for index, column in enumerate(columns):
            value = column.value(item)
            if value is None:
                continue
            if column.kind == TEXT:
                sheet.write_string(number, index, str(value))
            elif column.kind in (DAY, TIME):
                moment = _local(value) if column.kind == TIME else value
                sheet.write_datetime(number, index, moment, self.styles[column.kind])
            else:
                sheet.write_number(number, index, int(value), self.styles[column.kind])

    def close(self) -> None:
        self.book.close()


async def _xlsx_sheet(book: _Book, name: str, columns: tuple[Column, ...], rows: AsyncIterable[Any]) -> int:
    sheet, count = book.sheet(name, columns), 0
    async for item in rows:
        count += 1
        book.row(sheet, count, columns, item)
    return count


async def _each(items: Iterable[Any]) -> Any:
    for item in items:
        yield item


# -- what staff export


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")


async def write_breaks(rows: AsyncIterable[BreakView], out: IO[bytes], fmt: str) -> int:
    """The breaks a list or a run shows; the number of breaks written."""
    _check(fmt)
    if fmt == "csv":
        return await _csv(BREAK_COLUMNS, rows, out)
    book = _Book(out)
    count = await _xlsx_sheet(book, "Sai lệch", BREAK_COLUMNS, rows)
    book.close()
    return count


async def write_totals(rows: Iterable[DayTotals], out: IO[bytes], fmt: str) -> int:
    """Day totals per agency."""
    _check(fmt)
    if fmt == "csv":
        return await _csv(TOTALS_COLUMNS, _each(rows), out)
    book = _Book(out)
    count = await _xlsx_sheet(book, "Tổng hợp theo ngày", TOTALS_COLUMNS, _each(rows))
    book.close()
    return count


async def write_run(run: RunDetail, rows: AsyncIterable[BreakView], out: IO[bytes], fmt: str) -> int:
    """A run: in XLSX its line classes (when the scope sees the whole file), its breaks by class, its agencies' day
    totals and its breaks, one sheet each; in CSV its breaks."""
    _check(fmt)
    if fmt == "csv":
        return await _csv(BREAK_COLUMNS, rows, out)
    book = _Book(out)
    if run.run.file is not None:
        await _xlsx_sheet(book, "Phân loại dòng", CLASS_COLUMNS, _each(run.run.file.classes))
    await _xlsx_sheet(book, "Sai lệch theo lý do", BREAK_COUNT_COLUMNS, _each(run.break_classes))
    totals = [DayTotals(agency_code=a.agency_code, day=a.day, figures=a.figures, open_breaks=0, open_amount=0)
              for a in run.agencies]  # fmt: skip
    await _xlsx_sheet(book, "Tổng hợp theo đơn vị", TOTALS_COLUMNS[:11], _each(totals))
    count = await _xlsx_sheet(book, "Sai lệch", BREAK_COLUMNS, rows)
    book.close()
    return count


def filename(subject: str, fmt: str, day: date | None = None) -> str:
    """An export's file name: ``doi-soat-<subject>[-<day>].<fmt>`` (ASCII, safe in a Content-Disposition)."""
    _check(fmt)
    stamp = f"-{day:%Y%m%d}" if day else ""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in subject)
    return f"doi-soat-{safe}{stamp}.{fmt}"
