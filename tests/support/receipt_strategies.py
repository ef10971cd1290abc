"""Real receipt data for tests: a typical receipt, and Hypothesis strategies covering the whole valid range."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st

from adapters.vntime import VN_TZ, to_vn
from receipts import SigningKey, codes
from receipts.model import Line, Organisation, Payer, ReceiptData, Related

COLLECTOR_NAME = "Ủy ban nhân dân phường Hoàn Kiếm"
PAYER_NAME = "Nguyễn Thị Hồng Nhung"
LINE_NAME = "Lệ phí cấp giấy chứng nhận"


def receipt_fields(**changes: Any) -> dict[str, Any]:
    """The keyword arguments of a typical receipt, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "template": "EBL01",
        "series": "26T",
        "number": 42,
        "issued_at": datetime(2026, 11, 22, 8, 35, 12, tzinfo=VN_TZ),
        "lookup_code": "HK26T0000042",
        "lookup_url": "https://tracuu.dvc.example.vn/bien-lai/HK26T0000042",
        "payment_method": codes.PAYMENT_ONLINE,
        "collector": Organisation(COLLECTOR_NAME, "0101234567", "Số 1 Hàng Bài, quận Hoàn Kiếm, Hà Nội",
                                  "3511.0.1057341"),
        "payer": Payer(PAYER_NAME, id_number="001190012345", address="12 phố Huế, Hà Nội"),
        "lines": [Line(2, "LP-GCN", LINE_NAME, 100_000), Line(1, "P-TD", "Phí thẩm định hồ sơ", 50_000)],
        "dossier_code": "000.00.01.H26-261122-0001",
        "procedure_code": "1.004227",
        "transaction_id": "HUB20261122000123",
    }
    fields.update(changes)
    return fields


def sample_receipt(**changes: Any) -> ReceiptData:
    return ReceiptData(**receipt_fields(**changes))


def trusting(key: SigningKey, data: ReceiptData | None = None) -> dict[str, list[Any]]:
    """What ``verify`` trusts: ``key``'s certificate for the collector of ``data`` (of the sample receipt)."""
    return {(data or sample_receipt()).collector.tax_code: [key.certificate]}


def texts(max_size: int, min_size: int = 1) -> st.SearchStrategy[str]:
    """Any printable text XML can carry, Vietnamese included, that the model accepts as given."""
    alphabet = st.one_of(
        st.sampled_from("ÂăâđêôơưÀẢÃÁẠẰẲẴẮẶẦẨẪẤẬĐÈẺẼÉẸỀỂỄẾỆÌỈĨÍỊÒỎÕÓỌỒỔỖỐỘỜỞỠỚỢÙỦŨÚỤỪỬỮỨỰỲỶỸÝỴ &<>\"'"),
        st.characters(exclude_categories=("Cc", "Cs", "Cn", "Co")),
    )
    text = st.text(alphabet, min_size=min_size, max_size=max_size)
    return text.filter(lambda s: bool(s.strip()) or min_size == 0)


def _optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), strategy)


tax_codes = st.from_regex(codes.TAX_CODE_PATTERN, fullmatch=True)
moments = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 30), timezones=st.sampled_from([VN_TZ])
)
codes_text = texts(codes.MAX_CODE)

organisations = st.builds(
    Organisation,
    name=texts(codes.MAX_NAME),
    tax_code=tax_codes,
    address=texts(codes.MAX_ADDRESS),
    treasury_account=st.from_regex(codes.TREASURY_ACCOUNT_PATTERN, fullmatch=True),
)
payers = st.builds(
    Payer,
    name=texts(codes.MAX_NAME),
    id_number=_optional(st.from_regex(codes.ID_NUMBER_PATTERN, fullmatch=True)),
    tax_code=_optional(tax_codes),
    address=_optional(texts(codes.MAX_ADDRESS)),
)
lines = st.builds(
    Line,
    kind=st.sampled_from([1, 2]),
    code=codes_text,
    name=texts(codes.MAX_LINE_NAME),
    amount=st.integers(1, 10**12),
)
related = st.builds(
    Related,
    kind=st.sampled_from([1, 2]),
    template=st.sampled_from(codes.TEMPLATES),
    series=st.from_regex(codes.SERIES_PATTERN, fullmatch=True),
    number=st.integers(1, codes.MAX_NUMBER),
    issued_on=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)),
)
urls = st.builds(
    lambda host, path: f"https://{host}.example.vn/{path}",
    st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    st.from_regex(r"([A-Za-z0-9._~/?=&-]|%[0-9A-F]{2}){0,60}", fullmatch=True),
)


@st.composite
def receipts(draw: st.DrawFn) -> ReceiptData:
    issued_at = draw(moments)
    return ReceiptData(
        template=draw(st.sampled_from(codes.TEMPLATES)),
        series=f"{to_vn(issued_at).year % 100:02d}T",
        number=draw(st.integers(1, codes.MAX_NUMBER)),
        issued_at=issued_at,
        lookup_code=draw(codes_text),
        lookup_url=draw(urls),
        payment_method=draw(texts(codes.MAX_PAYMENT_METHOD)),
        collector=draw(organisations),
        payer=draw(payers),
        lines=draw(st.lists(lines, min_size=1, max_size=6)),
        dossier_code=draw(_optional(codes_text)),
        procedure_code=draw(_optional(codes_text)),
        transaction_id=draw(_optional(codes_text)),
        related=draw(st.one_of(st.none(), related)),
    )
