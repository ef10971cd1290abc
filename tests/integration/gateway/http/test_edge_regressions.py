"""The portal API's edge against the behaviour the gateway had before its HTTP edge was rebuilt: which query
parameters a route takes, and what a retry with the same Idempotency-Key gets when the database was lost while the
first attempt's answer was being kept. The app runs in-process on a SQLite database of the test's own."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from gateway.settings import load
from gateway.store import idempotency
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from tests.support.services import require_redis

HOOK = "http://127.0.0.1:9/gateway"  # never sent to: nothing here makes an event


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A portal's client on an app of the test's own; the idempotency lock ends at once, so a retry may resume."""
    app, api_key = await _app(tmp_path)
    async with AsyncTestClient(app, base_url="http://gateway.local") as client:
        client.headers["Authorization"] = f"Bearer {api_key}"
        yield client


async def _app(tmp_path: Path) -> tuple[Litestar, str]:
    """The app on a SQLite database of its own, and the API key of a portal in it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    await upgrade_async(url)
    db = Database.from_url(url)
    portal_id, api_key = await portals.create_portal(db, f"Cổng {secrets.token_hex(3)}", [])
    assert await set_private_webhooks(db, portal_id, True)
    await db.dispose()
    settings = load(
        {
            "PAYHUB_HASH_KEY": "edge-regressions",
            "WEBHOOK_SECRETS_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "WEBHOOK_PRIVATE_NETWORKS": "127.0.0.1/32",
            "DATABASE_URL": url,
            "REDIS_URL": require_redis(),
            "QUEUE_NAME": f"edge-{secrets.token_hex(4)}",
            "RECEIPT_KEYS_DIR": str(tmp_path / "receipt-keys"),
            "AUTH_CACHE_SECONDS": "0",
            "API_RATE_LIMIT": "1000000",
            "IDEMPOTENCY_LOCK_SECONDS": "0",
        },
        log_json=False,
    )
    return create_app(settings), api_key


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


@pytest.mark.parametrize("name", ["portal", "db"])
async def test_a_list_refuses_a_query_parameter_named_like_a_dependency(api: httpx.AsyncClient, name: str) -> None:
    _refused(await api.get("/v1/payments", params={name: "x"}), 400, "invalid_request")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/payments/pay_0123456789abcdef0123", None),
        ("GET", "/v1/webhook", None),
        ("PUT", "/v1/webhook", {"url": HOOK}),
        ("POST", "/v1/payments/pay_0123456789abcdef0123/cancel", None),
    ],
)
async def test_a_route_without_filters_ignores_the_query_as_before(
    api: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    if method == "PUT":  # the first PUT creates the endpoint (201); compare two that change it
        await api.request(method, path, json=body)
    headers = {"Idempotency-Key": secrets.token_hex(8)} if method == "POST" else {}
    plain = await api.request(method, path, json=body, headers=headers)
    headers = {"Idempotency-Key": secrets.token_hex(8)} if method == "POST" else {}
    with_query = await api.request(method, path, params={"trace": "1"}, json=body, headers=headers)
    assert with_query.status_code == plain.status_code, with_query.text
    assert with_query.json().get("code") == plain.json().get("code")


async def forget_answer(db_url: str, key: str) -> None:
    """Leave the key as a first attempt leaves it when the database is lost after its change committed and before
    its answer was kept: in progress, its lock over, no answer stored."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from gateway.store.tables import idempotency as it

    db = Database.from_url(db_url)
    try:
        async with db.transaction() as tx:
            await tx.execute(
                update(it.idempotency_keys)
                .where(it.idempotency_keys.c.key == key)
                .values(
                    state=idempotency.IN_PROGRESS,
                    status_code=None,
                    response_body=None,
                    locked_until=datetime.now(UTC) - timedelta(seconds=1),
                )
            )
    finally:
        await db.dispose()


async def test_a_rotation_whose_answer_was_not_kept_is_not_done_again_by_its_retry(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Before, the rotation and its stored answer were one transaction: a lost database undid both and the retry
    rotated once. Every secret a client is shown for one key must be the one the endpoint keeps."""
    assert (await api.put("/v1/webhook", json={"url": HOOK})).status_code == 201
    key = f"rotate-{secrets.token_hex(6)}"
    first = await api.post("/v1/webhook/rotate-secret", headers={"Idempotency-Key": key})
    assert first.status_code == 200, first.text
    await forget_answer(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", key)
    retry = await api.post("/v1/webhook/rotate-secret", headers={"Idempotency-Key": key})
    assert retry.status_code == 200, retry.text
    assert retry.json()["secret"] == first.json()["secret"], "one key, two different secrets shown"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/payments/pay_0123456789abcdef0123"),  # the portal and the database
        ("GET", "/v1/webhook/deliveries"),  # the portal and the webhooks
        ("POST", "/v1/payments/pay_0123456789abcdef0123/cancel"),  # the portal, its attempt and the payments
    ],
)
async def test_a_request_resolves_its_dependencies_without_a_task_each(tmp_path: Path, method: str, path: str) -> None:
    """Run in this task (httpx's ASGI transport), so every task the request makes is seen: none of Litestar's or
    anyio's, where Litestar would resolve a handler's independent dependencies in an anyio task each."""
    app, api_key = await _app(tmp_path)
    loop = asyncio.get_running_loop()
    made: list[str] = []
    before = loop.get_task_factory()

    def counted(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(f"{coro.cr_code.co_filename}: {coro.__qualname__}")
        return asyncio.Task(coro, loop=loop, **kwargs)

    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": secrets.token_hex(8)}
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://gateway.local") as client:
        await client.request(method, path, headers=headers)  # the first request warms what is made once
        loop.set_task_factory(counted)
        try:
            headers["Idempotency-Key"] = secrets.token_hex(8)
            response = await client.request(method, path, headers=headers)
        finally:
            loop.set_task_factory(before)
    assert response.status_code in (200, 404), response.text
    assert [task for task in made if "/litestar/" in task or "/anyio/" in task] == []
