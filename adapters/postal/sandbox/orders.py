"""The post as the sandbox plays it: orders, their status sequences, the event log, tokens and COD money.

Everything here is in memory and free of I/O; the web layer and the webhook pusher sit on top. Event ids,
order ids and item serials keep counting across ``reset`` so a gateway's feed cursor never sees an id twice.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.vntime import business_day, format_local, now_utc

from .. import codes, s10
from ..addresses import validate_address
from ..errors import InputError
from ..phones import normalise_phone
from .config import ITEM_PREFIX, SandboxConfig, cod_fee, postage
from .faults import Faults

# Realistic sequences of the post's status codes, from creation to an end.
SCENARIOS: dict[str, tuple[int, ...]] = {
    "deliver": (1, 2, 4, 6, 7, 10, 11, 12, 14),
    "fail_then_deliver": (1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 14),
    "return": (1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 15, 16, 17, 18, 20),
    "pickup_fail": (1, 2, 4, 5, 4, 5, 8),
}
# How the driver picks a plan for a new order, out of 20.
PLAN_WEIGHTS = (("deliver", 14), ("fail_then_deliver", 3), ("return", 2), ("pickup_fail", 1))
FINAL_STATUSES = frozenset({8, 9, 20, 21, 22})
NOTES = {
    5: "Người gửi vắng nhà, hẹn nhận lại",
    8: "Không liên lạc được người gửi",
    15: "Người nhận vắng nhà, hẹn phát lại",
    20: "Chuyển hoàn về người gửi",
}


class Refusal(Exception):
    """The post's ``{success: false, errorCode, message}`` with the HTTP status the sandbox answers."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


@dataclass
class Event:
    id: int
    order: Order
    status: int
    time: datetime
    location: str
    note: str
    cod_amount: int | None = None  # what the event reports collecting, when not the order's own amount

    def wire(self) -> dict[str, Any]:
        """The feed item (and the pushed body) of this event."""
        return {
            "id": self.id,
            "originalId": self.order.original_id,
            "itemCode": self.order.item_code,
            "saleOrderCode": self.order.sale_order_code,
            "status": self.status,
            "statusName": codes.status(self.status).name_vi,
            "time": format_local(self.time),
            "location": self.location,
            "note": self.note,
            "codAmount": self.order.cod_amount if self.cod_amount is None else self.cod_amount,
        }


@dataclass
class Order:
    original_id: str
    item_code: str
    sale_order_code: str
    service_code: str
    info: dict[str, Any]
    cod_amount: int
    total_fee: int
    plan: tuple[int, ...]
    pos: int = 0
    history: list[Event] = field(default_factory=list)
    collected_at: datetime | None = None
    remitted: bool = False

    @property
    def status(self) -> int:
        return self.history[-1].status if self.history else codes.CREATED

    def wire(self) -> dict[str, Any]:
        """``getOrder``'s data."""
        return {
            "originalId": self.original_id,
            "itemCode": self.item_code,
            "saleOrderCode": self.sale_order_code,
            "serviceCode": self.service_code,
            "status": self.status,
            "statusName": codes.status(self.status).name_vi,
            "codAmount": self.cod_amount,
            "totalFee": self.total_fee,
            "history": [{k: v for k, v in e.wire().items() if k in _HISTORY_KEYS} for e in self.history],
        }

    def view(self) -> dict[str, Any]:
        """The control API's view: the wire order plus what the sandbox plans and has collected."""
        return {
            **self.wire(),
            "plan": list(self.plan),
            "position": self.pos,
            "collectedAt": format_local(self.collected_at) if self.collected_at else None,
            "remitted": self.remitted,
            "events": [e.id for e in self.history],
        }


_ADDRESS_KEYS = ("ProvinceCode", "CommuneCode", "Address")
_HISTORY_KEYS = frozenset({"status", "statusName", "time", "location", "note"})
Listener = Callable[[list[Event]], None]


