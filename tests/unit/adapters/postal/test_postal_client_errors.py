"""The client's error mapping and its one re-login, against a scripted post served over HTTP in this process."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from litestar import Litestar, Request, Response, route
from litestar.params import FromPath

from adapters.partner_http import MAX_REPLY_BYTES
from adapters.postal.client import PostalClient, PostalConfig
from adapters.postal.errors import OutcomeUnknown, PostalProtocolError, PostalRejected, PostalUnavailable
from adapters.postal.messages import parse_token_reply
from tests.support.payhub_sandbox import served
from tests.support.services import free_port

TOKEN_REPLY = {"success": True, "token": "tok", "expiresIn": 3600}
STALL = "stall"  # the scripted post takes longer than the client's read timeout
LOGIN = "GetAccessToken with our credentials"


def config(url: str) -> PostalConfig:
    return PostalConfig(base_url=url, username="u", password="p", customer_code="C", read_timeout=2.0)


@contextmanager
def scripted(answer: tuple[int, bytes] | str, log: list[str]) -> Iterator[str]:
    """A post that logs every call's name, hands out a token and answers every other call with ``answer``."""
    released = threading.Event()

    @route("/customer-partner/{name:str}", http_method=["GET", "POST"])
    async def call(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
        if name == "GetAccessToken":
            credentials = json.loads(await request.body()) == {"username": "u", "password": "p", "customerCode": "C"}
            log.append(f"{name} {'with' if credentials else 'WITHOUT'} our credentials")
            return Response(json.dumps(TOKEN_REPLY).encode(), media_type="application/json")
        log.append(f"{name} with {request.headers.get('token', 'no token')}")
        if answer == STALL:
            await asyncio.to_thread(released.wait, 10)
            return Response(b"{}", media_type="application/json")
        status, body = answer
        return Response(body, status_code=status, media_type="application/json")

    with served(Litestar([call], logging_config=None)) as url:
        try:
            yield url
        finally:
            released.set()


async def test_a_token_refused_twice_is_not_retried_a_third_time() -> None:
    log: list[str] = []
    expired = (401, json.dumps({"success": False, "errorCode": "TOKEN_EXPIRED"}).encode())
    with scripted(expired, log) as url:
        async with PostalClient(config(url)) as client:
            with pytest.raises(PostalRejected) as refused:
                await client.tracking(0)
    assert refused.value.code == "TOKEN_EXPIRED"
    assert log == [LOGIN, "getOrderTracking with tok", LOGIN, "getOrderTracking with tok"]


@pytest.mark.parametrize(
    ("answer", "writes", "reads"),
    [
        ((503, b""), OutcomeUnknown, PostalUnavailable),
        ((307, b""), OutcomeUnknown, PostalUnavailable),  # a redirect is not the post's answer, and not followed
        (STALL, OutcomeUnknown, PostalUnavailable),
        ((200, b"<html>"), OutcomeUnknown, PostalProtocolError),
        ((400, b'{"success": false, "errorCode": "X", "message": "m"}'), PostalRejected, PostalRejected),
        ((404, b"not found"), PostalRejected, PostalRejected),
    ],
    ids=["503", "307", "stalled", "not json", "refused", "404"],
)
async def test_errors_say_what_is_known(answer: tuple[int, bytes] | str, writes: type, reads: type) -> None:
    log: list[str] = []
    with scripted(answer, log) as url:
        async with PostalClient(config(url)) as client:
            with pytest.raises(writes):
                await client.cancel("OD1")
            with pytest.raises(reads):
                await client.get_order("OD1")
    assert log == [LOGIN, "orderCancel with tok", "getOrder with tok"]


async def test_a_post_that_cannot_be_reached_is_unavailable_whatever_the_call() -> None:
    """Nothing reached the post, so a write too is unavailable, not of unknown outcome: with a token in hand (as
    after an earlier login), so the write itself is what fails to connect."""
    async with PostalClient(config(f"http://127.0.0.1:{free_port()}")) as client:
        client._token, client._token_expires = "tok", time.monotonic() + 3600
        with pytest.raises(PostalUnavailable):
            await client.cancel("OD1")
        with pytest.raises(PostalUnavailable):
            await client.get_order("OD1")
        assert client.logins == 0


async def test_a_day_s_cod_statement_may_be_larger_than_any_other_reply() -> None:
    """The statement is one reply for the whole day (not paged): megabytes on a busy day are read whole, where any
    other reply that large is not the post's."""
    log: list[str] = []
    large = b'{"items": [' + b",".join([b'{"itemCode": "EB123456789VN", "codAmount": 150000}'] * 50_000) + b"]}"
    assert len(large) > 2 * MAX_REPLY_BYTES
    with scripted((200, large), log) as url:
        async with PostalClient(config(url)) as client:
            assert await client.cod_statement_body(date(2026, 12, 5)) == large
            with pytest.raises(PostalUnavailable, match="a reply of"):
                await client.get_order("OD1")


def test_a_token_that_cannot_be_sent_in_a_header_is_not_taken() -> None:
    with pytest.raises(PostalProtocolError, match="header"):
        parse_token_reply(b'{"success": true, "token": "to\\u0001k", "expiresIn": 3600}')
