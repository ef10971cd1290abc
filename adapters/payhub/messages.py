"""Building and reading the hub's messages: pure functions, no I/O.

Outbound messages are built as JSON-ready dicts carrying their ``MaXacThuc``; inbound ones are decoded into
Structs and verified here, so a message that reaches the rest of the system has been checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from adapters import jsonwire
from adapters.vntime import format_compact, parse_compact

from . import checksum
from .codes import BILL_STATES, CONFIRM_OUTCOMES, REFUND_DONE, REPLY_TEXT, Outcome, Reply

_T = TypeVar("_T")

VERSION = "2.0.0"
CURRENCY = "VND"


class ProtocolError(Exception):
    """A message from the hub that cannot be trusted or read: bad checksum, bad shape, bad value."""


class CallbackRejected(Exception):
    """A callback we refuse; ``reply`` is the hub's code we answer with."""

    def __init__(self, reply: Reply, reason: str) -> None:
        super().__init__(reason)
        self.reply = reply
        self.reason = reason


def parse_amount(value: int | str) -> int:
    """Whole đồng from either wire form (digit string or integer); anything else is a protocol error."""
    if isinstance(value, bool):
        raise ProtocolError("amount is a boolean")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        amount = int(value)
    else:
        raise ProtocolError(f"amount is not whole đồng: {value!r}")
    if amount < 0:
        raise ProtocolError("amount is negative")
    return amount


# ---------------------------------------------------------------- init


class FeeItem(msgspec.Struct, forbid_unknown_fields=False):
    LoaiPhiLePhi: int | str
    MaPhiLePhi: str
    TenPhiLePhi: str
    SoTien: int | str


class ReceiptInfo(msgspec.Struct, omit_defaults=True):
    """``ThongTinBienLai``: who collects, for which dossier and procedure, into which account, from whom."""

    MaHoSo: str
    MaDonVi: str
    TenDonVi: str
    PhiLePhi: list[FeeItem]
    MaDichVu: int = 2
    MaDVC: str = ""
    TenDVC: str = ""
    MaTTHC: str = ""
    TenTTHC: str = ""
    TKThuHuong: str = ""
    MaNHThuHuong: str = ""
    TenTKThuHuong: str = ""
    HoTenNguoiNop: str = ""
    SoCMNDNguoiNop: str = ""
    DiaChiNguoiNop: str = ""
    TinhNguoiNop: str = ""
    NoiDungThanhToan: str = ""


@dataclass(frozen=True)
class BillLine:
    kind: int  # 1 phí, 2 lệ phí (the hub's LoaiPhiLePhi codes are the receipt's)
    code: str
    name: str
    amount: int


@dataclass(frozen=True)
class Bill:
    """What the receipt part of an init states, in the gateway's words (``receipt_info`` maps it to the hub's)."""

    dossier_code: str
    agency_code: str
    agency_name: str
    lines: tuple[BillLine, ...]
    service_code: str = ""
    service_name: str = ""
    procedure_code: str = ""
    procedure_name: str = ""
    treasury_account: str = ""
    treasury_bank_code: str = ""
    treasury_account_name: str = ""
    payer_name: str = ""
    payer_id_number: str = ""
    payer_address: str = ""
    payer_province: str = ""
    description: str = ""


def receipt_info(bill: Bill) -> ReceiptInfo:
    return ReceiptInfo(
        MaHoSo=bill.dossier_code,
        MaDonVi=bill.agency_code,
        TenDonVi=bill.agency_name,
        PhiLePhi=[
            FeeItem(LoaiPhiLePhi=x.kind, MaPhiLePhi=x.code, TenPhiLePhi=x.name, SoTien=str(x.amount))
            for x in bill.lines
        ],
        MaDVC=bill.service_code,
        TenDVC=bill.service_name,
        MaTTHC=bill.procedure_code,
        TenTTHC=bill.procedure_name,
        TKThuHuong=bill.treasury_account,
        MaNHThuHuong=bill.treasury_bank_code,
        TenTKThuHuong=bill.treasury_account_name,
        HoTenNguoiNop=bill.payer_name,
        SoCMNDNguoiNop=bill.payer_id_number,
        DiaChiNguoiNop=bill.payer_address,
        TinhNguoiNop=bill.payer_province,
        NoiDungThanhToan=bill.description,
    )


@dataclass(frozen=True)
class InitOrder:
    reference: str
    amount: int
    description: str
    client_ip: str
    receipt: ReceiptInfo
    sent_at: datetime
    bank_code: str = ""
    channel: str = "1"
    device: str = "1"
    language: str = "vi"


def build_init(order: InitOrder, partner: str, key: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "LoaiBanTin": "INIT",
        "PhienBan": VERSION,
        "MaDoiTac": partner,
        "MaThamChieu": order.reference,
        "SoTien": str(order.amount),
        "LoaiHinhThanhToan": "PAY",
        "MaKenhThanhToan": order.channel,
        "MaThietBi": order.device,
        "NgonNgu": order.language,
        "MaTienTe": CURRENCY,
        "MaNganHang": order.bank_code,
        "ThongTinGiaoDich": order.description[:255],
        "ThoiGianGD": format_compact(order.sent_at),
        "Ip": order.client_ip,
        "ThongTinBienLai": msgspec.to_builtins(order.receipt),
    }
    message["MaXacThuc"] = checksum.sign("init", message, key)
    return message


