"""The hub's daily settlement file (§6): verified whole before anything is matched, then read as typed columns.

Verification streams the file from disk twice and never holds it in memory. The first pass hashes the bytes for
the ``X-MaXacThuc`` checksum and reads the header and the last byte; the second lets Polars parse every row and
check it column-wise. Only a file that fails the fast check is read again row by row, to name the first bad line
and why, in words a finance officer understands. A refused file is refused whole: ``FileRefused``.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import hmac
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from . import checksum
from .codes import SETTLEMENT_COLUMNS, SETTLEMENT_ROW_KINDS, SETTLEMENT_ROW_PAYMENT, SETTLEMENT_ROW_REFUND

CHUNK_BYTES = 1 << 20
FIRST_DATA_LINE = 2  # line 1 is the header
HUB_TIME_ZONE = "Asia/Ho_Chi_Minh"
REFERENCE_PATTERN = r"^[A-Za-z0-9_-]{1,20}$"
TIME_PATTERN = r"^[0-9]{14}$"
MAX_DIGITS = 15  # whole đồng far beyond any fee, and safe in a 64-bit integer


class Refusal(enum.StrEnum):
    """Why a settlement file was refused: stable codes for runs, logs and the finance pages."""

    CHECKSUM = "checksum_mismatch"
    EMPTY = "empty_file"
    HEADER = "bad_header"
    ENCODING = "not_utf8"
    COLUMNS = "wrong_column_count"
    MALFORMED = "malformed_row"
    TRUNCATED = "truncated"
    OTHER_DAY = "other_day"
    OTHER_PARTNER = "other_partner"


REFUSAL_TEXT: dict[Refusal, str] = {
    Refusal.CHECKSUM: "Mã xác thực của tệp quyết toán không khớp: tệp có thể đã bị cắt cụt hoặc bị sửa đổi trên "
    "đường truyền. Không đối soát từ tệp này; hãy tải lại tệp từ Cổng thanh toán.",
    Refusal.EMPTY: "Tệp quyết toán rỗng, không có cả dòng tiêu đề.",
    Refusal.HEADER: "Dòng tiêu đề của tệp quyết toán không đúng mẫu của Cổng thanh toán ({detail}).",
    Refusal.ENCODING: "Tệp quyết toán không được mã hóa UTF-8 (lỗi ở dòng {line}).",
    Refusal.COLUMNS: "Dòng {line} của tệp quyết toán có {detail} cột, mẫu quy định {columns} cột.",
    Refusal.MALFORMED: "Dòng {line} của tệp quyết toán có giá trị không hợp lệ: {detail}.",
    Refusal.TRUNCATED: "Tệp quyết toán bị cắt cụt: dòng cuối (dòng {line}) không đầy đủ.",
    Refusal.OTHER_DAY: "Dòng {line} thuộc ngày quyết toán {detail}, không phải ngày được yêu cầu: tệp chứa dữ liệu "
    "của ngày khác.",
    Refusal.OTHER_PARTNER: "Dòng {line} thuộc đơn vị {detail}, không phải đơn vị thu của chúng ta: tệp chứa dữ liệu "
    "của đối tác khác.",
}


class FileRefused(Exception):
    """The whole file is refused; nothing may be matched from it. ``message`` is for finance staff."""

    def __init__(self, reason: Refusal, line: int | None = None, detail: str = "") -> None:
        self.reason = reason
        self.line = line
        self.detail = detail
        self.message = REFUSAL_TEXT[reason].format(line=line, detail=detail, columns=len(SETTLEMENT_COLUMNS))
        super().__init__(f"{reason}: {self.message}")


@dataclass(frozen=True)
class VerifiedFile:
    """A settlement file that passed every check; only this is ever read for matching."""

    path: Path
    day: date
    rows: int
    sha256: str  # hex SHA-256 of the body, to keep beside the raw file


@dataclass(frozen=True)
class _FirstPass:
    sha256: str
    size: int
    header: bytes
    last_byte: bytes
    lines: int


def verify_settlement_file(
    path: Path, day: date, signature: str | None, hash_key: str, agencies: Collection[str] | None = None
) -> VerifiedFile:
    """Check the checksum, header, encoding and every row; ``agencies`` (ours) catches another partner's data."""
    first = _hash_pass(path)
    expected = checksum.compute([first.sha256], hash_key)
    given = (signature or "").strip().lower().encode("ascii", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise FileRefused(Refusal.CHECKSUM)
    if first.size == 0:
        raise FileRefused(Refusal.EMPTY)
    _check_header(first.header)
    if first.last_byte != b"\n":
        raise FileRefused(Refusal.TRUNCATED, line=first.lines + 1)
    _check_rows(path, day, agencies)
    return VerifiedFile(path=path, day=day, rows=first.lines - 1, sha256=first.sha256)


def scan_settlement(file: VerifiedFile) -> pl.LazyFrame:
    """The verified rows as typed columns in the gateway's words; money stays as the hub wrote it (signed)."""
    kinds = {code: kind.value for code, kind in SETTLEMENT_ROW_KINDS.items()}
    return (
        _raw_scan(file.path)
        .with_row_index("line", offset=FIRST_DATA_LINE)
        .select(
            pl.col("line"),
            pl.col("MaGiaoDich").alias("transaction_id"),
            pl.col("MaThamChieu").alias("reference"),
            pl.col("MaHoSo").fill_null("").alias("dossier"),
            pl.col("MaDonVi").alias("agency"),
            _kind_of(pl.col("TrangThai"), kinds).alias("kind"),
            pl.col("SoTien").cast(pl.Int64).alias("amount"),
            pl.col("PhiGiaoDich").cast(pl.Int64).alias("fee"),
            pl.col("SoTienQuyetToan").cast(pl.Int64).alias("net"),
            pl.col("MaNganHang").fill_null("").alias("bank"),
            pl.col("ThoiGianThanhToan").alias("hub_time"),
        )
    )


def _kind_of(code: pl.Expr, kinds: dict[str, str]) -> pl.Expr:
    """TrangThai to our kind; a chain of when/then streams in bounded memory where a lookup table did not."""
    chain = pl.when(code == next(iter(kinds))).then(pl.lit(kinds[next(iter(kinds))]))
    for raw, kind in list(kinds.items())[1:]:
        chain = chain.when(code == raw).then(pl.lit(kind))
    return chain.otherwise(pl.lit(None, pl.String))


# ---------------------------------------------------------------- pass 1: bytes


def _hash_pass(path: Path) -> _FirstPass:
    digest = hashlib.sha256()
    size = lines = 0
    header = b""
    last = b""
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            if not header:
                header = chunk.split(b"\n", 1)[0]
            size += len(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return _FirstPass(digest.hexdigest(), size, header, last, lines)


def _check_header(header: bytes) -> None:
    try:
        text = header.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as exc:
        raise FileRefused(Refusal.ENCODING, line=1) from exc
    expected = ",".join(SETTLEMENT_COLUMNS)
    if text != expected:
        raise FileRefused(Refusal.HEADER, detail=f"có «{text[:200]}», cần «{expected}»")


# ---------------------------------------------------------------- pass 2: rows, column-wise


def _raw_scan(path: Path) -> pl.LazyFrame:
    return pl.scan_csv(
        path,
        schema=dict.fromkeys(SETTLEMENT_COLUMNS, pl.String),
        has_header=True,
        encoding="utf8",
        quote_char='"',
        raise_if_empty=False,
    )


def _row_rules(day: date, agencies: Collection[str] | None) -> list[tuple[Refusal, str, pl.Expr]]:
    """Each rule: the refusal, the column it names, and an expression true where a row breaks it."""
    amount = pl.col("SoTien").cast(pl.Int64, strict=False)
    rules = [
        (Refusal.MALFORMED, "MaGiaoDich", pl.col("MaGiaoDich").is_null()),
        (Refusal.MALFORMED, "MaThamChieu", ~pl.col("MaThamChieu").str.contains(REFERENCE_PATTERN).fill_null(False)),
        (Refusal.MALFORMED, "MaDonVi", pl.col("MaDonVi").is_null()),
        (Refusal.MALFORMED, "TrangThai", ~pl.col("TrangThai").is_in([SETTLEMENT_ROW_PAYMENT, SETTLEMENT_ROW_REFUND])),
        (Refusal.MALFORMED, "SoTien", ~pl.col("SoTien").str.contains(rf"^-?[0-9]{{1,{MAX_DIGITS}}}$").fill_null(False)),
        (
            Refusal.MALFORMED,
            "PhiGiaoDich",
            ~pl.col("PhiGiaoDich").str.contains(rf"^[0-9]{{1,{MAX_DIGITS}}}$").fill_null(False),
        ),
        (
            Refusal.MALFORMED,
            "SoTienQuyetToan",
            ~pl.col("SoTienQuyetToan").str.contains(rf"^-?[0-9]{{1,{MAX_DIGITS}}}$").fill_null(False),
        ),
        (
            Refusal.MALFORMED,
            "SoTien",  # a payment brings money in, a refund takes it out
            pl.when(pl.col("TrangThai") == SETTLEMENT_ROW_PAYMENT).then(amount <= 0).otherwise(amount >= 0),
        ),
        (
            Refusal.MALFORMED,
            "ThoiGianThanhToan",
            pl.col("ThoiGianThanhToan").str.to_datetime("%Y%m%d%H%M%S", strict=False).is_null(),
        ),
        (Refusal.OTHER_DAY, "NgayQuyetToan", pl.col("NgayQuyetToan") != f"{day:%Y%m%d}"),
    ]
    if agencies is not None:
        rules.append((Refusal.OTHER_PARTNER, "MaDonVi", ~pl.col("MaDonVi").is_in(list(agencies))))
    return rules


def _check_rows(path: Path, day: date, agencies: Collection[str] | None) -> None:
    """Every rule over every row in one streaming query; the first offending row is refused with its reason."""
    rules = _row_rules(day, agencies)
    flags = [expr.fill_null(True).alias(f"rule{i}") for i, (_, _, expr) in enumerate(rules)]
    query = (
        _raw_scan(path)
        .with_row_index("line", offset=FIRST_DATA_LINE)
        .with_columns(flags, structural=pl.col("NgayQuyetToan").is_null() | pl.col("TrangThai").is_null())
        .filter(pl.any_horizontal("structural", *(f"rule{i}" for i in range(len(rules)))))
        .head(1)
    )
    try:
        bad = query.collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        _diagnose(path)
        raise FileRefused(Refusal.MALFORMED, detail=str(exc).splitlines()[0]) from exc
    if bad.is_empty():
        return
    row = bad.row(0, named=True)
    if row["structural"]:
        _diagnose(path)
    for i, (reason, column, _) in enumerate(rules):
        if row[f"rule{i}"]:
            value = row[column]
            detail = value if reason in (Refusal.OTHER_DAY, Refusal.OTHER_PARTNER) else f"{column} = «{value}»"
            raise FileRefused(reason, line=row["line"], detail=str(detail))
    raise FileRefused(Refusal.MALFORMED, line=row["line"], detail="thiếu trường")


# ---------------------------------------------------------------- a bad file, row by row


def _diagnose(path: Path) -> None:
    """Name the first line whose bytes, quoting or column count is wrong; returns if it finds none."""
    for number, line in enumerate(_physical_lines(path), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileRefused(Refusal.ENCODING, line=number) from exc
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream, strict=True)
        try:
            for fields in reader:
                if len(fields) != len(SETTLEMENT_COLUMNS):
                    raise FileRefused(Refusal.COLUMNS, line=reader.line_num, detail=str(len(fields)))
        except csv.Error as exc:
            raise FileRefused(Refusal.MALFORMED, line=reader.line_num, detail=f"dấu ngoặc kép sai ({exc})") from exc


def _physical_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from stream
