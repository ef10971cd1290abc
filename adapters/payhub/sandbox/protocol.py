"""The hub's side of the wire: checking the partner's requests and signing what the hub sends back.

Pure functions. A request that cannot be accepted raises ``Refused`` with the ``MaLoi`` the hub answers; every
reply and callback is signed with the fields ``checksum.FIELDS`` lists for its kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from adapters.payhub import checksum
from adapters.payhub.codes import REPLY_TEXT, Reply
from adapters.payhub.messages import CURRENCY, ProtocolError, ReceiptInfo, parse_amount
from adapters.vntime import format_compact

from .config import SandboxConfig
from .state import Order, OrderRequest, RefundAnswer

REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,20}")
DAY = re.compile(r"\d{8}")
MAX_DESCRIPTION = 255


class Refused(Exception):
    def __init__(self, code: Reply, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class RefundRequest:
    reference: str
    transaction_id: str
    refund_reference: str
    amount: int
    reason: str


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise Refused(Reply.OTHER, "body is not JSON") from exc
    if not isinstance(message, dict):
        raise Refused(Reply.OTHER, "body is not a JSON object")
    return message


def check_signed(kind: str, message: dict[str, Any], config: SandboxConfig) -> None:
    """Checksum first, then the partner: a message failing either changes nothing and is answered ``01``."""
    try:
        valid = checksum.verify(kind, message, config.hash_key, message.get("MaXacThuc"))
    except TypeError:  # a boolean where a signed field belongs
        valid = False
    if not valid:
        raise Refused(Reply.BAD_CHECKSUM, "checksum does not verify")
    if message.get("MaDoiTac") != config.partner_code:
        raise Refused(Reply.BAD_CHECKSUM, "unknown partner")


def read_init(message: dict[str, Any]) -> OrderRequest:
    _expect(message, "LoaiBanTin", "INIT")
    reference = _reference(message.get("MaThamChieu"))
    if message.get("MaTienTe", CURRENCY) != CURRENCY:
        raise Refused(Reply.OTHER, "only VND is accepted")
    description = _text(message, "ThongTinGiaoDich")
    if len(description) > MAX_DESCRIPTION:
        raise Refused(Reply.OTHER, "ThongTinGiaoDich is longer than 255 characters")
    amount = _amount(message.get("SoTien"))
    try:
        receipt = msgspec.convert(message.get("ThongTinBienLai"), ReceiptInfo)
    except msgspec.ValidationError as exc:
        raise Refused(Reply.OTHER, f"ThongTinBienLai: {exc}") from exc
    if not receipt.MaHoSo.strip():
        raise Refused(Reply.OTHER, "ThongTinBienLai.MaHoSo is required")
    if not receipt.PhiLePhi:
        raise Refused(Reply.OTHER, "ThongTinBienLai.PhiLePhi is empty")
    for line in receipt.PhiLePhi:
        if str(line.LoaiPhiLePhi) not in ("1", "2"):
            raise Refused(Reply.OTHER, f"LoaiPhiLePhi {line.LoaiPhiLePhi!r}")
    if amount <= 0 or amount != sum(_amount(line.SoTien) for line in receipt.PhiLePhi):
        raise Refused(Reply.AMOUNT_MISMATCH, "SoTien is not the sum of PhiLePhi")
    return OrderRequest(
        reference=reference,
        amount=amount,
        receipt=receipt,
        description=description,
        bank_code=_text(message, "MaNganHang"),
    )


def read_query(message: dict[str, Any]) -> str:
    _expect(message, "LoaiBanTin", "GETBILL")
    return _reference(message.get("MaThamChieu"))


def read_refund(message: dict[str, Any]) -> RefundRequest:
    _expect(message, "LoaiBanTin", "REFUND")
    refund_reference = _text(message, "MaYeuCauHoan")
    if not REFERENCE.fullmatch(refund_reference):
        raise Refused(Reply.OTHER, "MaYeuCauHoan must be 1-20 characters of [A-Za-z0-9_-]")
    return RefundRequest(
        reference=_reference(message.get("MaThamChieu")),
        transaction_id=_text(message, "MaGiaoDich"),
        refund_reference=refund_reference,
        amount=_amount(message.get("SoTienHoan")),
        reason=_text(message, "LyDo")[:MAX_DESCRIPTION],
    )


def check_settlement_request(day: str, params: dict[str, str], config: SandboxConfig) -> None:
    if not DAY.fullmatch(day):
        raise Refused(Reply.OTHER, "the day is not yyyyMMdd")
    message = {**params, "NgayQuyetToan": day}
    if not checksum.verify("settlement", message, config.hash_key, params.get("MaXacThuc")):
        raise Refused(Reply.BAD_CHECKSUM, "checksum does not verify")
    if params.get("MaDoiTac") != config.partner_code:
        raise Refused(Reply.BAD_CHECKSUM, "unknown partner")


# ---------------------------------------------------------------- what the hub sends


def signed(kind: str, message: dict[str, Any], key: str) -> dict[str, Any]:
    message["MaXacThuc"] = checksum.sign(kind, message, key)
    return message


def init_reply(code: str, reference: str, checkout_url: str, now: datetime, key: str) -> dict[str, Any]:
    return signed("init-reply", {
        "MaLoi": code,
        "MoTaLoi": REPLY_TEXT.get(code, REPLY_TEXT["99"]),
        "MaThamChieu": reference,
        "UrlThanhToan": checkout_url,
        "ThoiGianGD": format_compact(now),
    }, key)


def bill_reply(reference: str, order: Order | None, key: str, code: str = Reply.OK) -> dict[str, Any]:
    """The query's answer: the order's state, or ``02`` (or the given refusal) with empty fields."""
    if order is None or code != Reply.OK:
        message: dict[str, Any] = {
            "MaLoi": Reply.UNKNOWN_REFERENCE.value if code == Reply.OK else str(code),
            "MaThamChieu": reference,
            "TrangThai": "",
            "SoTien": 0,
            "MaGiaoDich": "",
            "MaNganHang": "",
            "ThoiGianThanhToan": "",
        }
    else:
        message = {
            "MaLoi": Reply.OK.value,
            "MaThamChieu": reference,
            "TrangThai": order.state,
            "SoTien": order.amount,
            "MaGiaoDich": order.transaction_id,
            "MaNganHang": order.bank_code,
            "ThoiGianThanhToan": format_compact(order.paid_at) if order.paid_at else "",
        }
    message["MoTaLoi"] = REPLY_TEXT.get(message["MaLoi"], REPLY_TEXT["99"])
    return signed("getbill-reply", message, key)


def refund_reply(refund_reference: str, answer: RefundAnswer, key: str) -> dict[str, Any]:
    return signed("refund-reply", {
        "MaLoi": answer.code,
        "MoTaLoi": REPLY_TEXT.get(answer.code, REPLY_TEXT["99"]),
        "MaYeuCauHoan": refund_reference,
        "TrangThai": answer.state,
    }, key)


def confirm(order: Order, partner: str, key: str, amount_delta: int = 0) -> dict[str, Any]:
    """The CONFIRM callback of a concluded order; ``SoTien`` is an integer, as the real hub sends it."""
    if not order.result_code or order.paid_at is None:
        raise ValueError(f"order {order.reference} has no result to confirm")
    return signed("confirm", {
        "LoaiBanTin": "CONFIRM",
        "MaLoi": order.result_code,
        "MaDoiTac": partner,
        "MaThamChieu": order.reference,
        "SoTien": order.amount + amount_delta,
        "MaTienTe": CURRENCY,
        "MaGiaoDich": order.transaction_id,
        "MaNganHang": order.bank_code,
        "ThoiGianGD": format_compact(order.paid_at),
        "ThongTinGiaoDich": order.request.description,
    }, key)


def return_params(order: Order, key: str) -> dict[str, str]:
    """The query of the browser's return to the partner, checksum kind ``return``."""
    if order.paid_at is None:
        raise ValueError(f"order {order.reference} has no result to return")
    params: dict[str, str] = {
        "MaLoi": order.result_code,
        "MaThamChieu": order.reference,
        "MaGiaoDich": order.transaction_id,
        "SoTien": str(order.amount),
        "ThoiGianGD": format_compact(order.paid_at),
    }
    params["MaXacThuc"] = checksum.sign("return", params, key)
    return params


def _expect(message: dict[str, Any], name: str, value: str) -> None:
    if message.get(name) != value:
        raise Refused(Reply.OTHER, f"{name} must be {value!r}")


def _text(message: dict[str, Any], name: str) -> str:
    value = message.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused(Reply.OTHER, f"{name} must be a string")
    return value


def _reference(value: Any) -> str:
    if not isinstance(value, str) or not REFERENCE.fullmatch(value):
        raise Refused(Reply.OTHER, "MaThamChieu must be 1-20 characters of [A-Za-z0-9_-]")
    return value


def _amount(value: Any) -> int:
    try:
        return parse_amount(value)
    except ProtocolError as exc:
        raise Refused(Reply.OTHER, str(exc)) from exc
