"""No event is lost when the worker is killed mid-run, or when Redis goes away and comes back."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from gateway import embedded
from tests.support.services import create_pg_database, drop_pg_database, free_port, wait_for
from tests.support.stack import Stack
from tests.support.webhook_receiver import Receiver

from .conftest import Portal, new_portal, point, states, write_events


async def test_killing_the_worker_repeatedly_loses_no_event_of_ten_thousand(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    ids = await write_events(stack.db, portal.portal_id, 10_000, dossiers=1_000)
    try:
        for round_ in range(1, 4):
            await wait_for(lambda r=round_: len(receiver.unique()) >= r * 1_500, timeout=120, what=f"round {round_}")
            stack.processes["worker"].kill(signal.SIGKILL)
            stack.start_worker()
        await wait_for(lambda: len(receiver.unique()) == len(ids), timeout=300, what="all 10,000 events")
    finally:
        if stack.processes["worker"].process.poll() is not None:  # type: ignore[union-attr]
            stack.start_worker()
    assert set(receiver.unique()) == set(ids)
    assert all(d.verified for d in receiver.deliveries)

    async def recorded() -> bool:
        return await states(stack.db, portal.portal_id) == {"delivered": len(ids)}  # type: ignore[arg-type]

    await wait_for(recorded, timeout=30, what="every event recorded as delivered")
    by_dossier: dict[str, list[int]] = {}
    for event in receiver.unique().values():
        by_dossier.setdefault(event["dossier_code"], []).append(event["sequence"])
    assert all(seq == sorted(seq) for seq in by_dossier.values())


@pytest.fixture
async def own_redis_stack(stack: Stack, tmp_path: Path) -> AsyncIterator[tuple[Stack, int]]:
    """A second stack on a Redis server of its own, which the test may stop (never the shared one)."""
    port = free_port()
    server = embedded.start_redis(tmp_path / "redis", port)
    url = await create_pg_database() if stack.backend == "postgres" else f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"
    own = Stack(backend=stack.backend, database_url=url, redis_url=f"redis://127.0.0.1:{port}/0", workdir=tmp_path)
    try:
        await own.start()
        yield own, port
    finally:
        await own.stop()
        server.terminate()
        server.wait(timeout=10)
        if stack.backend == "postgres":
            await drop_pg_database(url)


async def test_stopping_redis_mid_run_and_starting_it_again_loses_no_event(
    own_redis_stack: tuple[Stack, int], receiver: Receiver, tmp_path: Path
) -> None:
    own, port = own_redis_stack
    assert own.db is not None
    portal_id, api_key = await new_portal(own, "Cổng Redis")
    async with own.client(api_key) as api:
        await point(Portal(portal_id, api), receiver)
    ids = await write_events(own.db, portal_id, 3_000, dossiers=300)
    await wait_for(lambda: len(receiver.unique()) >= 300, timeout=60, what="deliveries under way")
    try:
        redis.Redis(port=port).shutdown(nosave=True)  # the test's own server; events keep being written meanwhile
    except redis.exceptions.ConnectionError:
        pass  # it hung up as it went down
    more = await write_events(own.db, portal_id, 500, dossiers=50)
    await asyncio.sleep(3)  # an outage of a few seconds, not a synchronisation
    assert not embedded.answers(f"redis://127.0.0.1:{port}/0")
    restarted = embedded.start_redis(tmp_path / "redis", port)
    try:
        await wait_for(lambda: len(receiver.unique()) == len(ids) + len(more), timeout=180, what="every event")
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    assert set(receiver.unique()) == set(ids) | set(more)