class InitReply(msgspec.Struct):
    MaLoi: str
    MaThamChieu: str = ""
    UrlThanhToan: str = ""
    ThoiGianGD: str = ""
    MoTaLoi: str = ""
    MaXacThuc: str = ""

    @property
    def checkout_url(self) -> str:
        """The hub's page where the citizen pays."""
        return self.UrlThanhToan


def parse_init_reply(body: bytes, key: str) -> InitReply:
    reply = _decode(body, InitReply)
    if not checksum.verify("init-reply", msgspec.structs.asdict(reply), key, reply.MaXacThuc):
        raise ProtocolError("init reply checksum does not verify")
    return reply


# ---------------------------------------------------------------- callback (CONFIRM)


class Confirm(msgspec.Struct):
    LoaiBanTin: str
    MaLoi: str
    MaDoiTac: str
    MaThamChieu: str
    SoTien: int | str
    MaXacThuc: str
    MaTienTe: str = CURRENCY
    MaGiaoDich: str = ""
    MaNganHang: str = ""
    ThoiGianGD: str = ""
    ThongTinGiaoDich: str = ""


@dataclass(frozen=True)
class HubResult:
    """The hub's word on one payment, from a callback or a query: the single input of applying a result."""

    reference: str
    outcome: Outcome
    amount: int | None
    transaction_id: str = ""
    bank_code: str = ""
    occurred_at: datetime | None = None
    raw_code: str = ""
    source: str = "callback"
    extra: dict[str, Any] = field(default_factory=dict)


