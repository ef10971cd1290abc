"""What the hub sends us: the signed result callback, and the citizen's browser coming back from checkout.

The callback is verified and applied once; every reply is signed with the hub's code for the case. When the
database is unavailable the reply is ``99`` (other error), which the hub retries on its schedule. The browser
return shows our record, not what the query string claims; but when its verified query says the hub concluded
while our record is still unpaid (the callback is late or lost), it first asks the hub, as the janitor would,
within ``RETURN_QUERY_TIMEOUT_SECONDS``, and shows the answer. Without one, the page says what we know: pending.
Where the hub's query can only say "expired or cancelled", the verified return's code picks the words the page
shows (``shown_status``); it never changes the record.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from arq.connections import ArqRedis
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Template
from redis.exceptions import RedisError

from adapters.payhub import (
    CallbackRejected,
    HubRejected,
    HubUnavailable,
    Outcome,
    OutcomeUnknown,
    PayhubClient,
    Reply,
    build_confirm_ack,
    parse_confirm,
    peek_reference,
    read_return,
)
from adapters.payhub.codes import CONFIRM_OUTCOMES
from adapters.vntime import now_utc
from gateway import metrics
from gateway.jobs import redis_key
from gateway.settings import Settings
from gateway.store.db import Database, DatabaseUnavailable

from . import presenter, repository
from .records import Payment
from .results import REPLY_OF, HubResults
from .state import UNPAID, Status, hub_reason

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


class HubCallbacks:
    """The hub's signed result callback: verified, applied once through ``HubResults``, and answered with the
    hub's signed code for the case. One collaborator for the handler, so the request resolves one dependency."""

    def __init__(self, settings: Settings, results: HubResults) -> None:
        self.settings = settings
        self.results = results

    async def answer(self, body: bytes, now: datetime) -> dict[str, Any]:
        cfg = self.settings
        try:
            result = parse_confirm(body, cfg.payhub_partner_code, cfg.payhub_hash_key)
        except CallbackRejected as exc:
            log.warning("hub callback refused", extra={"reply": exc.reply.value, "reason": exc.reason})
            metrics.HUB_CALLBACKS.labels(outcome=f"refused_{exc.reply.value}").inc()
            return self._reply(exc.reply, peek_reference(body), now)
        try:
            disposition = await self.results.apply(result, now)
        except DatabaseUnavailable as exc:  # "other error": the hub sends the callback again later
            log.warning(
                "hub callback not applied: database unavailable",
                extra={"reference": result.reference, "error": str(exc)},
            )
            metrics.HUB_CALLBACKS.labels(outcome="unavailable").inc()
            metrics.DATABASE_UNAVAILABLE.labels(where="hub_callback").inc()
            return self._reply(Reply.OTHER, result.reference, now)
        except Exception:
            log.exception("hub callback not applied", extra={"reference": result.reference})
            metrics.HUB_CALLBACKS.labels(outcome="error").inc()
            return self._reply(Reply.OTHER, result.reference, now)
        metrics.HUB_CALLBACKS.labels(outcome=disposition.value).inc()
        return self._reply(REPLY_OF[disposition], result.reference, now)

    def _reply(self, reply: Reply, reference: str, now: datetime) -> dict[str, Any]:
        cfg = self.settings
        return build_confirm_ack(reply, cfg.payhub_partner_code, reference, now, cfg.payhub_hash_key)


class HubCallbackController(Controller):
    path = "/callbacks/payhub"
    include_in_schema = False

    @post("/", status_code=200)
    async def receive(
        self, request: Request[Any, Any, Any], hub_callbacks: NamedDependency[HubCallbacks]
    ) -> Response[dict[str, Any]]:
        body = await request.body()
        return Response(content=await hub_callbacks.answer(body, now_utc()), status_code=200)


class ReturnQueries:
    """The return page's question to the hub, applied through the callback's code path. At most one query per
    payment per ``RETURN_QUERY_INTERVAL_SECONDS``, shared by every process: reloading the page does not hammer the
    hub."""

    def __init__(self, settings: Settings, hub: PayhubClient, results: HubResults, redis: ArqRedis | None) -> None:
        self.settings = settings
        self.hub = hub
        self.results = results
        self.redis = redis

    async def ask(self, reference: str) -> bool:
        """False if the hub did not answer in time (or was asked a moment ago)."""
        if not await self._first_in_interval(reference):
            return False
        try:
            result = await asyncio.wait_for(self.hub.query(reference), self.settings.return_query_timeout_seconds)
        except (TimeoutError, HubUnavailable, OutcomeUnknown, HubRejected) as exc:
            log.info("hub not answering the return page's query", extra={"reference": reference, "error": repr(exc)})
            return False
        await self.results.apply(result, now_utc())
        return True

    async def _first_in_interval(self, reference: str) -> bool:
        if self.redis is None:
            return True
        cfg = self.settings
        try:
            claimed = await self.redis.set(
                redis_key(cfg, f"return-query:{reference}"), "1", nx=True, ex=max(1, cfg.return_query_interval_seconds)
            )
        except (RedisError, OSError):
            return True  # Redis holds only the throttle: the page still asks
        return bool(claimed)


def shown_status(record: Payment, return_code: str) -> str:
    """The status the return page shows: our record's, except that the hub's query has one answer for "expired or
    cancelled" (recorded as ``expired``, ``hub_expired``), which the hub's signed return tells apart. Display only:
    the record stays as it is until the hub's callback says the citizen cancelled (``state``)."""
    if (
        record.status == Status.EXPIRED
        and record.status_reason == hub_reason(Outcome.EXPIRED)
        and CONFIRM_OUTCOMES.get(return_code) is Outcome.CANCELLED
    ):
        return Status.CANCELLED.value
    return record.status


async def return_queries(
    settings: NamedDependency[Settings],
    hub: NamedDependency[PayhubClient],
    hub_results: NamedDependency[HubResults],
    redis: NamedDependency[ArqRedis | None],
) -> ReturnQueries:
    return ReturnQueries(settings, hub, hub_results, redis)


class ReturnPageController(Controller):
    path = "/payments/return"
    include_in_schema = False
    dependencies: ClassVar = {"hub_queries": Provide(return_queries)}

    @get("/")
    async def show(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        db: NamedDependency[Database],
        hub_queries: NamedDependency[ReturnQueries],
    ) -> Template:
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        info = read_return(params, settings.payhub_hash_key)
        record = None
        if info.verified and info.reference:
            async with db.read() as conn:
                record = await repository.load_by_reference(conn, info.reference)
            if record is not None and info.code in CONFIRM_OUTCOMES and Status(record.status) in UNPAID:
                if await hub_queries.ask(info.reference):
                    async with db.read() as conn:
                        record = await repository.load_by_reference(conn, info.reference)
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
        payment = presenter.view(record)
        title, message = STATUS_TEXT[shown_status(record, info.code)]
        return Template(
            template_name="return.html",
            context={
                "title": title,
                "message": message,
                "payment": payment,
                "back_url": _back_url(payment.return_url, payment.id, payment.status),
            },
        )


def _back_url(return_url: str, payment_id: str, status: str) -> str:
    parts = urlsplit(return_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("payment_id", payment_id), ("status", status)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
