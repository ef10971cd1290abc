"""The post's HTTP client: I/O only. Building and reading messages live in ``messages`` and ``statements``.

It runs on ``adapters.partner_http`` (aiohttp's pooled client, the proxy read once, no redirect followed, a deadline
for each exchange, replies of at most a MiB but a day's COD statement, of at most ``MAX_STATEMENT_BYTES``).

The token is fetched once and cached until shortly before it expires; a 401 ``TOKEN_EXPIRED`` (the post may
drop a token early) triggers one fresh login and one repeat of the call, never more.

Errors say what we know (see ``errors``): for ``CreateOrder`` and ``orderCancel`` a timeout, a 5xx or an
unreadable reply is ``OutcomeUnknown`` (repeat ``CreateOrder`` with the same ``saleOrderCode``, or ask
``getOrder``); for the read-only calls the same troubles are ``PostalUnavailable`` (nothing changed, poll
again) and a malformed page is ``PostalProtocolError`` (do not move the cursor).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import msgspec

from adapters.partner_http import MAX_REPLY_BYTES, PartnerHttp

from . import codes, messages, statements, wire
from .errors import OutcomeUnknown, PostalProtocolError, PostalRejected, PostalUnavailable
from .messages import CreateOrder, OrderCreated, OrderDetail, Token, TrackingPage
from .statements import CodStatement

_T = TypeVar("_T")

PREFIX = "/customer-partner"
MAX_CONNECTIONS = 50
USER_AGENT = "dvc-gateway/postal"
# A day's COD statement is one reply, not paged: about 150 bytes an item, so a national day's 45,500 results three
# times over (the worst day) is some 20 MB; a province's, a few.
MAX_STATEMENT_BYTES = 128 << 20
TOKEN_HEADER = "token"  # noqa: S105 (the header name)


@dataclass(frozen=True)
class PostalConfig:
    base_url: str
    username: str
    password: str
    customer_code: str
    connect_timeout: float = 3.0
    read_timeout: float = 15.0
    token_margin: float = 60.0  # renew this long before the post says the token expires

    def __repr__(self) -> str:  # never print the password
        return f"PostalConfig(base_url={self.base_url!r}, username={self.username!r})"


class PostalClient:
    def __init__(self, config: PostalConfig) -> None:
        self.config = config
        self._http = PartnerHttp(
            config.base_url, USER_AGENT, config.connect_timeout, config.read_timeout, MAX_CONNECTIONS
        )
        self._token: str | None = None
        self._token_expires = 0.0  # time.monotonic()
        self._login_lock = asyncio.Lock()
        self.logins = 0  # how many times we logged in: for metrics and tests

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PostalClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---------------------------------------------------------------- calls

    async def create_order(self, order: CreateOrder) -> OrderCreated:
        """Book a parcel; repeating it with the same ``sale_order_code`` returns the same order."""
        payload = messages.build_create_order(order)
        body = await self._call("POST", "/CreateOrder", payload, read_only=False)
        return _trusted(messages.parse_create_reply, body, order.sale_order_code)

    async def cancel(self, original_id: str) -> None:
        """Cancel before pickup; afterwards the post answers ``PostalRejected('CANNOT_CANCEL')``."""
        body = await self._call("POST", "/orderCancel", messages.build_cancel(original_id), read_only=False)
        _trusted(messages.parse_cancel_reply, body)

    async def get_order(self, original_id: str) -> OrderDetail:
        body = await self._call("POST", "/getOrder", messages.build_get_order(original_id))
        return messages.parse_order_reply(body, original_id)

    async def tracking(self, last_id: int, page_size: int = codes.MAX_PAGE_SIZE) -> TrackingPage:
        """The events after ``last_id``; keep the returned ``last_id`` durably once they are recorded."""
        payload = messages.build_tracking_request(last_id, page_size)
        body = await self._call("POST", "/getOrderTracking", payload)
        return messages.parse_tracking_page(body, last_id)

    async def cod_statement(self, day: date) -> CodStatement:
        return statements.parse_cod_statement(await self.cod_statement_body(day), day)

    async def cod_statement_body(self, day: date) -> bytes:
        """The statement as the post sent it (to keep beside its run); ``statements.parse_cod_statement`` reads it."""
        params = statements.build_cod_statement_params(day)
        return await self._call("GET", "/codStatement", params=params, max_bytes=MAX_STATEMENT_BYTES)

    # ---------------------------------------------------------------- token

    async def login(self) -> str:
        """Fetch a new token (also done on demand by every call)."""
        cfg = self.config
        payload = messages.build_token_request(cfg.username, cfg.password, cfg.customer_code)
        status, body = await self._send("POST", "/GetAccessToken", payload, None, None, read_only=True)
        if status == 401:
            raise PostalRejected(codes.LOGIN_FAILED, "the post refused our credentials")
        token: Token = messages.parse_token_reply(_body_of(status, body))
        self._token = token.value
        margin = min(cfg.token_margin, token.expires_in / 10)
        self._token_expires = time.monotonic() + token.expires_in - margin
        self.logins += 1
        return token.value

    async def _current_token(self, stale: str | None = None) -> str:
        async with self._login_lock:  # one login at a time; the others reuse its token
            valid = self._token is not None and time.monotonic() < self._token_expires
            if valid and self._token != stale:
                assert self._token is not None
                return self._token
            return await self.login()

    # ---------------------------------------------------------------- transport

    async def _call(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        *,
        read_only: bool = True,
        max_bytes: int = MAX_REPLY_BYTES,
    ) -> bytes:
        token = await self._current_token()
        status, body = await self._send(method, path, payload, params, token, read_only=read_only, max_bytes=max_bytes)
        if status == 401:
            # the post dropped our token: log in again once and repeat; a 401 means the call was not processed
            token = await self._current_token(stale=token)
            status, body = await self._send(
                method, path, payload, params, token, read_only=read_only, max_bytes=max_bytes
            )
            if status == 401:
                raise PostalRejected(codes.TOKEN_EXPIRED, "a fresh token was refused too")
        return _body_of(status, body)

    async def _send(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        params: dict[str, str] | None,
        token: str | None,
        *,
        read_only: bool,
        max_bytes: int = MAX_REPLY_BYTES,
    ) -> tuple[int, bytes]:
        headers = {TOKEN_HEADER: token} if token else None
        unknown = PostalUnavailable if read_only else OutcomeUnknown
        body = None if payload is None else msgspec.json.encode(payload)
        return await self._http.exchange(
            method, PREFIX + path, body, params, headers, unsent=PostalUnavailable, unknown=unknown, max_bytes=max_bytes
        )


def _body_of(status: int, body: bytes) -> bytes:
    """The body of a 2xx reply; a 4xx is the post's refusal, with its own code when it sent one."""
    if status < 300:
        return body
    wire.raise_refusal(body)
    raise PostalRejected(f"HTTP_{status}", f"HTTP {status} without an error code")


def _trusted(parse: Callable[..., _T], *args: Any) -> _T:
    """A reply to a call that changes state: if we cannot read it, we do not know what happened."""
    try:
        return parse(*args)
    except PostalProtocolError as exc:
        raise OutcomeUnknown(str(exc)) from exc
