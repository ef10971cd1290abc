"""The client's error mapping and its one re-login, against a scripted post served over HTTP in this process."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import Litestar, Request, Response, route

from adapters.postal.client import PostalClient, PostalConfig
from adapters.postal.errors import OutcomeUnknown, PostalProtocolError, PostalRejected, PostalUnavailable
from tests.support.payhub_sandbox import served
from tests.support.services import free_port

TOKEN_REPLY = {"success": True, "token": "tok", "expiresIn": 3600}
STALL = "stall"  # the scripted post takes longer than the client's read timeout


def config(url: str) -> PostalConfig:
    return PostalConfig(base_url=url, username="u", password="p", customer_code="C", read_timeout=0.5)


@contextmanager
def scripted(answer: tuple[int, bytes] | str, log: list[str]) -> Iterator[str]:
    """A post that logs every call's name, hands out a token and answers every other call with ``answer``."""
    released = threading.Event()

    @route("/customer-partner/{name:str}", http_method=["GET", "POST"])
    async def call(name: str, request: Request[Any, Any, Any]) -> Response[bytes]:
        log.append(name)
        if name == "GetAccessToken":
            assert json.loads(await request.body()) == {"username": "u", "password": "p", "customerCode": "C"}
            return Response(json.dumps(TOKEN_REPLY).encode(), media_type="application/json")
        assert request.headers["token"] == "tok"
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
    assert log == ["GetAccessToken", "getOrderTracking", "GetAccessToken", "getOrderTracking"]


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
    assert log == ["GetAccessToken", "orderCancel", "getOrder"]


async def test_a_post_that_cannot_be_reached_is_unavailable_whatever_the_call() -> None:
    async with PostalClient(config(f"http://127.0.0.1:{free_port()}")) as client:
        with pytest.raises(PostalUnavailable):
            await client.cancel("OD1")
        with pytest.raises(PostalUnavailable):
            await client.get_order("OD1")
