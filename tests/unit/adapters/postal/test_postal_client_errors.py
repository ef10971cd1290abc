"""The client's error mapping and its one re-login, against a scripted post (httpx.MockTransport)."""

from __future__ import annotations

import json

import httpx
import pytest

from adapters.postal.client import PostalClient, PostalConfig
from adapters.postal.errors import OutcomeUnknown, PostalProtocolError, PostalRejected, PostalUnavailable

CONFIG = PostalConfig(base_url="http://post.test", username="u", password="p", customer_code="C")
TOKEN_REPLY = {"success": True, "token": "tok", "expiresIn": 3600}


def scripted(answer: httpx.Response | Exception, log: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        log.append(request.url.path.rsplit("/", 1)[-1])
        if request.url.path.endswith("/GetAccessToken"):
            assert json.loads(request.content) == {"username": "u", "password": "p", "customerCode": "C"}
            return httpx.Response(200, json=TOKEN_REPLY)
        assert request.headers["token"] == "tok"
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle)


async def test_a_token_refused_twice_is_not_retried_a_third_time() -> None:
    log: list[str] = []
    expired = httpx.Response(401, json={"success": False, "errorCode": "TOKEN_EXPIRED"})
    async with PostalClient(CONFIG, transport=scripted(expired, log)) as client:
        with pytest.raises(PostalRejected) as refused:
            await client.tracking(0)
    assert refused.value.code == "TOKEN_EXPIRED"
    assert log == ["GetAccessToken", "getOrderTracking", "GetAccessToken", "getOrderTracking"]


@pytest.mark.parametrize(
    ("answer", "writes", "reads"),
    [
        (httpx.Response(503), OutcomeUnknown, PostalUnavailable),
        (httpx.ReadTimeout("slow"), OutcomeUnknown, PostalUnavailable),
        (httpx.ConnectError("refused"), PostalUnavailable, PostalUnavailable),
        (httpx.Response(200, content=b"<html>"), OutcomeUnknown, PostalProtocolError),
        (
            httpx.Response(400, json={"success": False, "errorCode": "X", "message": "m"}),
            PostalRejected,
            PostalRejected,
        ),
        (httpx.Response(404, content=b"not found"), PostalRejected, PostalRejected),
    ],
)
async def test_errors_say_what_is_known(answer: httpx.Response | Exception, writes: type, reads: type) -> None:
    log: list[str] = []
    async with PostalClient(CONFIG, transport=scripted(answer, log)) as client:
        with pytest.raises(writes):
            await client.cancel("OD1")
        with pytest.raises(reads):
            await client.get_order("OD1")
    assert log.count("GetAccessToken") == 1
