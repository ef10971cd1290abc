"""The control API for tests: advance orders, inject faults, read webhook attempts, set the clock, reset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath

from .api import refusal, reply
from .faults import Faults
from .orders import Refusal
from .state import office_of, pusher_of


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    try:
        message = msgspec.json.decode(raw) if raw else {}
    except msgspec.DecodeError:
        raise Refusal("INVALID_REQUEST", "body is not JSON", 422) from None
    if not isinstance(message, dict):
        raise Refusal("INVALID_REQUEST", "body must be a JSON object", 422)
    return message


@post("/control/orders/{original_id:str}/advance", status_code=200)
async def advance(request: Request[Any, Any, Any], original_id: FromPath[str]) -> Response[bytes]:
    """``{"to": status, "note"?}`` or ``{"scenario": "deliver"}`` (also fail_then_deliver, return,
    pickup_fail, cancel)."""
    office = office_of(request)
    try:
        message = await _body(request)
        if "scenario" in message:
            events = office.run_scenario(original_id, str(message["scenario"]))
        elif isinstance(message.get("to"), int):
            events = office.advance_to(original_id, message["to"], str(message.get("note", "")))
        else:
            raise Refusal("INVALID_REQUEST", "give 'to' (0–22) or 'scenario'", 422)
    except Refusal as exc:
        return refusal(exc)
    return reply({"order": office.get(original_id).view(), "events": [e.wire() for e in events]})


@post("/control/orders/{original_id:str}/misreport", status_code=200)
async def misreport(request: Request[Any, Any, Any], original_id: FromPath[str]) -> Response[bytes]:
    """``{"status": 14, "codAmount": 9999999, "note"?}``: one event a faulty post would send, whatever the order's
    state; it is pushed and in the feed like any other."""
    office = office_of(request)
    try:
        message = await _body(request)
        status, amount = message.get("status"), message.get("codAmount")
        if not isinstance(status, int) or not isinstance(amount, int) or isinstance(amount, bool):
            raise Refusal("INVALID_REQUEST", "give 'status' (0–22) and 'codAmount' (whole đồng)", 422)
        events = office.misreport(original_id, status, amount, str(message.get("note", "")))
    except Refusal as exc:
        return refusal(exc)
    return reply({"order": office.get(original_id).view(), "events": [e.wire() for e in events]})


@get("/control/orders/{original_id:str}")
async def order_view(request: Request[Any, Any, Any], original_id: FromPath[str]) -> Response[bytes]:
    try:
        return reply(office_of(request).get(original_id).view())
    except Refusal as exc:
        return refusal(exc)


@put("/control/faults")
async def set_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``expire_tokens``, ``http_status`` (+``calls``), ``stall_seconds`` (+``stall_calls``), ``garbage`` (calls),
    ``webhook: {repeat, reorder, bad_signature, drop}``, ``feed: {repeat, reorder, corrupt}``."""
    office = office_of(request)
    try:
        message = await _body(request)
        office.faults.update(message)
    except Refusal as exc:
        return refusal(exc)
    except (TypeError, ValueError) as exc:
        return refusal(Refusal("INVALID_REQUEST", str(exc), 422))
    if message.get("expire_tokens"):
        office.expire_tokens()
    return reply(office.faults.view())


@get("/control/faults")
async def get_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
    return reply(office_of(request).faults.view())


@delete("/control/faults", status_code=200)
async def clear_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
    office = office_of(request)
    office.faults = Faults()
    return reply(office.faults.view())


@get("/control/webhook/attempts")
async def webhook_attempts(request: Request[Any, Any, Any]) -> Response[bytes]:
    return reply({"attempts": pusher_of(request).attempts})


@post("/control/reset", status_code=200)
async def reset(request: Request[Any, Any, Any]) -> Response[bytes]:
    pusher_of(request).reset()
    office_of(request).reset()
    return reply({"ok": True})


@put("/control/clock")
async def set_clock(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``{"now": RFC 3339 with offset}`` moves the clock (event times, COD days); ``null`` resets it."""
    office = office_of(request)
    try:
        message = await _body(request)
        text = message.get("now")
        moment = datetime.fromisoformat(text) if text else None
        if moment is not None and moment.tzinfo is None:
            raise Refusal("INVALID_REQUEST", "now must carry its offset", 422)
    except Refusal as exc:
        return refusal(exc)
    except (TypeError, ValueError) as exc:
        return refusal(Refusal("INVALID_REQUEST", f"now is not RFC 3339: {exc}", 422))
    office.set_clock(moment)
    return reply({"now": office.now().isoformat()})


@get("/control/clock")
async def get_clock(request: Request[Any, Any, Any]) -> Response[bytes]:
    return reply({"now": office_of(request).now().isoformat()})


ROUTES: list[Any] = [advance, misreport, order_view, set_faults, get_faults, clear_faults, webhook_attempts, reset,
                     set_clock, get_clock]
