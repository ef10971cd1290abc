"""What the hub sends us: the signed result callback, and the citizen's browser coming back from checkout.

The callback is verified and applied once; every reply is signed with the hub's code for the case. When the
database is unavailable the reply is ``99`` (other error), which the hub retries on its schedule. The browser
return shows our record, not what the query string claims; but when its verified query says the hub concluded
while our record is still unpaid (the callback is late or lost), it first asks the hub, as the janitor would,
within ``RETURN_QUERY_TIMEOUT_SECONDS``, and shows the answer. Without one, the page says what we know: pending.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import Controller, Request, Response, get, post
from litestar.response import Template
from redis.exceptions import RedisError

from adapters.payhub import (
    CallbackRejected,
    HubRejected,
    HubUnavailable,
    Outcome,
    OutcomeUnknown,
    Reply,
    build_confirm_ack,
    parse_confirm,
    peek_reference,
    read_return,
)
from adapters.payhub.codes import CONFIRM_OUTCOMES
from adapters.vntime import now_utc
from gateway import metrics
from gateway.receipts.queue import payment_collected
from gateway.services import Services, services
from gateway.store.db import DatabaseUnavailable

from . import results, views
from .state import UNPAID, Status

log = logging.getLogger("gateway.callbacks")

STATUS_TEXT = {
    "created": ("Đang xử lý", "Giao dịch đang được khởi tạo."),
    "pending": (
        "Đang chờ xác nhận",
        "Chúng tôi chưa nhận được xác nhận thanh toán từ cổng thanh toán. "
        "Kết quả sẽ được cập nhật vào hồ sơ ngay khi có.",
    ),
    "paid": ("Thanh toán thành công", "Phí, lệ phí của hồ sơ đã được thanh toán."),
    "partially_refunded": ("Đã thanh toán (đã hoàn một phần)", "Phí, lệ phí đã được thanh toán và hoàn trả một phần."),
    "refunded": ("Đã hoàn tiền", "Khoản thanh toán đã được hoàn trả."),
    "failed": ("Thanh toán không thành công", "Giao dịch không thành công. Bạn có thể thử lại từ cổng dịch vụ công."),
    "cancelled": ("Giao dịch đã hủy", "Giao dịch đã bị hủy."),
    "expired": ("Giao dịch đã hết hạn", "Giao dịch đã hết hạn thanh toán."),
}


class HubCallbackController(Controller):
    path = "/callbacks/payhub"
    include_in_schema = False

    @post("/", status_code=200)
    async def receive(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        svc = services(request)
        cfg = svc.settings
        body = await request.body()
        now = now_utc()
        try:
            result = parse_confirm(body, cfg.payhub_partner_code, cfg.payhub_hash_key)
        except CallbackRejected as exc:
            log.warning("hub callback refused", extra={"reply": exc.reply.value, "reason": exc.reason})
            metrics.HUB_CALLBACKS.labels(outcome=f"refused_{exc.reply.value}").inc()
            return _reply(exc.reply, cfg.payhub_partner_code, peek_reference(body), now, cfg.payhub_hash_key)
        try:
            disposition = await results.apply(svc.db, result, now)
        except DatabaseUnavailable as exc:  # "other error": the hub sends the callback again later
            log.warning(
                "hub callback not applied: database unavailable",
                extra={"reference": result.reference, "error": str(exc)},
            )
            metrics.HUB_CALLBACKS.labels(outcome="unavailable").inc()
            metrics.DATABASE_UNAVAILABLE.labels(where="hub_callback").inc()
            return _reply(Reply.OTHER, cfg.payhub_partner_code, result.reference, now, cfg.payhub_hash_key)
        except Exception:
            log.exception("hub callback not applied", extra={"reference": result.reference})
            metrics.HUB_CALLBACKS.labels(outcome="error").inc()
            return _reply(Reply.OTHER, cfg.payhub_partner_code, result.reference, now, cfg.payhub_hash_key)
        metrics.HUB_CALLBACKS.labels(outcome=disposition.value).inc()
        if disposition is results.Disposition.APPLIED and result.outcome is Outcome.PAID:
            await payment_collected(svc.redis, svc.db, result.reference)  # after commit: the receipt's fast path
        reply = results.REPLY_OF[disposition]
        return _reply(reply, cfg.payhub_partner_code, result.reference, now, cfg.payhub_hash_key)


def _reply(reply: Reply, partner: str, reference: str, now: Any, key: str) -> Response[dict[str, Any]]:
    return Response(content=build_confirm_ack(reply, partner, reference, now, key), status_code=200)


class ReturnPageController(Controller):
    path = "/payments/return"
    include_in_schema = False

    @get("/")
    async def show(self, request: Request[Any, Any, Any]) -> Template:
        svc = services(request)
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        info = read_return(params, svc.settings.payhub_hash_key)
        record = None
        if info.verified and info.reference:
            async with svc.db.read() as conn:
                record = await views.load_by_reference(conn, info.reference)
            if record is not None and info.code in CONFIRM_OUTCOMES and Status(record.row.status) in UNPAID:
                if await _ask_hub(svc, info.reference):
                    async with svc.db.read() as conn:
                        record = await views.load_by_reference(conn, info.reference)
        if record is None:
            return Template(
                template_name="return.html",
                context={
                    "title": "Không tìm thấy giao dịch",
                    "message": "Liên kết không hợp lệ hoặc đã bị thay đổi.",
                    "payment": None,
                    "back_url": None,
                },
                status_code=400 if not info.verified else 404,
            )
        payment = views.view(record)
        title, message = STATUS_TEXT[payment.status]
        return Template(
            template_name="return.html",
            context={
                "title": title,
                "message": message,
                "payment": payment,
                "back_url": _back_url(payment.return_url, payment.id, payment.status),
            },
        )


async def _ask_hub(svc: Services, reference: str) -> bool:
    """Query the hub and apply its answer through the callback's code path; False if it did not answer in time.
    At most one query per payment per ``RETURN_QUERY_INTERVAL_SECONDS``, shared by every process: reloading
    the page does not hammer the hub."""
    cfg = svc.settings
    if not await _first_in_interval(svc, reference):
        return False
    try:
        result = await asyncio.wait_for(svc.hub.query(reference), cfg.return_query_timeout_seconds)
    except (TimeoutError, HubUnavailable, OutcomeUnknown, HubRejected) as exc:
        log.info("hub not answering the return page's query", extra={"reference": reference, "error": repr(exc)})
        return False
    disposition = await results.apply(svc.db, result, now_utc())
    if disposition is results.Disposition.APPLIED and result.outcome is Outcome.PAID:
        await payment_collected(svc.redis, svc.db, reference)  # after commit: the receipt's fast path
    return True


async def _first_in_interval(svc: Services, reference: str) -> bool:
    if svc.redis is None:
        return True
    cfg = svc.settings
    try:
        claimed = await svc.redis.set(
            f"{cfg.queue_name}:return-query:{reference}", "1", nx=True, ex=max(1, cfg.return_query_interval_seconds)
        )
    except (RedisError, OSError):
        return True  # Redis holds only the throttle: the page still asks
    return bool(claimed)


def _back_url(return_url: str, payment_id: str, status: str) -> str:
    parts = urlsplit(return_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("payment_id", payment_id), ("status", status)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
