"""Receipt data is checked where it enters, and a refusal names the field."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

import msgspec
import pytest

from adapters.vntime import VN_TZ
from receipts import Line, Organisation, Payer, ReceiptData, ReceiptError, Related
from tests.support.receipt_strategies import receipt_fields, sample_receipt

COLLECTOR = {"name": "UBND", "tax_code": "0101234567", "address": "Hà Nội", "treasury_account": "3511"}

BAD_RECEIPTS: list[tuple[dict[str, Any], str]] = [
    ({"template": "EBL03"}, "template"),
    ({"series": "26K"}, "series"),
    ({"series": "2026T"}, "series"),
    ({"series": "25T"}, "series"),  # not the year of issue
    ({"number": 0}, "number"),
    ({"number": 10_000_000}, "number"),
    ({"number": "42"}, "number"),
    ({"issued_at": datetime(2026, 11, 22, 8, 35)}, "issued_at"),
    ({"lookup_code": ""}, "lookup_code"),
    ({"lookup_url": "javascript:alert(1)"}, "lookup_url"),
    ({"lookup_url": "https://tra cứu.vn/x"}, "lookup_url"),
    ({"lookup_url": "https://tracuu.vn/100%"}, "lookup_url"),
    ({"lookup_url": "https:///x"}, "lookup_url"),
    ({"payment_method": "   "}, "payment_method"),
    ({"payment_method": "x" * 51}, "payment_method"),
    ({"lines": []}, "lines"),
    ({"lines": [Line(1, "P", "Phí", 1)] * 101}, "lines"),
    ({"lines": [Line(1, "P", "Phí", 999_999_999_999_999), Line(1, "P", "Phí", 1)]}, "total"),
    ({"dossier_code": "a\x00b"}, "dossier_code"),
    ({"payer": {"name": "x"}}, "payer"),
]

BAD_PARTS: list[tuple[Any, dict[str, Any], str]] = [
    (Organisation, {**COLLECTOR, "tax_code": "12345"}, "collector.tax_code"),
    (Organisation, {**COLLECTOR, "name": ""}, "collector.name"),
    (Organisation, {**COLLECTOR, "treasury_account": "3511 0"}, "collector.treasury_account"),
    (Organisation, {**COLLECTOR, "address": "x" * 401}, "collector.address"),
    (Payer, {"name": "An", "id_number": "12"}, "payer.id_number"),
    (Payer, {"name": "An", "tax_code": "01012345678"}, "payer.tax_code"),
    (Payer, {"name": "An\nB"}, "payer.name"),
    (Line, {"kind": 3, "code": "P", "name": "Phí", "amount": 1}, "line.kind"),
    (Line, {"kind": 1, "code": "P", "name": "Phí", "amount": 0}, "line.amount"),
    (Line, {"kind": 1, "code": "P", "name": "Phí", "amount": -5}, "line.amount"),
    (Line, {"kind": 1, "code": "P", "name": "Phí", "amount": 10.0}, "line.amount"),
    (Line, {"kind": 1, "code": "P", "name": "Phí", "amount": True}, "line.amount"),
    (Line, {"kind": 1, "code": "", "name": "Phí", "amount": 1}, "line.code"),
    (Related, {"kind": 3, "template": "EBL01", "series": "26T", "number": 1, "issued_on": date(2026, 1, 1)},
     "related.kind"),
    (Related, {"kind": 1, "template": "EBL01", "series": "26T", "number": 1,
               "issued_on": datetime(2026, 1, 1, tzinfo=VN_TZ)}, "related.issued_on"),
    (Related, {"kind": 1, "template": "X", "series": "26T", "number": 1, "issued_on": date(2026, 1, 1)},
     "related.template"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_RECEIPTS)
def test_bad_receipt_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ReceiptError) as refused:
        ReceiptData(**receipt_fields(**changes))
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


@pytest.mark.parametrize(("kind", "fields", "field"), BAD_PARTS)
def test_bad_part_is_refused_naming_the_field(kind: Any, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ReceiptError) as refused:
        kind(**fields)
    assert refused.value.field == field


def test_total_is_the_sum_of_the_lines() -> None:
    receipt = sample_receipt(lines=[Line(1, "A", "Phí", 30_000), Line(2, "B", "Lệ phí", 120_005)])
    assert receipt.total == 150_005


def test_issue_day_and_series_year_are_vietnam_time() -> None:
    # 17:30 UTC on 31 December is already 1 January in Vietnam.
    moment = datetime.fromisoformat("2025-12-31T17:30:00+00:00")
    receipt = sample_receipt(issued_at=moment, series="26T")
    assert receipt.issued_on == date(2026, 1, 1)
    with pytest.raises(ReceiptError, match="series"):
        sample_receipt(issued_at=moment, series="25T")


def test_text_is_stored_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hồng Nhung")
    payer = Payer(decomposed)
    assert payer.name == "Nguyễn Thị Hồng Nhung"
    assert unicodedata.is_normalized("NFC", payer.name)


def test_decoding_applies_the_same_checks() -> None:
    good = msgspec.json.encode(sample_receipt())
    assert msgspec.json.decode(good, type=ReceiptData) == sample_receipt()
    bad = good.replace(b'"number":42', b'"number":0')
    with pytest.raises(msgspec.ValidationError, match="number"):
        msgspec.json.decode(bad, type=ReceiptData)


def test_receipts_are_immutable() -> None:
    receipt = sample_receipt()
    with pytest.raises(AttributeError):
        receipt.number = 43  # type: ignore[misc]