class PostOffice:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.faults = Faults()
        self.listeners: list[Listener] = []
        self._event_ids = itertools.count(1)
        self._order_ids = itertools.count(1)
        self._serials = itertools.count(10_000_000)
        self.reset()

    def reset(self) -> None:
        self.orders: dict[str, Order] = {}
        self.by_sale_code: dict[str, str] = {}
        self.events: list[Event] = []
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.clock_offset = timedelta(0)
        self.faults = Faults()

    # ---------------------------------------------------------------- clock and tokens

    def now(self) -> datetime:
        return now_utc() + self.clock_offset

    def set_clock(self, moment: datetime | None) -> None:
        self.clock_offset = timedelta(0) if moment is None else moment.astimezone(UTC) - now_utc()

    def issue_token(self, request: dict[str, Any]) -> tuple[str, int]:
        cfg = self.config
        given = (request.get("username"), request.get("password"), request.get("customerCode"))
        if given != (cfg.username, cfg.password, cfg.customer_code):
            raise Refusal(codes.LOGIN_FAILED, "Sai tên đăng nhập, mật khẩu hoặc mã khách hàng", 401)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + cfg.token_ttl
        return token, cfg.token_ttl

    def token_valid(self, token: str | None) -> bool:
        expiry = self.tokens.get(token or "")
        return expiry is not None and time.monotonic() < expiry

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # ---------------------------------------------------------------- orders

    def create(self, message: dict[str, Any]) -> Order:
        info = message.get("informationOrder")
        if not isinstance(info, dict) or not info.get("saleOrderCode"):
            raise Refusal(codes.INVALID_REQUEST, "Thiếu informationOrder hoặc saleOrderCode")
        existing = self.by_sale_code.get(str(info["saleOrderCode"]))
        if existing:
            return self.orders[existing]
        service = info.get("serviceCode", codes.SERVICE_STANDARD)
        if service not in codes.SERVICES:
            raise Refusal(codes.INVALID_REQUEST, f"Dịch vụ không hợp lệ: {service}")
        for role in ("sender", "receiver"):
            try:
                normalise_phone(str(info.get(f"{role}Phone", "")), f"{role}Phone")
            except InputError as exc:
                raise Refusal(codes.INVALID_PHONE, str(exc)) from exc
            try:
                validate_address(*(str(info.get(f"{role}{key}", "")) for key in _ADDRESS_KEYS))
            except InputError as exc:
                raise Refusal(codes.INVALID_ADDRESS, f"{role}: {exc}") from exc
        weight = _whole(info.get("weight"))
        if weight is None or not 0 < weight <= codes.MAX_WEIGHT_GRAMS:
            raise Refusal(codes.INVALID_WEIGHT, f"Khối lượng không hợp lệ: {info.get('weight')!r}")
        cod = 0
        for addon in info.get("addonService") or []:
            if isinstance(addon, dict) and addon.get("code") == codes.ADDON_COD:
                cod = _whole(addon.get("propValue")) or 0
        if cod > codes.COD_LIMIT_DONG:
            raise Refusal(codes.COD_LIMIT, f"Tiền thu hộ vượt quá {codes.COD_LIMIT_DONG:,} đ")
        number = next(self._order_ids)
        order = Order(
            original_id=f"OD{number:08d}",
            item_code=s10.make(ITEM_PREFIX[service], next(self._serials)),
            sale_order_code=str(info["saleOrderCode"]),
            service_code=service,
            info=dict(info),
            cod_amount=cod,
            total_fee=postage(weight, service),
            plan=SCENARIOS[_plan_for(number)],
        )
        self.orders[order.original_id] = order
        self.by_sale_code[order.sale_order_code] = order.original_id
        self._emit(order, [codes.CREATED])
        return order

    def get(self, original_id: str) -> Order:
        order = self.orders.get(original_id)
        if order is None:
            raise Refusal(codes.ORDER_NOT_FOUND, f"Không tìm thấy đơn {original_id}", 404)
        return order

    def cancel(self, original_id: str) -> list[Event]:
        order = self.get(original_id)
        if order.status >= codes.CANCELLABLE_BELOW:
            raise Refusal(codes.CANNOT_CANCEL, "Đơn đã được nhận, không thể hủy", 409)
        return self._emit(order, [codes.PICKUP_CANCELLED], plan_done=True)

    def advance_to(self, original_id: str, status: int, note: str = "") -> list[Event]:
        """Walk the order's plan up to ``status`` when it lies ahead, else record that one status."""
        order = self.get(original_id)
        if status not in codes.STATUSES:
            raise Refusal(codes.INVALID_REQUEST, f"status must be 0–22, got {status!r}", 422)
        if status == codes.PICKUP_CANCELLED:
            return self.cancel(original_id)
        self._check_open(order, status)
        ahead = order.plan[order.pos + 1:]
        if status in ahead:
            steps = list(ahead[: ahead.index(status) + 1])
            return self._emit(order, steps, note=note, moved=len(steps))
        return self._emit(order, [status], note=note, plan_done=True)

    def run_scenario(self, original_id: str, name: str) -> list[Event]:
        order = self.get(original_id)
        if name == "cancel":
            if order.status < codes.CANCELLABLE_BELOW:
                return self.cancel(original_id)
            self._check_open(order, codes.DELIVERY_CANCELLED)
            return self._emit(order, [codes.DELIVERY_CANCELLED], plan_done=True)
        plan = SCENARIOS.get(name)
        if plan is None:
            raise Refusal(codes.INVALID_REQUEST, f"unknown scenario {name!r}", 422)
        current = codes.RANK[codes.state_of(order.status)]
        start = max((i for i, s in enumerate(plan) if codes.RANK[codes.state_of(s)] <= current), default=0)
        if order.status in plan:
            start = plan.index(order.status)
        rest = list(plan[start + 1:])
        if order.status in FINAL_STATUSES or not rest or codes.RANK[codes.state_of(rest[0])] < current:
            raise Refusal("CANNOT_ADVANCE", f"scenario {name} cannot start from status {order.status}", 409)
        order.plan, order.pos = plan, start
        return self._emit(order, rest, moved=len(rest))

    def misreport(self, original_id: str, status: int, cod_amount: int, note: str = "") -> list[Event]:
        """One event the post should never send (a faulty or compromised post): ``status`` reporting ``cod_amount``
        whatever the order's state and amount. It is pushed and logged like any other, but the post collected
        nothing: its COD statement stays as it was."""
        order = self.get(original_id)
        if status not in codes.STATUSES or cod_amount < 0:
            raise Refusal(codes.INVALID_REQUEST, "status must be 0–22 and codAmount not negative", 422)
        return self._emit(order, [status], note=note, cod_amount=cod_amount)

    def step(self, order: Order) -> list[Event]:
        """The driver's move: one step along the plan, if any is left."""
        closed = order.status in FINAL_STATUSES or order.status == codes.DELIVERED
        if closed or order.pos + 1 >= len(order.plan):
            return []
        return self._emit(order, [order.plan[order.pos + 1]], moved=1)

    def _check_open(self, order: Order, status: int) -> None:
        if order.status in FINAL_STATUSES:
            raise Refusal("CANNOT_ADVANCE", f"order {order.original_id} is closed at {order.status}", 409)
        if order.status == codes.DELIVERED and status != codes.COD_PAID:
            raise Refusal("CANNOT_ADVANCE", "a delivered order can only have its COD remitted", 409)

    def _emit(self, order: Order, statuses: list[int], note: str = "", moved: int = 0,
              plan_done: bool = False, cod_amount: int | None = None) -> list[Event]:
        batch: list[Event] = []
        at = self.now()
        for n, status in enumerate(statuses):
            previous = order.history[-1].time if order.history else at
            when = max(at, previous + timedelta(seconds=1))
            text = note if note and n == len(statuses) - 1 else NOTES.get(status, "")
            event = Event(0, order, status, when, _location(order, status), text, cod_amount)
            order.history.append(event)
            collected = cod_amount is None and order.cod_amount
            if status == codes.DELIVERED and collected and order.collected_at is None:
                order.collected_at = when
            batch.append(event)
        order.pos = len(order.plan) if plan_done else order.pos + moved
        logged = list(reversed(batch)) if self.faults.feed_reorder else batch
        for event in logged:
            event.id = next(self._event_ids)
            self.events.append(event)
        for listener in self.listeners:
            listener(batch)
        return batch

    # ---------------------------------------------------------------- feed and COD

    def feed(self, last_id: int, page_size: int) -> dict[str, Any]:
        if not 0 < page_size <= codes.MAX_PAGE_SIZE or last_id < 0:
            raise Refusal(codes.INVALID_REQUEST, f"pageSize 1–{codes.MAX_PAGE_SIZE}, lastId ≥ 0")
        if self.faults.take_corrupt_page():
            return {"success": True, "items": [{"id": "x", "status": 99}], "lastId": -1}
        # the log is in id order: ids are handed out as events are appended
        start = bisect.bisect_right(self.events, last_id, key=lambda e: e.id)
        page = self.events[start: start + page_size]
        if self.faults.feed_repeat and start > 0 and self.events[start - 1].id == last_id:
            page = [self.events[start - 1], *page[: page_size - 1]]
        cursor = page[-1].id if page else last_id
        return {"success": True, "items": [e.wire() for e in page], "lastId": max(cursor, last_id)}

    def cod_statement(self, day: date) -> dict[str, Any]:
        """What was really collected on ``day`` (Vietnam time); a closed day is also remitted (status 21)."""
        collected = sorted(
            (o for o in self.orders.values() if o.collected_at and business_day(o.collected_at) == day),
            key=lambda o: (o.collected_at, o.original_id),
        )
        items = [
            {
                "itemCode": o.item_code,
                "saleOrderCode": o.sale_order_code,
                "codAmount": o.cod_amount,
                "collectedAt": format_local(o.collected_at),
                "fee": cod_fee(o.cod_amount),
            }
            for o in collected
            if o.collected_at
        ]
        if day < business_day(self.now()):
            for order in collected:
                if not order.remitted and order.status == codes.DELIVERED:
                    order.remitted = True
                    self._emit(order, [codes.COD_PAID], plan_done=True)
        total_cod = sum(i["codAmount"] for i in items)
        total_fee = sum(i["fee"] for i in items)
        return {
            "success": True,
            "batchId": f"COD-{self.config.customer_code}-{day:%Y%m%d}",
            "date": f"{day:%Y%m%d}",
            "totalCod": total_cod,
            "totalFee": total_fee,
            "totalRemitted": total_cod - total_fee,
            "items": items,
        }


def _whole(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _plan_for(number: int) -> str:
    """A plan chosen evenly but reproducibly from the order number."""
    slot = int(hashlib.sha256(str(number).encode()).hexdigest(), 16) % sum(w for _, w in PLAN_WEIGHTS)
    for name, weight in PLAN_WEIGHTS:
        if slot < weight:
            return name
        slot -= weight
    return "deliver"


def _location(order: Order, status: int) -> str:
    side = "sender" if status < codes.PICKED_UP or status in (7, 8, 9) else "receiver"
    if status in (16, 17, 18, 19, 20):
        side = "sender"
    if status in (10, 13):
        return "Trung tâm khai thác vận chuyển"
    commune = order.info.get(f"{side}CommuneName", "")
    province = order.info.get(f"{side}ProvinceName", "")
    return f"Bưu cục {commune}, {province}".strip(", ")
