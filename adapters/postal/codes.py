"""The post's order states (0–22) and what each means to the gateway: the one place they are mapped.

States 16–19 are the post's return workflow ("chuyển hoàn": awaiting approval, approved, started,
completed), so they map to ``returning`` and ``returned``; ``returning`` is added to the suggested states
for that reason.

``advances(current, new)`` decides "never move a shipment backwards" from the two states alone:

* a non-final state moves to any state of a higher rank;
* ``delivered`` is final for the parcel but can still move to ``cod_remitted`` (the post paid the
  collected fee over to the agency);
* ``returned``, ``cancelled`` and ``cod_remitted`` never move.

A failed attempt ranks just above its attempt, so a second attempt after a failure keeps the shipment at
``delivery_failed`` (or ``pickup_failed``) until its outcome arrives; the raw events are all kept anyway.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ShipmentState(enum.StrEnum):
    CREATED = "created"
    PICKUP_SCHEDULED = "pickup_scheduled"
    PICKUP_FAILED = "pickup_failed"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_FAILED = "delivery_failed"
    RETURNING = "returning"
    DELIVERED = "delivered"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    COD_REMITTED = "cod_remitted"


RANK: dict[ShipmentState, int] = {
    ShipmentState.CREATED: 10,
    ShipmentState.PICKUP_SCHEDULED: 20,
    ShipmentState.PICKUP_FAILED: 25,
    ShipmentState.PICKED_UP: 30,
    ShipmentState.IN_TRANSIT: 40,
    ShipmentState.OUT_FOR_DELIVERY: 50,
    ShipmentState.DELIVERY_FAILED: 55,
    ShipmentState.RETURNING: 60,
    ShipmentState.DELIVERED: 80,
    ShipmentState.RETURNED: 80,
    ShipmentState.CANCELLED: 80,
    ShipmentState.COD_REMITTED: 90,
}

FINAL: frozenset[ShipmentState] = frozenset(
    {ShipmentState.RETURNED, ShipmentState.CANCELLED, ShipmentState.COD_REMITTED}
)
# Final for the parcel, but the money it collected can still be remitted.
MOVES_AFTER_DELIVERY: frozenset[ShipmentState] = frozenset({ShipmentState.COD_REMITTED})


def advances(current: ShipmentState | None, new: ShipmentState) -> bool:
    """Whether an event in state ``new`` moves a shipment that is in ``current`` (``None``: no state yet)."""
    if current is None:
        return True
    if current in FINAL:
        return False
    if current is ShipmentState.DELIVERED:
        return new in MOVES_AFTER_DELIVERY
    return RANK[new] > RANK[current]


@dataclass(frozen=True)
class PostStatus:
    code: int
    name_vi: str
    name_en: str
    state: ShipmentState


_S = ShipmentState
STATUSES: dict[int, PostStatus] = {
    s.code: s
    for s in (
        PostStatus(0, "Đơn nháp", "draft saved", _S.CREATED),
        PostStatus(1, "Đã tạo đơn", "created", _S.CREATED),
        PostStatus(2, "Đã phân công bưu tá", "assigned to a postman", _S.PICKUP_SCHEDULED),
        PostStatus(3, "Đang xử lý", "processing", _S.PICKUP_SCHEDULED),
        PostStatus(4, "Đang đi nhận", "picking up", _S.PICKUP_SCHEDULED),
        PostStatus(5, "Nhận không thành công", "pickup failed (attempt)", _S.PICKUP_FAILED),
        PostStatus(6, "Đã nhận hàng", "picked up", _S.PICKED_UP),
        PostStatus(7, "Đã nhập bưu cục", "received at post office", _S.PICKED_UP),
        PostStatus(8, "Không nhận được hàng", "pickup failed (final)", _S.PICKUP_FAILED),
        PostStatus(9, "Hủy nhận hàng", "pickup cancelled", _S.CANCELLED),
        PostStatus(10, "Đang vận chuyển", "in transit", _S.IN_TRANSIT),
        PostStatus(11, "Đã đến bưu cục phát", "arrived at post office", _S.IN_TRANSIT),
        PostStatus(12, "Đang phát", "out for delivery", _S.OUT_FOR_DELIVERY),
        PostStatus(13, "Chuyển tiếp", "forwarded", _S.IN_TRANSIT),
        PostStatus(14, "Phát thành công", "delivered", _S.DELIVERED),
        PostStatus(15, "Phát không thành công", "delivery failed", _S.DELIVERY_FAILED),
        PostStatus(16, "Chờ duyệt chuyển hoàn", "awaiting transfer", _S.RETURNING),
        PostStatus(17, "Đã duyệt chuyển hoàn", "approved", _S.RETURNING),
        PostStatus(18, "Bắt đầu chuyển hoàn", "transfer started", _S.RETURNING),
        PostStatus(19, "Hoàn tất chuyển hoàn", "completed", _S.RETURNED),
        PostStatus(20, "Đã chuyển hoàn", "partly returned / returned", _S.RETURNED),
        PostStatus(21, "Đã trả tiền thu hộ", "COD paid (remitted)", _S.COD_REMITTED),
        PostStatus(22, "Hủy phát", "delivery cancelled", _S.CANCELLED),
    )
}

# Raw codes the post uses at its edges.
DRAFT, CREATED, PICKED_UP, DELIVERED, DELIVERY_FAILED, RETURNED, COD_PAID = 0, 1, 6, 14, 15, 20, 21
PICKUP_CANCELLED, DELIVERY_CANCELLED, PICKUP_FAILED_FINAL = 9, 22, 8
CANCELLABLE_BELOW = 6  # orderCancel is accepted only before pickup

# Error codes of the post's replies.
TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 (an error code, not a secret)
INVALID_ADDRESS = "INVALID_ADDRESS"
INVALID_PHONE = "INVALID_PHONE"
INVALID_WEIGHT = "INVALID_WEIGHT"
INVALID_REQUEST = "INVALID_REQUEST"
COD_LIMIT = "COD_LIMIT"
CANNOT_CANCEL = "CANNOT_CANCEL"
ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
LOGIN_FAILED = "LOGIN_FAILED"

# Limits and service codes.
COD_LIMIT_DONG = 50_000_000
MAX_WEIGHT_GRAMS = 30_000
MAX_PAGE_SIZE = 500
SERVICE_STANDARD = "HCC"
SERVICE_EXPRESS = "HCC-EXP"
SERVICES = frozenset({SERVICE_STANDARD, SERVICE_EXPRESS})
ADDON_COD = "COD"
ORDER_TYPE_SEND = "GUI"


def status(code: int) -> PostStatus:
    """The post's status ``code``; ``KeyError`` for a code outside 0–22."""
    return STATUSES[code]


def state_of(code: int) -> ShipmentState:
    return STATUSES[code].state
