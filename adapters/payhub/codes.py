"""The hub's result and state codes, and what each means to the gateway: the one place they are mapped."""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    """What the hub says happened to a payment, in the gateway's words."""

    PAID = "paid"
    NOT_PAID = "not_paid"  # known to the hub, citizen has not paid yet
    PROCESSING = "processing"
    FAILED = "failed"
    CANCELLED = "cancelled"  # cancelled by the citizen at checkout
    EXPIRED = "expired"  # expired or cancelled at the hub
    REFUNDED = "refunded"
    UNKNOWN_REFERENCE = "unknown_reference"


# MaLoi of a CONFIRM callback.
CONFIRM_PAID = "00"
CONFIRM_OUTCOMES: dict[str, Outcome] = {
    "00": Outcome.PAID,
    "24": Outcome.CANCELLED,
    "51": Outcome.FAILED,
    "99": Outcome.FAILED,
}

# TrangThai of a GETBILL reply.
BILL_STATES: dict[str, Outcome] = {
    "0": Outcome.NOT_PAID,
    "1": Outcome.PAID,
    "2": Outcome.FAILED,
    "3": Outcome.PROCESSING,
    "4": Outcome.EXPIRED,
    "5": Outcome.REFUNDED,
}
BILL_CODE_OF = {outcome: code for code, outcome in BILL_STATES.items()}


class Reply(enum.StrEnum):
    """MaLoi of our reply to a callback, and of the hub's replies to init, query and refund."""

    OK = "00"
    BAD_CHECKSUM = "01"
    UNKNOWN_REFERENCE = "02"  # init: same reference, different content
    AMOUNT_MISMATCH = "03"  # refund: more than the refundable balance
    OTHER = "99"


REPLY_TEXT: dict[str, str] = {
    "00": "Thành công",
    "01": "Sai mã xác thực",
    "02": "Không tìm thấy giao dịch",
    "03": "Số tiền không khớp",
    "99": "Lỗi khác",
}

# A callback answered with one of these is final for the hub: it stops retrying.
FINAL_REPLIES = frozenset({"00", "01", "02", "03"})

# TrangThai of a refund reply.
REFUND_DONE = "1"
REFUND_PROCESSING = "3"

FEE_KIND_PHI = 1
FEE_KIND_LE_PHI = 2
SERVICE_FEES = 2  # MaDichVu: fees and charges

# The daily settlement file (§6): its columns in order, and what a row's TrangThai says it is.
SETTLEMENT_COLUMNS = (
    "MaGiaoDich", "MaThamChieu", "MaHoSo", "MaDonVi", "SoTien", "PhiGiaoDich", "SoTienQuyetToan",
    "MaNganHang", "ThoiGianThanhToan", "TrangThai", "NgayQuyetToan",
)
SETTLEMENT_ROW_PAYMENT = "1"
SETTLEMENT_ROW_REFUND = "5"


class SettledKind(enum.StrEnum):
    """What a settlement row moved, in the gateway's words."""

    PAYMENT = "payment"
    REFUND = "refund"


SETTLEMENT_ROW_KINDS: dict[str, SettledKind] = {
    SETTLEMENT_ROW_PAYMENT: SettledKind.PAYMENT,
    SETTLEMENT_ROW_REFUND: SettledKind.REFUND,
}
