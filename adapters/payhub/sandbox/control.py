"""The control API (``/control``, JSON): pay without a browser, look inside, inject faults, move the clock.

For tests and demos only; it trusts its caller, so the sandbox must only listen where tests and demos run.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.params import FromPath

from adapters.vntime import format_compact

from .callbacks import Delivery
from .config import BANKS, DEFAULT_BANK
from .faults import Faults
from .hub import AnyRequest, Sandbox, sandbox_of
from .settlement import Edit, EditError, parse_day
from .state import RESULT_STATE, LedgerError, Order, Refund

_T = TypeVar("_T")
HOLD = "processing"


class PayCommand(msgspec.Struct, forbid_unknown_fields=True):
    result: str = "00"  # a checkout result code, or "processing" to leave the order waiting on its bank
    bank_code: str = DEFAULT_BANK
    paid_at: datetime | None = None  # when the payment happened; now if not given


class ClockCommand(msgspec.Struct, forbid_unknown_fields=True):
    now: datetime


class Conflict(HTTPException):
    status_code = 409


async def _body(request: AnyRequest, kind: type[_T]) -> _T:
    raw = await request.body()
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ClientException(detail=str(exc)) from exc


def _order(sandbox: Sandbox, reference: str) -> Order:
    order = sandbox.ledger.orders.get(reference)
    if order is None:
        raise NotFoundException(detail=f"no order {reference}")
    return order


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "reference": delivery.reference,
        "status": delivery.status,
        "body": delivery.body,
        "attempts": [
            {"number": a.number, "at": a.at.isoformat(), "http_status": a.http_status,
             "reply_code": a.reply_code, "verified": a.verified, "error": a.error}
            for a in delivery.attempts
        ],
    }


def refund_view(refund: Refund) -> dict[str, Any]:
    return {
        "MaYeuCauHoan": refund.refund_reference,
        "MaGiaoDich": refund.transaction_id,
        "SoTienHoan": refund.amount,
        "LyDo": refund.reason,
        "TrangThai": refund.state,
        "requested_at": _time(refund.requested_at),
        "completed_at": _time(refund.completed_at),
    }


def order_view(sandbox: Sandbox, order: Order) -> dict[str, Any]:
    return {
        "MaThamChieu": order.reference,
        "SoTien": order.amount,
        "TrangThai": order.state,
        "MaLoi": order.result_code,
        "MaGiaoDich": order.transaction_id,
        "MaNganHang": order.bank_code,
        "ThoiGianThanhToan": format_compact(order.paid_at) if order.paid_at else "",
        "UrlThanhToan": sandbox.checkout_url(order),
        "ThongTinBienLai": msgspec.to_builtins(order.request.receipt),
        "created_at": _time(order.created_at),
        "paid_at": _time(order.paid_at),
        "refundable": order.refundable(),
        "refunds": [refund_view(r) for r in order.refunds],
        "callbacks": [delivery_view(d) for d in sandbox.sender.for_reference(order.reference)],
    }


class ControlController(Controller):
    path = "/control"

    @get("/health")
    async def health(self) -> dict[str, bool]:
        return {"ok": True}

    @post("/reset", status_code=200)
    async def reset(self, request: AnyRequest) -> dict[str, bool]:
        await sandbox_of(request).reset()
        return {"ok": True}

    @get("/payments")
    async def list_payments(self, request: AnyRequest) -> list[dict[str, Any]]:
        sandbox = sandbox_of(request)
        return [{"MaThamChieu": o.reference, "TrangThai": o.state, "MaGiaoDich": o.transaction_id,
                 "SoTien": o.amount} for o in sandbox.ledger.orders.values()]

    @get("/payments/{reference:str}")
    async def show_payment(self, request: AnyRequest, reference: FromPath[str]) -> dict[str, Any]:
        sandbox = sandbox_of(request)
        return order_view(sandbox, _order(sandbox, reference))

    @post("/payments/{reference:str}/pay", status_code=200)
    async def pay(self, request: AnyRequest, reference: FromPath[str]) -> dict[str, Any]:
        """What the checkout page does, without a browser; ``processing`` leaves the order waiting instead."""
        sandbox = sandbox_of(request)
        command = await _body(request, PayCommand)
        order = _order(sandbox, reference)
        if command.result != HOLD and command.result not in RESULT_STATE:
            raise ClientException(detail=f"result must be one of {[*RESULT_STATE, HOLD]}")
        if command.bank_code not in BANKS:
            raise ClientException(detail=f"bank_code must be one of {list(BANKS)}")
        if command.paid_at is not None and command.paid_at.tzinfo is None:
            raise ClientException(detail="paid_at must carry its zone")
        try:
            if command.result == HOLD:
                sandbox.ledger.hold(order)
                deliveries: list[Delivery] = []
            else:
                deliveries = sandbox.conclude(order, command.result, command.bank_code, command.paid_at)
        except LedgerError as exc:
            raise Conflict(detail=str(exc)) from exc
        return {
            "MaThamChieu": order.reference,
            "MaGiaoDich": order.transaction_id,
            "MaLoi": order.result_code,
            "TrangThai": order.state,
            "status": order.state,
            "callbacks": [d.id for d in deliveries],
        }

    @post("/payments/{reference:str}/expire", status_code=200)
    async def expire(self, request: AnyRequest, reference: FromPath[str]) -> dict[str, Any]:
        sandbox = sandbox_of(request)
        order = _order(sandbox, reference)
        try:
            sandbox.ledger.expire(order)
        except LedgerError as exc:
            raise Conflict(detail=str(exc)) from exc
        return {"MaThamChieu": reference, "TrangThai": order.state}

    @get("/payments/{reference:str}/callback")
    async def callback_body(self, request: AnyRequest, reference: FromPath[str]) -> dict[str, Any]:
        """The genuine signed CONFIRM the hub sends for this order, for a test to deliver itself."""
        sandbox = sandbox_of(request)
        order = _order(sandbox, reference)
        if not order.result_code:
            raise Conflict(detail=f"order {reference} has no result yet")
        return sandbox.confirm_body(order)

    @post("/payments/{reference:str}/callback/resend", status_code=200)
    async def resend(self, request: AnyRequest, reference: FromPath[str]) -> dict[str, Any]:
        sandbox = sandbox_of(request)
        order = _order(sandbox, reference)
        if not order.result_code:
            raise Conflict(detail=f"order {reference} has no result yet")
        return delivery_view(await sandbox.sender.resend(reference, sandbox.confirm_body(order)))

    @get("/callbacks")
    async def list_callbacks(self, request: AnyRequest) -> list[dict[str, Any]]:
        return [delivery_view(d) for d in sandbox_of(request).sender.deliveries]

    @post("/callbacks/release", status_code=200)
    async def release(self, request: AnyRequest) -> list[dict[str, Any]]:
        """Send the callbacks held by the ``reorder`` fault, newest first."""
        return [delivery_view(d) for d in await sandbox_of(request).sender.release()]

    @get("/faults")
    async def show_faults(self, request: AnyRequest) -> Faults:
        return sandbox_of(request).faults

    @put("/faults")
    async def set_faults(self, request: AnyRequest) -> Faults:
        faults = await _body(request, Faults)
        try:
            sandbox_of(request).faults = faults.validate()
        except ValueError as exc:
            raise ClientException(detail=str(exc)) from exc
        return faults

    @delete("/faults", status_code=200)
    async def clear_faults(self, request: AnyRequest) -> Faults:
        sandbox = sandbox_of(request)
        sandbox.faults = Faults()
        return sandbox.faults

    @post("/refunds/{refund_reference:str}/complete", status_code=200)
    async def complete_refund(self, request: AnyRequest, refund_reference: FromPath[str]) -> dict[str, Any]:
        sandbox = sandbox_of(request)
        try:
            refund = sandbox.ledger.complete_refund(refund_reference, sandbox.clock.now())
        except KeyError as exc:
            raise NotFoundException(detail=f"no refund {refund_reference}") from exc
        except LedgerError as exc:
            raise Conflict(detail=str(exc)) from exc
        return refund_view(refund)

    @get("/clock")
    async def show_clock(self, request: AnyRequest) -> dict[str, Any]:
        clock = sandbox_of(request).clock
        return {"now": clock.now().isoformat(), "overridden": clock.override is not None}

    @put("/clock")
    async def set_clock(self, request: AnyRequest) -> dict[str, Any]:
        command = await _body(request, ClockCommand)
        if command.now.tzinfo is None:
            raise ClientException(detail="now must carry its zone")
        sandbox_of(request).clock.override = command.now
        return {"now": command.now.isoformat(), "overridden": True}

    @delete("/clock", status_code=200)
    async def clear_clock(self, request: AnyRequest) -> dict[str, Any]:
        clock = sandbox_of(request).clock
        clock.override = None
        return {"now": clock.now().isoformat(), "overridden": False}

    @get("/settlements/{day:str}")
    async def show_settlement(self, request: AnyRequest, day: FromPath[str]) -> list[dict[str, str]]:
        """The day's rows as they stand, published or not."""
        return sandbox_of(request).settlement_rows(_day(day))

    @post("/settlements/{day:str}/rows", status_code=200)
    async def edit_settlement(self, request: AnyRequest, day: FromPath[str]) -> list[dict[str, str]]:
        """Add, drop, duplicate or alter a row of the day's file; returns the rows after the edit."""
        the_day = _day(day)
        edit = await _body(request, Edit)
        try:
            return sandbox_of(request).edit_settlement(the_day, edit)
        except EditError as exc:
            raise ClientException(detail=str(exc)) from exc


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise ClientException(detail=str(exc)) from exc