def parse_confirm(body: bytes, partner: str, key: str) -> HubResult:
    """Verify a callback; raise ``CallbackRejected`` with the reply code the hub expects."""
    try:
        jsonwire.check(body)
        message = msgspec.json.decode(body)
    except jsonwire.UnsafeJson as exc:
        raise CallbackRejected(Reply.OTHER, str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise CallbackRejected(Reply.OTHER, "body is not JSON") from exc
    if not isinstance(message, dict):
        raise CallbackRejected(Reply.OTHER, "body is not a JSON object")
    if not checksum.verify("confirm", message, key, message.get("MaXacThuc")):
        raise CallbackRejected(Reply.BAD_CHECKSUM, "checksum does not verify")
    try:
        confirm = msgspec.convert(message, Confirm)
    except msgspec.ValidationError as exc:
        raise CallbackRejected(Reply.OTHER, f"malformed callback: {exc}") from exc
    if confirm.MaDoiTac != partner:
        raise CallbackRejected(Reply.BAD_CHECKSUM, "callback is for another partner")
    if confirm.LoaiBanTin != "CONFIRM":
        raise CallbackRejected(Reply.OTHER, f"unexpected message type {confirm.LoaiBanTin!r}")
    if confirm.MaTienTe and confirm.MaTienTe != CURRENCY:
        raise CallbackRejected(Reply.AMOUNT_MISMATCH, f"currency {confirm.MaTienTe!r}")
    outcome = CONFIRM_OUTCOMES.get(confirm.MaLoi)
    if outcome is None:
        raise CallbackRejected(Reply.OTHER, f"unknown result code {confirm.MaLoi!r}")
    try:
        amount = parse_amount(confirm.SoTien)
        occurred = parse_compact(confirm.ThoiGianGD) if confirm.ThoiGianGD else None
    except (ProtocolError, ValueError) as exc:
        raise CallbackRejected(Reply.OTHER, str(exc)) from exc
    return HubResult(
        reference=confirm.MaThamChieu,
        outcome=outcome,
        amount=amount,
        transaction_id=confirm.MaGiaoDich,
        bank_code=confirm.MaNganHang,
        occurred_at=occurred,
        raw_code=confirm.MaLoi,
        source="callback",
    )


def peek_reference(body: bytes) -> str:
    """The reference of a callback, for the reply to a callback we could not verify (best effort)."""
    try:
        jsonwire.check(body)
        message = msgspec.json.decode(body)
    except (jsonwire.UnsafeJson, msgspec.DecodeError):
        return ""
    value = message.get("MaThamChieu") if isinstance(message, dict) else None
    return value if isinstance(value, str) else ""


def build_confirm_ack(reply: Reply, partner: str, reference: str, now: datetime, key: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "MaLoi": reply.value,
        "MoTaLoi": REPLY_TEXT[reply.value],
        "MaDoiTac": partner,
        "MaThamChieu": reference,
        "ThoiGianGD": format_compact(now),
    }
    message["MaXacThuc"] = checksum.sign("confirm-ack", message, key)
    return message


# ---------------------------------------------------------------- browser return


@dataclass(frozen=True)
class ReturnInfo:
    reference: str
    code: str
    transaction_id: str
    amount: str
    time: str
    verified: bool


def read_return(params: dict[str, str], key: str) -> ReturnInfo:
    """The browser return's query: for display only; ``verified`` says whether its checksum holds."""
    return ReturnInfo(
        reference=params.get("MaThamChieu", ""),
        code=params.get("MaLoi", ""),
        transaction_id=params.get("MaGiaoDich", ""),
        amount=params.get("SoTien", ""),
        time=params.get("ThoiGianGD", ""),
        verified=checksum.verify("return", params, key, params.get("MaXacThuc")),
    )


# ---------------------------------------------------------------- query (GETBILL)


def build_query(reference: str, partner: str, now: datetime, key: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "LoaiBanTin": "GETBILL",
        "PhienBan": VERSION,
        "MaDoiTac": partner,
        "MaThamChieu": reference,
        "ThoiGianGD": format_compact(now),
    }
    message["MaXacThuc"] = checksum.sign("getbill", message, key)
    return message


class BillReply(msgspec.Struct):
    MaLoi: str
    MaThamChieu: str = ""
    TrangThai: str = ""
    SoTien: int | str = 0
    MaGiaoDich: str = ""
    MaNganHang: str = ""
    ThoiGianThanhToan: str = ""
    MaXacThuc: str = ""


def parse_query_reply(body: bytes, reference: str, key: str) -> HubResult:
    reply = _decode(body, BillReply)
    if not checksum.verify("getbill-reply", msgspec.structs.asdict(reply), key, reply.MaXacThuc):
        raise ProtocolError("query reply checksum does not verify")
    if reply.MaLoi == Reply.UNKNOWN_REFERENCE:
        return HubResult(
            reference=reference, outcome=Outcome.UNKNOWN_REFERENCE, amount=None, raw_code=reply.MaLoi, source="query"
        )
    if reply.MaLoi != Reply.OK:
        raise ProtocolError(f"query answered {reply.MaLoi}")
    if reply.MaThamChieu != reference:
        raise ProtocolError("query reply is for another reference")
    outcome = BILL_STATES.get(reply.TrangThai)
    if outcome is None:
        raise ProtocolError(f"unknown bill state {reply.TrangThai!r}")
    try:
        paid_at = parse_compact(reply.ThoiGianThanhToan) if reply.ThoiGianThanhToan else None
    except ValueError as exc:
        raise ProtocolError(str(exc)) from exc
    return HubResult(
        reference=reference,
        outcome=outcome,
        amount=parse_amount(reply.SoTien),
        transaction_id=reply.MaGiaoDich,
        bank_code=reply.MaNganHang,
        occurred_at=paid_at,
        raw_code=reply.TrangThai,
        source="query",
    )


# ---------------------------------------------------------------- refund


@dataclass(frozen=True)
class RefundOrder:
    reference: str
    transaction_id: str
    refund_reference: str
    amount: int
    reason: str
    sent_at: datetime


def build_refund(order: RefundOrder, partner: str, key: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "LoaiBanTin": "REFUND",
        "PhienBan": VERSION,
        "MaDoiTac": partner,
        "MaThamChieu": order.reference,
        "MaGiaoDich": order.transaction_id,
        "MaYeuCauHoan": order.refund_reference,
        "SoTienHoan": str(order.amount),
        "LyDo": order.reason[:255],
        "ThoiGianGD": format_compact(order.sent_at),
    }
    message["MaXacThuc"] = checksum.sign("refund", message, key)
    return message


class RefundReply(msgspec.Struct):
    MaLoi: str
    MaYeuCauHoan: str = ""
    TrangThai: str = ""
    MoTaLoi: str = ""
    MaXacThuc: str = ""

    @property
    def done(self) -> bool:
        """The money is back with the payer (otherwise the hub is still processing the refund)."""
        return self.TrangThai == REFUND_DONE

    @property
    def code(self) -> str:
        return self.MaLoi


def parse_refund_reply(body: bytes, refund_reference: str, key: str) -> RefundReply:
    reply = _decode(body, RefundReply)
    if not checksum.verify("refund-reply", msgspec.structs.asdict(reply), key, reply.MaXacThuc):
        raise ProtocolError("refund reply checksum does not verify")
    if reply.MaLoi == Reply.OK and reply.MaYeuCauHoan != refund_reference:
        raise ProtocolError("refund reply is for another refund")
    return reply


# ---------------------------------------------------------------- settlement file


def build_settlement_params(day: str, partner: str, now: datetime, key: str) -> dict[str, str]:
    params = {"MaDoiTac": partner, "NgayQuyetToan": day, "ThoiGianGD": format_compact(now)}
    params["MaXacThuc"] = checksum.sign("settlement", params, key)
    del params["NgayQuyetToan"]
    return params


def _decode(body: bytes, kind: type[_T]) -> _T:
    try:
        jsonwire.check(body)
        return msgspec.json.decode(body, type=kind)
    except (jsonwire.UnsafeJson, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError(f"unreadable reply: {exc}") from exc
