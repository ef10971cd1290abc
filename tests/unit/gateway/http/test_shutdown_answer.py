"""A request cancelled by the server's shutdown before its answer began is answered 503 shutting_down as a
problem; one whose answer had begun gets nothing more; either way the cancellation goes on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gateway.http.shutdown import abandoned


def app_that(answer_first: bool, under_way: asyncio.Event) -> Any:
    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        if answer_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        under_way.set()
        await asyncio.Event().wait()  # until cancelled

    return app


async def run_cancelled(answer_first: bool) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    under_way = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "path": "/v1/payments", "method": "POST"}
    request = asyncio.create_task(abandoned(app_that(answer_first, under_way))(scope, receive, send))
    await under_way.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    return sent


async def test_a_request_cancelled_before_its_answer_is_told_to_retry_elsewhere() -> None:
    start, body = await run_cancelled(answer_first=False)
    headers = dict(start["headers"])
    assert start["status"] == 503
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"retry-after"] == b"1"
    problem = json.loads(body["body"])
    assert problem["code"] == "shutting_down"
    assert problem["status"] == 503
    assert problem["instance"] == "/v1/payments"
    assert int(headers[b"content-length"]) == len(body["body"])
    assert body["more_body"] is False


async def test_a_request_whose_answer_began_gets_nothing_more() -> None:
    sent = await run_cancelled(answer_first=True)
    assert [message["status"] for message in sent] == [200]
