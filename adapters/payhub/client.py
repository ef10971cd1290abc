"""The hub's HTTP client: I/O only. Building, signing and reading messages live in ``messages``.

It runs on ``adapters.partner_http`` (aiohttp's pooled client, the proxy read once, no redirect followed, a deadline
for each exchange, replies of at most a MiB).

Errors say what we know: ``HubRejected`` is a definite refusal; ``HubUnavailable`` means the request never
left (safe to retry at once); ``OutcomeUnknown`` means it may have been acted on, so the caller finds out with a
query (or a repeat of an idempotent request) before deciding anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import anyio
import msgspec

from adapters.partner_http import NotSent, PartnerHttp
from adapters.vntime import now_utc

from . import messages
from .codes import Reply
from .messages import HubResult, InitOrder, InitReply, RefundOrder, RefundReply


class PayhubError(Exception):
    """Base of every error of the hub client."""


class HubRejected(PayhubError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"hub refused with {code}: {message}")
        self.code = code
        self.message = message


class HubUnavailable(PayhubError):
    """The request was not delivered (connection refused, DNS, pool timeout)."""


class OutcomeUnknown(PayhubError):
    """The request was sent but no trustworthy answer came back (timeout, 5xx, unreadable or forged reply)."""


class SettlementNotPublished(PayhubError):
    """The hub has no file for that day yet (it publishes D's file from D+1 01:00): ask again later."""


@dataclass(frozen=True)
class SettlementDownload:
    """A settlement file on disk, not yet verified; ``signature`` is the hub's ``X-MaXacThuc`` header."""

    day: date
    path: Path
    signature: str | None
    size: int


@dataclass(frozen=True)
class PayhubConfig:
    base_url: str
    partner_code: str
    hash_key: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    def __repr__(self) -> str:  # never print the key
        return f"PayhubConfig(base_url={self.base_url!r}, partner_code={self.partner_code!r})"


MAX_CONNECTIONS = 100
USER_AGENT = "dvc-gateway/payhub"


class PayhubClient:
    def __init__(self, config: PayhubConfig) -> None:
        self.config = config
        self._http = PartnerHttp(
            config.base_url, USER_AGENT, config.connect_timeout, config.read_timeout, MAX_CONNECTIONS
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def init(self, order: InitOrder) -> InitReply:
        cfg = self.config
        body = await self._post("/api/v2/payments/init", messages.build_init(order, cfg.partner_code, cfg.hash_key))
        reply = self._read(messages.parse_init_reply, body, cfg.hash_key)
        if reply.MaLoi != Reply.OK:
            raise HubRejected(reply.MaLoi, reply.MoTaLoi)
        if reply.MaThamChieu != order.reference or not reply.UrlThanhToan:
            raise OutcomeUnknown("init reply does not name our reference or a checkout page")
        return reply

    async def query(self, reference: str, now: datetime | None = None) -> HubResult:
        cfg = self.config
        payload = messages.build_query(reference, cfg.partner_code, now or now_utc(), cfg.hash_key)
        body = await self._post("/api/v2/payments/query", payload)
        return self._read(messages.parse_query_reply, body, reference, cfg.hash_key)

    async def refund(self, order: RefundOrder) -> RefundReply:
        cfg = self.config
        body = await self._post("/api/v2/payments/refund", messages.build_refund(order, cfg.partner_code, cfg.hash_key))
        reply = self._read(messages.parse_refund_reply, body, order.refund_reference, cfg.hash_key)
        if reply.MaLoi != Reply.OK:
            raise HubRejected(reply.MaLoi, reply.MoTaLoi)
        return reply

    async def settlement_file(self, day: date, dest_path: Path, now: datetime | None = None) -> SettlementDownload:
        """Stream D's file to ``dest_path`` (through a ``.part`` file, so a cut download is never taken whole).

        A GET changes nothing at the hub, so every transport failure is ``HubUnavailable``: fetch again.
        """
        cfg, stamp = self.config, f"{day:%Y%m%d}"
        params = messages.build_settlement_params(stamp, cfg.partner_code, now or now_utc(), cfg.hash_key)
        partial = dest_path.with_name(dest_path.name + ".part")
        path = f"/api/v2/settlements/{stamp}"
        try:
            async with self._http.download(path, params) as response:
                _check_download(response.status, path)
                size = 0
                async with await anyio.open_file(partial, "wb") as out:
                    async for chunk in response.content.iter_chunked(1 << 16):
                        await out.write(chunk)
                        size += len(chunk)
                signature = response.headers.get("X-MaXacThuc")
        except NotSent as exc:
            await anyio.Path(partial).unlink(missing_ok=True)
            raise HubUnavailable(str(exc)) from exc
        await anyio.Path(partial).replace(dest_path)
        return SettlementDownload(day=day, path=dest_path, signature=signature, size=size)

    async def _post(self, path: str, payload: dict[str, Any]) -> bytes:
        body = msgspec.json.encode(payload)
        status, body = await self._http.exchange("POST", path, body, unsent=HubUnavailable, unknown=OutcomeUnknown)
        if status != 200:
            raise HubRejected(str(status), f"HTTP {status} from {path}")
        return body

    @staticmethod
    def _read(parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except messages.ProtocolError as exc:
            raise OutcomeUnknown(str(exc)) from exc


def _check_download(status: int, path: str) -> None:
    if status == 404:
        raise SettlementNotPublished(f"{path}: not published yet")
    if status >= 500:
        raise HubUnavailable(f"{path}: HTTP {status}")
    if status != 200:
        raise HubRejected(str(status), f"HTTP {status} from {path}")
