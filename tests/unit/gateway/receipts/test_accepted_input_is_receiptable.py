"""Whatever the portal API accepts, every later step can process: a payment, a shipment with COD or a receipt
correction that passes the API's schema builds a receipt valid against the XSD (and signed), and a shipment also
builds the post's order. Hypothesis throws the hard cases at every text field: control characters, whitespace of
every kind, a trailing newline, characters that grow under NFC, digits of other scripts, lengths around each limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.postal.admin_units import units
from adapters.postal.messages import build_create_order
from gateway.kernel.errors import Refused
from gateway.payments.schemas import CreatePayment
from gateway.receipts.schemas import ReplaceReceipt
from gateway.shipments.schemas import CreateShipment
from receipts import SigningKey, issue
from tests.support.receipt_strategies import sample_receipt
from tests.support.receiptable import cod_receipt, corrected_receipt, payment_receipt, postal_order

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

# Characters that have broken receipts or orders, or could: controls, every kind of space, a BOM, non-characters,
# characters NFC turns into two or three, combining marks, digits of other scripts, XML's own specials.
HARD = (
    "\n\t\r\x00\x07\x0b\x1b\x1c\x1f\x7f\x85\xa0\u2028\u3000\ufeff\ufffe\uffff"
    "\u0958\ufb2c\U0001d15e\u0344\u0301\u0660\uff11&<>\"'"
)
CHARS = st.one_of(
    st.sampled_from(HARD),
    st.sampled_from("ABCxyz019 .-/_ÂăđêôơưẠẶỆỮ"),
    st.characters(exclude_categories=("Cs",)),
)


def texts(longest: int) -> st.SearchStrategy[str]:
    """Short texts of any character, and texts padded to lengths around ``longest``."""
    short = st.text(CHARS, max_size=12)
    padded = st.builds(
        lambda head, char, count, tail: head + char * count + tail,
        short,
        st.sampled_from("Xaằ \u0958\U0001d15e"),
        st.integers(max(0, longest - 15), longest + 15),
        st.sampled_from(["", "\n", " ", "\x07", "a"]),
    )
    return st.one_of(short, padded)


def codes_like(longest: int = 64) -> st.SearchStrategy[str]:
    plain = st.from_regex(r"[A-Za-z0-9._/\-]{1,70}", fullmatch=True)
    return st.one_of(plain, plain.map(lambda s: s + "\n"), texts(longest))


def id_numbers() -> st.SearchStrategy[str]:
    digits = st.from_regex(r"[0-9]{9}|[0-9]{12}", fullmatch=True)
    return st.one_of(
        st.just(""), digits, digits.map(lambda s: s + "\n"), st.just("\u0660" * 12), st.just("１" * 9), texts(20)
    )


def tax_codes() -> st.SearchStrategy[str]:
    plain = st.from_regex(r"[0-9]{10}(-[0-9]{3})?|[0-9]{12}", fullmatch=True)
    return st.one_of(st.just(""), plain, plain.map(lambda s: s + "\n"), texts(14))


def maybe(value: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a good value, so that accepted requests are common; sometimes a hard one."""
    return st.integers(0, 5).flatmap(lambda n: strategy if n == 0 else st.just(value))


def accepted(body: dict[str, Any], kind: type) -> Any:
    """The request as the API decodes it, or ``None`` when its schema refuses it."""
    try:
        return msgspec.json.decode(msgspec.json.encode(body), type=kind)
    except msgspec.ValidationError:
        return None


@st.composite
def payment_bodies(draw: st.DrawFn) -> dict[str, Any]:
    lines = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "kind": st.sampled_from(["phi", "le_phi"]),
                    "code": maybe("LP-KD-01", codes_like()),
                    "name": maybe("Lệ phí đăng ký hộ kinh doanh", texts(500)),
                    "amount": st.integers(1, 10**12),
                }
            ),
            min_size=1,
            max_size=3,
        )
    )
    return {
        "dossier_code": draw(maybe("000.00.01.H26-2026-0001", codes_like())),
        "procedure_code": draw(maybe("1.004227", codes_like())),
        "agency_code": "000.00.01.H26",
        "fees": lines,
        "total": sum(line["amount"] for line in lines),
        "payer": {
            "name": draw(maybe("Nguyễn Thị Hồng Nhung", texts(400))),
            "id_number": draw(maybe("001203004567", id_numbers())),
            "tax_code": draw(maybe("", tax_codes())),
            "address": draw(maybe("12 Hàng Bạc, Hà Nội", texts(400))),
        },
        "return_url": "https://dichvucong.example.vn/ho-so",
    }


@PROPERTY
@given(body=payment_bodies())
def test_an_accepted_payment_can_be_receipted(body: dict[str, Any], signing_key: SigningKey) -> None:
    data = accepted(body, CreatePayment)
    if data is None:
        return
    issue(payment_receipt(data), signing_key)


COMMUNES = sorted(units().communes.values(), key=lambda c: c.code)


@st.composite
def shipment_bodies(draw: st.DrawFn) -> dict[str, Any]:
    commune = draw(st.sampled_from(COMMUNES))
    body = {
        "dossier_code": draw(maybe("000.00.01.H26-2026-0001", codes_like())),
        "direction": draw(st.sampled_from(["collect_dossier", "deliver_result"])),
        "agency_code": "000.00.01.H26",
        "procedure_code": draw(maybe("1.001193", codes_like())),
        "citizen": {
            "name": draw(maybe("Trần Văn Bình", texts(400))),
            "phone": "0912345678",
            "address": {
                "province_code": commune.province_code,
                "commune_code": commune.code,
                "street": draw(maybe("12 Yersin", texts(255))),
            },
        },
        "weight_grams": 300,
        "cod_amount": draw(st.sampled_from([0, 1, 150_000, 50_000_000])),
        "note": draw(maybe("", texts(500))),
    }
    return body


@PROPERTY
@given(body=shipment_bodies())
def test_an_accepted_shipment_can_be_ordered_and_its_cod_receipted(
    body: dict[str, Any], signing_key: SigningKey
) -> None:
    data = accepted(body, CreateShipment)
    if data is None:
        return
    try:
        order = postal_order(data)
    except Refused:  # refused by the API's own checks (address, phone, limits), with a problem naming the field
        return
    build_create_order(order)
    if data.cod_amount:
        issue(cod_receipt(data), signing_key)


@st.composite
def replacements(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": draw(maybe("Sai tên người nộp", texts(255)))}
    if draw(st.booleans()):
        body["payer"] = {
            "name": draw(maybe("Nguyễn Văn An", texts(400))),
            "id_number": draw(maybe("", id_numbers())),
            "tax_code": draw(maybe("", tax_codes())),
            "address": draw(maybe("", texts(400))),
        }
    if draw(st.booleans()):
        body["lines"] = [
            {
                "kind": "le_phi",
                "code": draw(maybe("LP-GCN", codes_like())),
                "name": draw(maybe("Lệ phí cấp giấy chứng nhận", texts(500))),
                "amount": 150_000,
            }
        ]
    return body


@PROPERTY
@given(body=replacements())
def test_an_accepted_correction_can_be_receipted(body: dict[str, Any], signing_key: SigningKey) -> None:
    data = accepted(body, ReplaceReceipt)
    if data is None:
        return
    issue(corrected_receipt(sample_receipt(), data, datetime(2026, 11, 23, 2, 0, tzinfo=UTC)), signing_key)
