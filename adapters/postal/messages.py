"""Building and reading the post's messages: pure functions, no I/O.

Outbound messages are built as JSON-ready dicts after checking what the post would refuse anyway (phones,
weight, COD limit, 2025 addresses). Inbound ones are decoded, checked and turned into plain values with aware
times, so nothing unchecked reaches the gateway: a reply with ``success: false`` raises ``PostalRejected``, an
unreadable or impossible one ``PostalProtocolError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from . import codes
from .addresses import Address
from .admin_units import ADMIN_VERSION
from .codes import ShipmentState
from .errors import InputError, OrderError, PostalProtocolError
from .phones import normalise_phone
from .wire import decode, item_code, known_status, parse_amount, parse_time

# ---------------------------------------------------------------- token


def build_token_request(username: str, password: str, customer_code: str) -> dict[str, Any]:
    return {"username": username, "password": password, "customerCode": customer_code}


class _TokenReply(msgspec.Struct):
    token: str
    expiresIn: int


@dataclass(frozen=True)
class Token:
    value: str
    expires_in: int  # seconds

    def __repr__(self) -> str:  # never print the token
        return f"Token(expires_in={self.expires_in})"


def parse_token_reply(body: bytes) -> Token:
    reply = decode(body, _TokenReply)
    if not reply.token or reply.expiresIn <= 0:
        raise PostalProtocolError("token reply without a token or a positive lifetime")
    if not (reply.token.isascii() and reply.token.isprintable()):
        raise PostalProtocolError("token reply with a token that cannot be sent in a header")
    return Token(reply.token, reply.expiresIn)


# ---------------------------------------------------------------- create order


@dataclass(frozen=True)
class Party:
    name: str
    phone: str
    address: Address


@dataclass(frozen=True)
class CreateOrder:
    """One parcel: collecting a dossier (citizen → agency) or delivering a result (agency → citizen)."""

    sale_order_code: str  # the gateway's shipment reference: the post returns the same order when repeated
    sender: Party
    receiver: Party
    weight_grams: int
    service_code: str = codes.SERVICE_STANDARD
    content_note: str = ""
    delivery_instruction: str = ""
    cod_amount: int = 0  # collected from the receiver on delivery, whole đồng


def check_order(order: CreateOrder) -> None:
    """Refuse, naming the field, what the post would refuse."""
    if not order.sale_order_code or len(order.sale_order_code) > 50:
        raise OrderError("sale_order_code", "1 to 50 characters")
    if order.service_code not in codes.SERVICES:
        raise OrderError("service_code", f"one of {sorted(codes.SERVICES)}, got {order.service_code!r}")
    weight = order.weight_grams
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 < weight <= codes.MAX_WEIGHT_GRAMS:
        raise OrderError("weight_grams", f"whole grams from 1 to {codes.MAX_WEIGHT_GRAMS}, got {weight!r}")
    cod = order.cod_amount
    if isinstance(cod, bool) or not isinstance(cod, int) or cod < 0:
        raise OrderError("cod_amount", f"whole đồng, not negative, got {cod!r}")
    if cod > codes.COD_LIMIT_DONG:
        limit = codes.COD_LIMIT_DONG
        raise OrderError("cod_amount", f"{cod:,} đ is above the post's COD limit of {limit:,} đ")
    for role, party in (("sender", order.sender), ("receiver", order.receiver)):
        if not party.name.strip():
            raise InputError(f"{role}.name", "name is required")
        normalise_phone(party.phone, f"{role}.phone")
        if party.address.admin_version != ADMIN_VERSION:
            raise InputError(f"{role}.address", f"address must be in the {ADMIN_VERSION} units")


def build_create_order(order: CreateOrder) -> dict[str, Any]:
    check_order(order)
    info: dict[str, Any] = {"saleOrderCode": order.sale_order_code, "serviceCode": order.service_code}
    for role, party in (("sender", order.sender), ("receiver", order.receiver)):
        info[f"{role}Name"] = party.name.strip()
        info[f"{role}Phone"] = normalise_phone(party.phone, f"{role}.phone")
        info[f"{role}Address"] = party.address.street
        info[f"{role}ProvinceCode"] = party.address.province_code
        info[f"{role}CommuneCode"] = party.address.commune_code
        info[f"{role}ProvinceName"] = party.address.province_name
        info[f"{role}CommuneName"] = party.address.commune_name
    info["weight"] = str(order.weight_grams)
    info["contentNote"] = order.content_note
    info["deliveryInstruction"] = order.delivery_instruction
    if order.cod_amount:
        info["addonService"] = [{"code": codes.ADDON_COD, "propValue": str(order.cod_amount)}]
    return {"orderCreationStatus": 1, "type": codes.ORDER_TYPE_SEND, "informationOrder": info}


class OrderCreated(msgspec.Struct, frozen=True):
    originalId: str
    itemCode: str
    saleOrderCode: str
    totalFee: int
    status: int


class _Created(msgspec.Struct):
    data: OrderCreated


def parse_create_reply(body: bytes, sale_order_code: str) -> OrderCreated:
    created = decode(body, _Created).data
    if created.saleOrderCode != sale_order_code:
        raise PostalProtocolError("CreateOrder reply is for another saleOrderCode")
    item_code(created.itemCode)
    if not created.originalId or created.totalFee < 0 or created.status not in codes.STATUSES:
        raise PostalProtocolError("CreateOrder reply has no originalId, a negative fee or an unknown status")
    return created


# ---------------------------------------------------------------- cancel and order detail


def build_cancel(original_id: str) -> dict[str, Any]:
    return {"originalId": original_id}


class _Ack(msgspec.Struct):
    pass


def parse_cancel_reply(body: bytes) -> None:
    decode(body, _Ack)


def build_get_order(original_id: str) -> dict[str, Any]:
    return {"originalId": original_id}


@dataclass(frozen=True)
class StatusEvent:
    """One status of one order as the post reported it (raw code and text kept) and as we read it."""

    original_id: str
    item_code: str
    sale_order_code: str
    code: int
    text: str
    state: ShipmentState
    time: datetime  # aware, UTC
    location: str = ""
    note: str = ""
    cod_amount: int = 0
    event_id: int | None = None  # the feed's id; absent from getOrder's history


class _HistoryItem(msgspec.Struct):
    status: int
    time: str
    statusName: str = ""
    location: str = ""
    note: str = ""


class _OrderWire(msgspec.Struct):
    originalId: str
    itemCode: str
    saleOrderCode: str
    status: int
    codAmount: int | str = 0
    totalFee: int | str = 0
    statusName: str = ""
    history: list[_HistoryItem] = []


class _OrderReply(msgspec.Struct):
    data: _OrderWire


@dataclass(frozen=True)
class OrderDetail:
    original_id: str
    item_code: str
    sale_order_code: str
    code: int
    text: str
    state: ShipmentState
    cod_amount: int
    total_fee: int
    history: tuple[StatusEvent, ...]


def parse_order_reply(body: bytes, original_id: str) -> OrderDetail:
    order = decode(body, _OrderReply).data
    if order.originalId != original_id:
        raise PostalProtocolError("getOrder reply is for another order")
    item_code(order.itemCode)
    cod = parse_amount(order.codAmount, "codAmount")
    history = tuple(
        _event(order.originalId, order.itemCode, order.saleOrderCode, h.status, h.statusName, h.time,
               h.location, h.note, cod, None)
        for h in order.history
    )
    current = known_status(order.status)
    return OrderDetail(
        original_id=order.originalId,
        item_code=order.itemCode,
        sale_order_code=order.saleOrderCode,
        code=order.status,
        text=order.statusName or current.name_vi,
        state=current.state,
        cod_amount=cod,
        total_fee=parse_amount(order.totalFee, "totalFee"),
        history=history,
    )


# ---------------------------------------------------------------- status feed and pushed events


def build_tracking_request(last_id: int, page_size: int = codes.MAX_PAGE_SIZE) -> dict[str, Any]:
    if not 0 < page_size <= codes.MAX_PAGE_SIZE:
        raise InputError("page_size", f"1 to {codes.MAX_PAGE_SIZE}")
    if last_id < 0:
        raise InputError("last_id", "not negative")
    return {"pageSize": page_size, "lastId": last_id}


class _FeedItem(msgspec.Struct):
    id: int
    originalId: str
    itemCode: str
    status: int
    time: str
    saleOrderCode: str = ""
    statusName: str = ""
    location: str = ""
    note: str = ""
    codAmount: int | str = 0


class _FeedPage(msgspec.Struct):
    items: list[_FeedItem]
    lastId: int


@dataclass(frozen=True)
class TrackingPage:
    events: tuple[StatusEvent, ...]
    last_id: int  # the cursor to keep (durably) and send next time


def parse_tracking_page(body: bytes, after: int) -> TrackingPage:
    """A feed page asked for with ``lastId=after``; the cursor never moves back and ids only increase."""
    page = decode(body, _FeedPage)
    if len(page.items) > codes.MAX_PAGE_SIZE:
        raise PostalProtocolError(f"page of {len(page.items)} items, more than {codes.MAX_PAGE_SIZE}")
    previous = -1
    for item in page.items:
        if item.id <= previous or item.id <= 0:
            raise PostalProtocolError(f"feed ids must increase: {item.id} after {previous}")
        previous = item.id
    if page.lastId < after or page.lastId < previous:
        raise PostalProtocolError(f"feed lastId {page.lastId} moves back (after {after}, saw {previous})")
    return TrackingPage(tuple(_feed_event(item) for item in page.items), page.lastId)


def parse_event(body: bytes) -> StatusEvent:
    """One pushed event (same shape as a feed item), after its signature was verified."""
    return _feed_event(decode(body, _FeedItem))


def _feed_event(item: _FeedItem) -> StatusEvent:
    item_code(item.itemCode)
    return _event(item.originalId, item.itemCode, item.saleOrderCode, item.status, item.statusName, item.time,
                  item.location, item.note, parse_amount(item.codAmount, "codAmount"), item.id)


def _event(original_id: str, item_code: str, sale_order_code: str, code: int, text: str, time: str,
           location: str, note: str, cod: int, event_id: int | None) -> StatusEvent:
    if not original_id:
        raise PostalProtocolError("event without originalId")
    known = known_status(code)
    return StatusEvent(
        original_id=original_id,
        item_code=item_code,
        sale_order_code=sale_order_code,
        code=code,
        text=text or known.name_vi,
        state=known.state,
        time=parse_time(time),
        location=location,
        note=note,
        cod_amount=cod,
        event_id=event_id,
    )
