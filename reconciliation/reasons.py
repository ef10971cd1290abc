"""Every class a reconciled line can fall in, its Vietnamese label, and what each means for the money.

The one place these codes live: the engine writes them, the runs and breaks store them, the finance pages show
their labels.
"""

from __future__ import annotations

import enum


class LineClass(enum.StrEnum):
    # settlement file against our payments and refunds
    MATCHED = "matched"
    LATE_SETTLEMENT = "late_settlement"  # matched in a later day's file than the day the money moved
    REFUND = "refund"  # a refund row matched to our refund
    AWAITING_HUB = "awaiting_hub"  # ours, not in the file yet, still inside the cut-off
    MISSING_AT_HUB = "missing_at_hub"  # ours, not in any file past the cut-off
    MISSING_IN_OURS = "missing_in_ours"
    STATUS_MISMATCH = "status_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    AGENCY_MISMATCH = "agency_mismatch"  # the hub's line names another agency than our record it settles
    DUPLICATE = "duplicate"  # a row repeating a transaction id, or a further row of a reference, in the same file
    # a row of a payment of ours, of the agency the row names, that another day's file settled too (an earlier day's,
    # or a later day's reconciled first): found by the gateway (the engine sees one day's records only), never by the
    # engine
    SETTLED_AGAIN = "settled_again"
    NET_MISMATCH = "net_mismatch"  # SoTienQuyetToan is not SoTien less PhiGiaoDich
    AGGREGATE_MISMATCH = "aggregate_mismatch"  # an agency's day totals differ by more than its breaks explain
    # the post's COD statement against our COD collections
    COD_MATCHED = "cod_matched"
    COD_AWAITING = "cod_awaiting"
    COD_NOT_REMITTED = "cod_not_remitted"
    COD_UNKNOWN_ITEM = "cod_unknown_item"
    COD_AMOUNT_MISMATCH = "cod_amount_mismatch"
    COD_BATCH_MISMATCH = "cod_batch_mismatch"


LABELS: dict[LineClass, str] = {
    LineClass.MATCHED: "Khớp",
    LineClass.LATE_SETTLEMENT: "Quyết toán muộn (khớp trong tệp của ngày sau)",
    LineClass.REFUND: "Hoàn tiền đã khớp",
    LineClass.AWAITING_HUB: "Chờ Cổng thanh toán quyết toán (chưa quá hạn)",
    LineClass.MISSING_AT_HUB: "Cổng thanh toán chưa quyết toán (đã quá hạn)",
    LineClass.MISSING_IN_OURS: "Có trong tệp quyết toán nhưng không có trong sổ của hệ thống",
    LineClass.STATUS_MISMATCH: "Lệch trạng thái: Cổng thanh toán đã quyết toán, hệ thống chưa ghi nhận đã thu",
    LineClass.AMOUNT_MISMATCH: "Lệch số tiền",
    LineClass.AGENCY_MISMATCH: "Lệch đơn vị: dòng quyết toán ghi đơn vị khác đơn vị của khoản trong hệ thống",
    LineClass.DUPLICATE: "Giao dịch bị quyết toán trùng lặp",
    LineClass.SETTLED_AGAIN: "Quyết toán lại: khoản thanh toán cũng được quyết toán trong tệp của một ngày khác",
    LineClass.NET_MISMATCH: "Số tiền quyết toán khác số tiền trừ phí giao dịch",
    LineClass.AGGREGATE_MISMATCH: "Lệch tổng tiền theo đơn vị và ngày",
    LineClass.COD_MATCHED: "Tiền thu hộ đã khớp",
    LineClass.COD_AWAITING: "Chờ bưu điện chuyển tiền thu hộ (chưa quá hạn)",
    LineClass.COD_NOT_REMITTED: "Bưu điện chưa chuyển tiền thu hộ (đã quá hạn)",
    LineClass.COD_UNKNOWN_ITEM: "Bưu gửi trong bảng kê không có trong sổ của hệ thống",
    LineClass.COD_AMOUNT_MISMATCH: "Lệch số tiền thu hộ",
    LineClass.COD_BATCH_MISMATCH: "Tổng tiền chuyển của bảng kê thu hộ không khớp với các khoản đã thu",
}

# Classes that are not breaks: the line is accounted for, or is expected to be soon.
SETTLED = frozenset({LineClass.MATCHED, LineClass.LATE_SETTLEMENT, LineClass.REFUND, LineClass.COD_MATCHED})
WAITING = frozenset({LineClass.AWAITING_HUB, LineClass.COD_AWAITING})
BREAKS = frozenset(LineClass) - SETTLED - WAITING

# For the aggregate check: the classes whose hub money has no counterpart in ours, and those whose money of ours
# has none at the hub. An amount mismatch is in both: its difference is what it explains. So is an agency
# mismatch: the hub's money counts for the agency its line names, ours for the agency of our record, and neither
# agency's day is taken as settled by the other's money.
HUB_UNEXPLAINED = frozenset(
    {
        LineClass.MISSING_IN_OURS,
        LineClass.DUPLICATE,
        LineClass.SETTLED_AGAIN,
        LineClass.STATUS_MISMATCH,
        LineClass.AMOUNT_MISMATCH,
        LineClass.AGENCY_MISMATCH,
    }
)
OURS_UNEXPLAINED = frozenset(
    {LineClass.AWAITING_HUB, LineClass.MISSING_AT_HUB, LineClass.AMOUNT_MISMATCH, LineClass.AGENCY_MISMATCH}
)


def label(code: str) -> str:
    """The Vietnamese label of a stored class code."""
    return LABELS[LineClass(code)]
