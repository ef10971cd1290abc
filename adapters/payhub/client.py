"""The hub's HTTP client: I/O only. Building, signing and reading messages live in ``messages``.

It runs on aiohttp's pooled client: a request to the hub cost a payment creation about a millisecond of CPU through
httpx (whose connection pool goes through anyio's locks and cancel scopes), about a tenth of that through aiohttp.
The session is opened on first use, in the event loop that uses it. The environment's proxy for the hub (``HTTPS_PROXY``
or ``HTTP_PROXY``, unless ``NO_PROXY`` names the hub) is read once, when the client is made: aiohttp's own reading
of the environment looks for a ``.netrc`` file in a thread on every request. Redirects are not followed (a signed
message goes to the hub's address only; a redirect is not the hub's answer), and every exchange but a settlement
file's download has a deadline as a whole, besides its connect and read timeouts.

Errors say what we know: ``HubRejected`` is a definite refusal; ``HubUnavailable`` means the request never
left (safe to retry at once); ``OutcomeUnknown`` means it may have been acted on, so the caller finds out with a
query (or a repeat of an idempotent request) before deciding anything.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import anyio
import msgspec

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


# A reply larger than this is not the hub's: the hub's replies are a few hundred bytes.
MAX_REPLY_BYTES = 1 << 20
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 4.0
_HEADERS = {"User-Agent": "dvc-gateway/payhub", "Content-Type": "application/json"}
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)  # connecting, or waiting for the pool


class PayhubClient:
    def __init__(self, config: PayhubConfig) -> None:
        self.config = config
        self._base = config.base_url.rstrip("/")
        # connect: waiting for a pooled connection and opening one; sock_read: each wait for the hub's bytes; total:
        # the whole exchange, so a hub that drips its reply a byte at a time cannot hold a request (and its pooled
        # connection) for ever. A download (``settlement_file``) has no total: a file takes what it takes.
        connect, read = config.connect_timeout, config.read_timeout
        self._timeout = aiohttp.ClientTimeout(total=connect + 2 * read, connect=connect, sock_read=read)
        self._download_timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxy = environment_proxy(self._base)

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:  # a session opened now would never be closed
            raise HubUnavailable("the hub's client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # a kept-alive connection is dropped before a server's usual idle timeout (uvicorn's 5 s), so a
                # request is not sent on one the hub is closing (an outcome that could not be known)
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS),
                timeout=self._timeout,
                headers={"User-Agent": _HEADERS["User-Agent"]},
            )
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()

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
            download = self._http().get(
                f"{self._base}{path}",
                params=params,
                proxy=self._proxy,
                allow_redirects=False,
                timeout=self._download_timeout,
            )
            async with download as response:
                _check_download(response.status, path)
                size = 0
                async with await anyio.open_file(partial, "wb") as out:
                    async for chunk in response.content.iter_chunked(1 << 16):
                        await out.write(chunk)
                        size += len(chunk)
                signature = response.headers.get("X-MaXacThuc")
        except (aiohttp.ClientError, TimeoutError) as exc:
            await anyio.Path(partial).unlink(missing_ok=True)
            raise HubUnavailable(f"{path}: {type(exc).__name__}") from exc
        await anyio.Path(partial).replace(dest_path)
        return SettlementDownload(day=day, path=dest_path, signature=signature, size=size)

    async def _post(self, path: str, payload: dict[str, Any]) -> bytes:
        body = msgspec.json.encode(payload)
        try:
            url, proxy = f"{self._base}{path}", self._proxy
            # a redirect is not followed: the signed message goes to the hub's address and nowhere else
            async with self._http().post(
                url, data=body, headers=_HEADERS, proxy=proxy, allow_redirects=False
            ) as response:
                if response.status >= 500 or 300 <= response.status < 400:  # not the hub's answer: it may have acted
                    raise OutcomeUnknown(f"{path}: HTTP {response.status}")
                if response.status != 200:
                    raise HubRejected(str(response.status), f"HTTP {response.status} from {path}")
                return await _reply(response, path)
        except _NOT_SENT as exc:
            raise HubUnavailable(f"{path}: {type(exc).__name__}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:  # sent, or possibly sent: read timeouts, resets, protocol
            raise OutcomeUnknown(f"{path}: {type(exc).__name__}") from exc

    @staticmethod
    def _read(parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except messages.ProtocolError as exc:
            raise OutcomeUnknown(str(exc)) from exc


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``: ``HTTPS_PROXY`` or ``HTTP_PROXY`` by its scheme (else
    ``ALL_PROXY``), none when ``NO_PROXY`` names its host (by name or domain; not by address range)."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies_environment()
    return proxies.get(parts.scheme) or proxies.get("all")


async def _reply(response: aiohttp.ClientResponse, path: str) -> bytes:
    """The reply's body, refused past ``MAX_REPLY_BYTES`` (read no further)."""
    if (response.content_length or 0) > MAX_REPLY_BYTES:
        raise OutcomeUnknown(f"{path}: a reply of {response.content_length} bytes")
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > MAX_REPLY_BYTES:
            raise OutcomeUnknown(f"{path}: a reply of more than {MAX_REPLY_BYTES} bytes")
    return bytes(body)


def _check_download(status: int, path: str) -> None:
    if status == 404:
        raise SettlementNotPublished(f"{path}: not published yet")
    if status >= 500:
        raise HubUnavailable(f"{path}: HTTP {status}")
    if status != 200:
        raise HubRejected(str(status), f"HTTP {status} from {path}")
