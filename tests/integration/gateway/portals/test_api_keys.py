"""API keys from the ``gateway portal key`` command: created, listed, revoked and rotated; a revoked key is refused
by every gateway process on its next request although each caches keys, and a key's overlap after a rotation ends
on time. When Redis is gone a process trusts its cache only for the short fallback time."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.portals import keys
from gateway.portals import service as portals
from tests.support.services import wait_for
from tests.support.stack import Stack

CACHED = {"AUTH_CACHE_SECONDS": "300", "AUTH_CACHE_FALLBACK_SECONDS": "2"}


@pytest.fixture(scope="module")
def two_gateways(stack: Stack) -> Iterator[list[str]]:
    """Two more gateway processes that cache keys for five minutes."""
    started = [stack.start_gateway(f"gateway-keys-{n}", **CACHED) for n in (1, 2)]
    try:
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            process.stop()


@pytest.fixture
async def portal(stack: Stack) -> str:
    assert stack.db is not None
    portal_id, _ = await portals.create_portal(stack.db, f"Cổng khoá {secrets.token_hex(3)}", [])
    return portal_id


def run(stack: Stack, *args: str) -> dict:
    done = stack.command("portal", "key", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def status(url: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        return (await client.get("/v1/payments", params={"limit": 1})).status_code


async def test_a_revoked_key_is_refused_by_every_process_on_its_next_request(
    stack: Stack, two_gateways: list[str], portal: str
) -> None:
    created = run(stack, "create", "--portal", portal, "--label", "cổng chính")
    token = created["api_key"]
    for url in two_gateways:
        assert await status(url, token) == 200  # now in each process's cache
    revoked = run(stack, "revoke", created["key_id"])
    assert revoked["state"] == "revoked"
    for url in two_gateways:
        assert await status(url, token) == 401


async def test_a_rotated_key_overlaps_then_is_refused_everywhere(
    stack: Stack, two_gateways: list[str], portal: str
) -> None:
    old = run(stack, "create", "--portal", portal)
    for url in two_gateways:
        assert await status(url, old["api_key"]) == 200
    rotated = run(stack, "rotate", old["key_id"], "--overlap-seconds", "8")
    new = rotated["api_key"]
    assert rotated["key_id"] != old["key_id"] and new != old["api_key"]
    assert rotated["previous_key_expires_at"]
    for url in two_gateways:
        assert await status(url, new) == 200
        assert await status(url, old["api_key"]) == 200  # still in its overlap

    async def old_refused_everywhere() -> bool:
        return all([await status(url, old["api_key"]) == 401 for url in two_gateways])

    await wait_for(old_refused_everywhere, timeout=20, interval=0.2, what="the old key to expire")
    for url in two_gateways:
        assert await status(url, new) == 200


async def test_a_rotation_without_overlap_refuses_the_old_key_at_once(
    stack: Stack, two_gateways: list[str], portal: str
) -> None:
    old = run(stack, "create", "--portal", portal)
    for url in two_gateways:
        assert await status(url, old["api_key"]) == 200
    new = run(stack, "rotate", old["key_id"])["api_key"]
    for url in two_gateways:
        assert await status(url, old["api_key"]) == 401
        assert await status(url, new) == 200


async def test_the_list_shows_each_key_and_its_state_but_no_secret(stack: Stack, portal: str) -> None:
    first = run(stack, "create", "--portal", portal, "--label", "một")
    second = run(stack, "create", "--portal", portal, "--label", "hai")
    run(stack, "revoke", first["key_id"])
    done = stack.command("portal", "key", "list", "--portal", portal)
    assert done.returncode == 0, done.stderr
    listed = {k["key_id"]: k for k in json.loads(done.stdout)["keys"]}
    assert listed[first["key_id"]]["state"] == "revoked"
    assert listed[second["key_id"]]["state"] == "active"
    assert listed[second["key_id"]]["label"] == "hai"
    for token in (first["api_key"], second["api_key"]):
        assert keys.parse(token)[1] not in done.stdout  # type: ignore[index]
    assert "secret_hash" not in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("revoke", "key_0000000000000000000000nope"),
        ("rotate", "key_0000000000000000000000nope"),
        ("create", "--portal", "ptl_nope"),
        ("list", "--portal", "ptl_nope"),
        ("rotate", "key_x", "--overlap-seconds", "-1"),
        ("rate-limit", "--portal", "ptl_nope", "10"),
        ("rate-limit", "--portal", "ptl_nope", "many"),
    ],
)
def test_the_command_refuses_what_does_not_exist(stack: Stack, args: tuple[str, ...]) -> None:
    done = stack.command("portal", *args) if args[0] == "rate-limit" else stack.command("portal", "key", *args)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip()


@pytest.fixture
def gateway_on_private_redis(
    stack: Stack, private_redis: tuple[str, subprocess.Popen[bytes]]
) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """A gateway process caching keys, on a Redis the test may stop."""
    redis_url, server = private_redis
    process, url = stack.start_gateway("gateway-keys-redis", REDIS_URL=redis_url, **CACHED)
    try:
        yield url, redis_url, server
    finally:
        process.stop()


async def test_without_redis_a_revoked_key_is_refused_within_the_fallback_time(
    stack: Stack, portal: str, gateway_on_private_redis: tuple[str, str, subprocess.Popen[bytes]]
) -> None:
    url, redis_url, server = gateway_on_private_redis
    created = run(stack, "create", "--portal", portal)
    assert await status(url, created["api_key"]) == 200  # cached, with Redis's revocation count
    # Redis goes away: the process can no longer learn of revocations, nor can the command announce one.
    server.terminate()
    server.wait(timeout=10)
    revoked_at = time.monotonic()
    done = stack.command("portal", "key", "revoke", created["key_id"], REDIS_URL=redis_url)
    assert done.returncode == 0, done.stderr
    assert "AUTH_CACHE_SECONDS" in done.stderr  # the operator is told how long other processes may still take it

    async def refused() -> bool:
        return await status(url, created["api_key"]) == 401

    await wait_for(refused, timeout=10, interval=0.1, what="the revoked key to be refused")
    assert time.monotonic() - revoked_at < 2 + 2  # the fallback time, and slack for the command and the poll
