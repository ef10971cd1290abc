"""The hub's partner API (``/api/v2``): init, query, refund and the settlement file, with their faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Stream

from adapters.vntime import now_utc

from . import protocol
from .faults import GARBAGE
from .hub import AnyRequest, sandbox_of
from .protocol import Refused
from .settlement import csv_chunks, file_checksum, is_published, parse_day
from .state import RefundAnswer

CSV = "text/csv; charset=utf-8"


def _json(message: dict[str, Any], status: int = 200) -> Response[dict[str, Any]]:
    return Response(content=message, status_code=status, media_type="application/json")


def _bare(status: int) -> Response[bytes]:
    return Response(content=b"", status_code=status)


def _given(message: dict[str, Any], name: str) -> str:
    """A field echoed in a refusal, if it is text."""
    value = message.get(name)
    return value if isinstance(value, str) else ""


async def _stall(seconds: float) -> None:
    """An injected slow answer: the work is done, the reply is late."""
    if seconds > 0:
        await asyncio.sleep(seconds)


def _answer(message: dict[str, Any], garbage: str) -> Response[Any]:
    """The signed reply, or (under the ``garbage`` fault) a 200 whose body is not a reply at all."""
    if garbage:
        return Response(content=GARBAGE[garbage], status_code=200, media_type="application/json")
    return _json(message)


@post("/api/v2/payments/init", status_code=200)
async def init_payment(request: AnyRequest) -> Response[Any]:
    sandbox = sandbox_of(request)
    faults, key = sandbox.faults.init, sandbox.config.hash_key
    if faults.http_status:
        return _bare(faults.http_status)
    reference = ""
    try:
        message = protocol.decode(await request.body())
        reference = _given(message, "MaThamChieu")
        protocol.check_signed("init", message, sandbox.config)
        if faults.fail_code:
            return _json(protocol.init_reply(faults.fail_code, reference, "", now_utc(), key))
        order_request = protocol.read_init(message)
    except Refused as refused:
        return _json(protocol.init_reply(refused.code, reference, "", now_utc(), key))
    code, order = sandbox.ledger.open(order_request, now_utc())
    url = sandbox.checkout_url(order) if order else ""
    await _stall(faults.stall_seconds)
    return _answer(protocol.init_reply(code, reference, url, now_utc(), key), faults.garbage)


@post("/api/v2/payments/query", status_code=200)
async def query_payment(request: AnyRequest) -> Response[Any]:
    sandbox = sandbox_of(request)
    faults, key = sandbox.faults.query, sandbox.config.hash_key
    if faults.http_status:
        return _bare(faults.http_status)
    reference = ""
    try:
        message = protocol.decode(await request.body())
        reference = _given(message, "MaThamChieu")
        protocol.check_signed("getbill", message, sandbox.config)
        reference = protocol.read_query(message)
    except Refused as refused:
        return _json(protocol.bill_reply(reference, None, key, code=refused.code))
    reply = protocol.bill_reply(reference, sandbox.ledger.orders.get(reference), key)
    await _stall(faults.stall_seconds)
    return _answer(reply, faults.garbage)


@post("/api/v2/payments/refund", status_code=200)
async def refund_payment(request: AnyRequest) -> Response[Any]:
    sandbox = sandbox_of(request)
    faults, key = sandbox.faults.refund, sandbox.config.hash_key
    if faults.http_status:
        return _bare(faults.http_status)
    refund_reference = ""
    try:
        message = protocol.decode(await request.body())
        refund_reference = _given(message, "MaYeuCauHoan")
        protocol.check_signed("refund", message, sandbox.config)
        wanted = protocol.read_refund(message)
    except Refused as refused:
        return _json(protocol.refund_reply(refund_reference, RefundAnswer(refused.code), key))
    answer = sandbox.ledger.refund(
        wanted.reference, wanted.transaction_id, wanted.refund_reference, wanted.amount, wanted.reason,
        now_utc(), processing=faults.processing,
    )
    await _stall(faults.stall_seconds)
    return _answer(protocol.refund_reply(wanted.refund_reference, answer, key), faults.garbage)


@get("/api/v2/settlements/{day:str}")
async def settlement_file(request: AnyRequest, day: FromPath[str]) -> Response[Any]:
    """The day's file once published (D+1 01:00 Vietnam time), hashed first, then streamed."""
    sandbox = sandbox_of(request)
    params = {name: request.query_params.get(name, "") for name in ("MaDoiTac", "ThoiGianGD", "MaXacThuc")}
    try:
        protocol.check_settlement_request(day, params, sandbox.config)
        the_day = parse_day(day)
    except Refused as refused:
        status = 403 if refused.code == "01" else 400
        return _json({"MaLoi": refused.code, "MoTaLoi": refused.reason}, status)
    except ValueError as exc:
        return _json({"MaLoi": "99", "MoTaLoi": str(exc)}, 400)
    if not is_published(the_day, sandbox.clock.now()):
        return _json({"MaLoi": "02", "MoTaLoi": "Chưa có tệp quyết toán của ngày này"}, 404)
    rows = sandbox.settlement_rows(the_day)
    digest = file_checksum(rows, sandbox.config.hash_key)

    async def body() -> AsyncIterator[bytes]:
        for chunk in csv_chunks(rows):
            yield chunk

    return Stream(body(), media_type=CSV, headers={
        "X-MaXacThuc": digest,
        "Content-Disposition": f'attachment; filename="settlement-{day}.csv"',
    })


ROUTES = [init_payment, query_payment, refund_payment, settlement_file]
