"""The post's customer-partner endpoints as the spec describes them (token, orders, feed, COD statement)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from .. import codes
from .orders import PostOffice, Refusal
from .state import office_of

PREFIX = "/customer-partner"
GARBAGE = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
Handler = Callable[[PostOffice, dict[str, Any]], dict[str, Any]]


def reply(message: dict[str, Any], status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(message), status_code=status, media_type="application/json")


def refusal(exc: Refusal) -> Response[bytes]:
    return reply({"success": False, "errorCode": exc.code, "message": exc.message}, exc.http_status)


async def _serve(request: Request[Any, Any, Any], handle: Handler, *, needs_token: bool = True,
                 query: dict[str, Any] | None = None) -> Response[bytes]:
    """Faults first (an outage answers before doing anything), then the token, then the work."""
    office = office_of(request)
    status = office.faults.take_http_status()
    if status:
        return reply({"success": False, "errorCode": "SYSTEM_ERROR", "message": "Hệ thống đang bận"}, status)
    if needs_token and not office.token_valid(request.headers.get("token")):
        return reply({"success": False, "errorCode": codes.TOKEN_EXPIRED, "message": "Token hết hạn"}, 401)
    if query is None:
        try:
            message = msgspec.json.decode(await request.body())
        except msgspec.DecodeError:
            return refusal(Refusal(codes.INVALID_REQUEST, "Nội dung không phải JSON"))
        if not isinstance(message, dict):
            return refusal(Refusal(codes.INVALID_REQUEST, "Nội dung phải là một đối tượng JSON"))
    else:
        message = query
    try:
        result = reply(handle(office, message))
    except Refusal as exc:
        result = refusal(exc)
    stall = office.faults.take_stall()
    if stall:
        await asyncio.sleep(stall)  # processed, but the answer comes too late for the caller
    if office.faults.take_garbage():  # processed, but what comes back is a proxy's error page
        return Response(GARBAGE, status_code=200, media_type="text/html")
    return result


def _token(office: PostOffice, message: dict[str, Any]) -> dict[str, Any]:
    token, ttl = office.issue_token(message)
    return {"success": True, "token": token, "expiresIn": ttl}


def _create(office: PostOffice, message: dict[str, Any]) -> dict[str, Any]:
    order = office.create(message)
    return {"success": True, "data": {
        "originalId": order.original_id, "itemCode": order.item_code, "saleOrderCode": order.sale_order_code,
        "totalFee": order.total_fee, "status": codes.CREATED,
    }}


def _cancel(office: PostOffice, message: dict[str, Any]) -> dict[str, Any]:
    office.cancel(str(message.get("originalId", "")))
    return {"success": True}


def _order(office: PostOffice, message: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": office.get(str(message.get("originalId", ""))).wire()}


def _tracking(office: PostOffice, message: dict[str, Any]) -> dict[str, Any]:
    size, last = message.get("pageSize", codes.MAX_PAGE_SIZE), message.get("lastId", 0)
    if not isinstance(size, int) or not isinstance(last, int):
        raise Refusal(codes.INVALID_REQUEST, "pageSize và lastId phải là số nguyên")
    return office.feed(last, size)


def _statement(office: PostOffice, message: dict[str, Any]) -> dict[str, Any]:
    try:
        day = datetime.strptime(str(message.get("date", "")), "%Y%m%d").date()
    except ValueError:
        raise Refusal(codes.INVALID_REQUEST, "date phải có dạng yyyyMMdd") from None
    return office.cod_statement(day)


def _route(path: str, handle: Handler, needs_token: bool = True) -> Any:
    async def endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _serve(request, handle, needs_token=needs_token)

    endpoint.__name__ = f"postal_{handle.__name__.strip('_')}"
    return post(PREFIX + path, status_code=200)(endpoint)


@get(PREFIX + "/codStatement")
async def cod_statement(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _serve(request, _statement, query=dict(request.query_params))


ROUTES: list[Any] = [
    _route("/GetAccessToken", _token, needs_token=False),
    _route("/CreateOrder", _create),
    _route("/orderCancel", _cancel),
    _route("/getOrder", _order),
    _route("/getOrderTracking", _tracking),
    cod_statement,
]
