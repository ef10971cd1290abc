"""A settlement file is verified whole before anything is matched; every bad kind is refused with its reason."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from adapters.payhub.checksum import settlement_body_checksum
from adapters.payhub.sandbox.settlement import Edit
from adapters.payhub.settlement import FileRefused, Refusal, scan_settlement, verify_settlement_file
from tests.support.settlement_files import AGENCY, KEY, OTHER_AGENCY, Paid, ledger_of, rows_of, vn, write_file

DAY = date(2026, 11, 24)
OURS = {AGENCY, OTHER_AGENCY}


@pytest.fixture
def good_rows() -> list[dict[str, str]]:
    ledger = ledger_of([
        Paid("REF-A", 150_000, vn(DAY, 9), refunds=(("RF-A", 20_000, vn(DAY, 11)),)),
        Paid("REF-B", 50_000, vn(DAY, 10), agency=OTHER_AGENCY),
    ])
    return rows_of(ledger, DAY)


def signed_body(body: bytes, path: Path) -> str:
    """Write bytes as the hub would publish them, checksum and all."""
    path.write_bytes(body)
    return settlement_body_checksum(body, KEY)


def refusal(path: Path, signature: str, day: date = DAY) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        verify_settlement_file(path, day, signature, KEY, agencies=OURS)
    return caught.value


def test_good_file_is_verified_and_read_as_typed_columns(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    signature = write_file(good_rows, path)

    verified = verify_settlement_file(path, DAY, signature.upper(), KEY, agencies=OURS)
    frame = scan_settlement(verified).collect()

    assert (verified.rows, verified.sha256) == (3, hashlib.sha256(path.read_bytes()).hexdigest())
    assert frame["kind"].to_list() == ["payment", "payment", "refund"]
    assert frame["amount"].to_list() == [150_000, 50_000, -20_000]
    assert frame["net"].to_list() == [148_900, 48_900, -20_000]
    assert frame["line"].to_list() == [2, 3, 4]
    assert frame.schema["amount"] == pl.Int64


def test_empty_day_is_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    signature = write_file([], path)

    assert verify_settlement_file(path, DAY, signature, KEY).rows == 0


def test_wrong_or_missing_checksum_is_refused(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    write_file(good_rows, path)
    other_key = write_file(good_rows, path, key="another-key")

    assert refusal(path, other_key).reason == Refusal.CHECKSUM
    assert refusal(path, "").reason == Refusal.CHECKSUM


def test_file_cut_in_transit_fails_its_checksum(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    signature = write_file(good_rows, path)
    path.write_bytes(path.read_bytes()[:-30])

    assert refusal(path, signature).reason == Refusal.CHECKSUM


def test_file_published_truncated_is_refused(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    whole = tmp_path / "whole.csv"
    write_file(good_rows, whole)
    cut = whole.read_bytes()[:-30]

    refused = refusal(tmp_path / "f.csv", signed_body(cut, tmp_path / "f.csv"))

    assert (refused.reason, refused.line) == (Refusal.TRUNCATED, 4)
    assert "cắt cụt" in refused.message


def test_empty_body_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path / "f.csv", signed_body(b"", tmp_path / "f.csv")).reason == Refusal.EMPTY


def test_wrong_header_is_refused(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    whole = tmp_path / "whole.csv"
    write_file(good_rows, whole)
    body = whole.read_bytes().replace(b"MaDonVi", b"MaCoQuan", 1)

    refused = refusal(tmp_path / "f.csv", signed_body(body, tmp_path / "f.csv"))

    assert refused.reason == Refusal.HEADER
    assert "MaCoQuan" in refused.message


def test_not_utf8_is_refused_at_its_line(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    good_rows[1]["MaHoSo"] = "Hồ sơ số 1"
    whole = tmp_path / "whole.csv"
    write_file(good_rows, whole)
    body = whole.read_bytes().replace("Hồ sơ".encode(), "Hồ sơ".encode("utf-16-le"))

    refused = refusal(tmp_path / "f.csv", signed_body(body, tmp_path / "f.csv"))

    assert (refused.reason, refused.line) == (Refusal.ENCODING, 3)
    assert "UTF-8" in refused.message


@pytest.mark.parametrize(("cells", "count"), [(["extra"], 12), ([], 11)])
def test_row_with_wrong_column_count_is_refused(
    good_rows: list[dict[str, str]], tmp_path: Path, cells: list[str], count: int
) -> None:
    whole = tmp_path / "whole.csv"
    write_file(good_rows, whole)
    lines = whole.read_bytes().split(b"\r\n")
    lines[2] = b",".join([*lines[2].split(b",")[: 10 if not cells else 11], *(c.encode() for c in cells)])
    body = b"\r\n".join(lines)

    refused = refusal(tmp_path / "f.csv", signed_body(body, tmp_path / "f.csv"))

    assert (refused.reason, refused.line) == (Refusal.COLUMNS, 3)
    assert f"có {10 if not cells else count} cột" in refused.message


def test_unclosed_quote_is_refused(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    whole = tmp_path / "whole.csv"
    write_file(good_rows, whole)
    body = whole.read_bytes().replace(b"H-REF-B", b'"H-REF-B', 1)

    refused = refusal(tmp_path / "f.csv", signed_body(body, tmp_path / "f.csv"))

    assert refused.reason in (Refusal.MALFORMED, Refusal.COLUMNS)


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"SoTien": "150.000"}, "SoTien"),
        ({"SoTien": "-150000"}, "SoTien"),
        ({"PhiGiaoDich": "abc", "SoTienQuyetToan": "0"}, "PhiGiaoDich"),
        ({"SoTienQuyetToan": ""}, "SoTienQuyetToan"),
        ({"TrangThai": "9"}, "TrangThai"),
        ({"MaThamChieu": "REF WITH SPACES"}, "MaThamChieu"),
        ({"ThoiGianThanhToan": "20261324090000"}, "ThoiGianThanhToan"),
        ({"MaGiaoDich": ""}, "MaGiaoDich"),
    ],
)
def test_malformed_row_is_refused_naming_its_line_and_field(
    good_rows: list[dict[str, str]], tmp_path: Path, changes: dict[str, str], column: str
) -> None:
    rows = [good_rows[0], {**good_rows[1], **changes}, good_rows[2]]
    path = tmp_path / "f.csv"

    refused = refusal(path, write_file(rows, path))

    assert (refused.reason, refused.line) == (Refusal.MALFORMED, 3)
    assert column in refused.message


def test_another_days_rows_are_refused(good_rows: list[dict[str, str]], tmp_path: Path) -> None:
    ledger = ledger_of([Paid("REF-A", 150_000, vn(DAY, 9))])
    transaction = ledger.orders["REF-A"].transaction_id
    rows = rows_of(ledger, DAY, [Edit("alter", MaGiaoDich=transaction, changes={"NgayQuyetToan": "20261123"})])
    path = tmp_path / "f.csv"
    signature = write_file(rows, path)

    refused = refusal(path, signature)
    whole_other_day = refusal(path, signature, day=date(2026, 11, 25))

    assert (refused.reason, refused.line) == (Refusal.OTHER_DAY, 2)
    assert "20261123" in refused.message
    assert whole_other_day.reason == Refusal.OTHER_DAY


def test_another_partners_rows_are_refused(tmp_path: Path) -> None:
    ledger = ledger_of([Paid("REF-A", 150_000, vn(DAY, 9)), Paid("REF-X", 70_000, vn(DAY, 10), agency="999.99.99.X")])
    path = tmp_path / "f.csv"

    refused = refusal(path, write_file(rows_of(ledger, DAY), path))

    assert (refused.reason, refused.line) == (Refusal.OTHER_PARTNER, 3)
    assert "999.99.99.X" in refused.message


def test_every_refusal_has_a_vietnamese_message() -> None:
    for reason in Refusal:
        message = FileRefused(reason, line=7, detail="x").message
        assert "tệp" in message.lower() or "dòng" in message.lower()
