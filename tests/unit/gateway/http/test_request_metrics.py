"""The request metrics: each request a route takes is counted and timed once, under its route's template and the
status it was answered with (a handler's error, and a refusal raised by a middleware before the handler ran,
included), and is in progress only while it is under way."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar, get
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import REGISTRY

from gateway.http.request_metrics import RequestMetrics

ENTERED = asyncio.Event()  # the slow route's handler has begun
GATE = asyncio.Event()  # and may answer


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client of an app of its own, whose routes sit under a prefix of their own (the metrics are the process's)."""
    prefix = f"/t{secrets.token_hex(4)}"

    @get(f"{prefix}/things/{{thing_id:str}}", sync_to_thread=False)
    def thing(thing_id: FromPath[str]) -> dict[str, str]:
        return {"id": thing_id}

    @get(f"{prefix}/broken", sync_to_thread=False)
    def broken() -> None:
        raise RuntimeError("a bug")

    @get(f"{prefix}/refused", sync_to_thread=False)
    def refused() -> None:
        raise HTTPException(status_code=409, detail="no")

    @get(f"{prefix}/slow")
    async def slow() -> str:
        ENTERED.set()
        await GATE.wait()
        return "done"

    @get("/metrics", sync_to_thread=False)
    def metrics() -> str:
        return "not counted"

    def keyless(app: ASGIApp) -> ASGIApp:
        """Refuses a request to the guarded route before its handler runs, as the API key's middleware does."""

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["path"].endswith("/guarded"):
                raise NotAuthorizedException("no key")
            await app(scope, receive, send)

        return middleware

    @get(f"{prefix}/guarded", sync_to_thread=False)
    def guarded() -> str:
        return "never"

    counted = RequestMetrics()
    app = Litestar(
        [thing, broken, refused, slow, metrics, guarded],
        middleware=[counted.middleware, keyless],
        before_send=[counted.answered],
        logging_config=None,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.local") as http:
        yield http, prefix


async def test_a_request_is_counted_once_under_its_route_and_status(client: tuple[httpx.AsyncClient, str]) -> None:
    http, prefix = client
    route = f"{prefix}/things/{{thing_id}}"  # the route's template, its parameters without their types
    for thing_id in ("a", "b", "c"):
        assert (await http.get(f"{prefix}/things/{thing_id}")).status_code == 200
    assert _value("gateway_requests_total", method="GET", path=route, status_code="200") == 3
    assert _value("gateway_request_duration_seconds_count", method="GET", path=route, status_code="200") == 3
    assert _value("gateway_request_duration_seconds_sum", method="GET", path=route, status_code="200") > 0
    assert _value("gateway_requests_in_progress", method="GET", path=route) == 0


async def test_an_error_is_counted_under_the_status_it_was_answered_with(client: tuple[httpx.AsyncClient, str]) -> None:
    http, prefix = client
    assert (await http.get(f"{prefix}/broken")).status_code == 500
    assert (await http.get(f"{prefix}/refused")).status_code == 409
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/broken", status_code="500") == 1
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/broken", status_code="200") == 0
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/refused", status_code="409") == 1
    assert _value("gateway_requests_in_progress", method="GET", path=f"{prefix}/broken") == 0


async def test_a_refusal_raised_before_the_handler_is_counted_under_its_status(
    client: tuple[httpx.AsyncClient, str],
) -> None:
    http, prefix = client
    assert (await http.get(f"{prefix}/guarded")).status_code == 401
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/guarded", status_code="401") == 1
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/guarded", status_code="200") == 0
    assert (
        _value("gateway_request_duration_seconds_count", method="GET", path=f"{prefix}/guarded", status_code="401") == 1
    )
    assert _value("gateway_requests_in_progress", method="GET", path=f"{prefix}/guarded") == 0


async def test_a_request_is_in_progress_while_it_is_under_way(client: tuple[httpx.AsyncClient, str]) -> None:
    http, prefix = client
    ENTERED.clear()
    GATE.clear()
    under_way = asyncio.create_task(http.get(f"{prefix}/slow"))
    await asyncio.wait_for(ENTERED.wait(), 10)
    assert _value("gateway_requests_in_progress", method="GET", path=f"{prefix}/slow") == 1
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/slow", status_code="200") == 0
    GATE.set()
    assert (await under_way).status_code == 200
    assert _value("gateway_requests_in_progress", method="GET", path=f"{prefix}/slow") == 0
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/slow", status_code="200") == 1


async def test_the_metrics_route_and_unknown_paths_are_not_counted(client: tuple[httpx.AsyncClient, str]) -> None:
    http, prefix = client
    before = _value("gateway_requests_total", method="GET", path="/metrics", status_code="200")
    assert (await http.get("/metrics")).status_code == 200
    assert (await http.get(f"{prefix}/nowhere")).status_code == 404
    assert _value("gateway_requests_total", method="GET", path="/metrics", status_code="200") == before
    assert _value("gateway_requests_total", method="GET", path=f"{prefix}/nowhere", status_code="404") == 0
