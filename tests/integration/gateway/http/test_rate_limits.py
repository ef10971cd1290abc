"""Rate limits per API key: one budget shared by every gateway process, a portal's own limit, a 429 problem with
Retry-After that changes nothing, and requests let through (with a log line) when Redis is gone; alike whether
the gateway checks each API key or caches them (then a request reads the revocation counter and is counted in one
Redis round trip)."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from gateway.portals import service as portals
from tests.support.api import counts, key
from tests.support.processes import Process
from tests.support.stack import Stack, payment_body

LIMITED = {"API_RATE_LIMIT": "10", "API_RATE_WINDOW_SECONDS": "3600"}


# With cached API keys a request reads the revocation counter and is counted against its budget in one round trip.
AUTH_CACHE = {"keys-checked": "0", "keys-cached": "10"}


@pytest.fixture(scope="module", params=list(AUTH_CACHE))
def limited_gateways(stack: Stack, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    settings = {**LIMITED, "AUTH_CACHE_SECONDS": AUTH_CACHE[request.param]}
    started = [stack.start_gateway(f"gateway-rate-{request.param}-{n}", **settings) for n in (1, 2)]
    try:
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            process.stop()


async def new_key(stack: Stack) -> tuple[str, str]:
    assert stack.db is not None
    return await portals.create_portal(stack.db, f"Cổng {secrets.token_hex(3)}", [])


async def get(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        return await client.get("/v1/payments", params={"limit": 1})


async def test_two_processes_share_one_budget_per_key(stack: Stack, limited_gateways: list[str]) -> None:
    _, token = await new_key(stack)
    _, other_token = await new_key(stack)
    answers = await asyncio.gather(*(get(limited_gateways[n % 2], token) for n in range(14)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 10 + [429] * 4
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    # another key of another portal has its own budget
    assert (await get(limited_gateways[0], other_token)).status_code == 200


async def test_a_refused_request_changes_nothing(stack: Stack, limited_gateways: list[str]) -> None:
    _, token = await new_key(stack)
    for _ in range(10):
        assert (await get(limited_gateways[0], token)).status_code == 200
    before = await counts(stack)
    async with httpx.AsyncClient(base_url=limited_gateways[1], headers={"Authorization": f"Bearer {token}"}) as api:
        response = await api.post("/v1/payments", json=payment_body(), headers=key())
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert await counts(stack) == before


async def test_a_portal_has_its_own_limit(stack: Stack, limited_gateways: list[str]) -> None:
    portal_id, token = await new_key(stack)
    done = stack.command("portal", "rate-limit", "--portal", portal_id, "3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"portal_id": portal_id, "rate_limit": 3}
    statuses = [(await get(limited_gateways[n % 2], token)).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


@pytest.mark.parametrize("cache", list(AUTH_CACHE))
async def test_without_redis_requests_go_through_and_say_so(
    stack: Stack, private_redis: tuple[str, subprocess.Popen[bytes]], cache: str
) -> None:
    redis_url, server = private_redis
    # an hour's window: three requests cannot straddle a window's end, which would give the third a fresh budget
    process, url = stack.start_gateway(
        f"gateway-rate-noredis-{cache}",
        REDIS_URL=redis_url,
        API_RATE_LIMIT="2",
        API_RATE_WINDOW_SECONDS="3600",
        AUTH_CACHE_SECONDS=AUTH_CACHE[cache],
    )
    try:
        _, warm = await new_key(stack)
        assert (await get(url, warm)).status_code == 200  # the gateway's Redis connection is open before we count
        _, token = await new_key(stack)
        statuses = [(await get(url, token)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429], _log(process)[-2000:]
        server.terminate()
        server.wait(timeout=10)
        _, fresh = await new_key(stack)
        assert [(await get(url, fresh)).status_code for _ in range(4)] == [200] * 4
        assert "rate limit not checked: redis unavailable" in _log(process)
    finally:
        process.stop()


def _log(process: Process) -> str:
    return process.log_path.read_text(errors="replace")
