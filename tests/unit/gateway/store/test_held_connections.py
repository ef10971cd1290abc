"""Checked units' connections on PostgreSQL are held between units, out of their engine's pool: a unit hands its
connection to the next as it left it, never more than the pool's size are out, and one the server closed, one
that idled past its ping and one a unit left in doubt are replaced, as the pool replaces its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from gateway.kernel.errors import Refused
from gateway.store.db import Database, DatabaseUnavailable, Limits
from gateway.store.uow import UnitOfWork
from tests.support.services import migrated_url, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_url("postgres", tmp_path) as url:
        database = Database.from_url(url, Limits(pool_size=2, pool=0.5))
        try:
            yield database
        finally:
            await database.dispose()


async def backend(uow: UnitOfWork) -> int:
    return int((await uow.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def checked_out(db: Database) -> int:
    """How many connections the checked units' engine has out of its pool."""
    assert db._held is not None
    return int(db._held.engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


async def terminate(db: Database, pid: int) -> None:
    async with db.transaction() as conn:
        assert (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()


async def test_a_unit_hands_its_connection_to_the_next_without_the_pool(db: Database) -> None:
    async with db.checked_unit() as uow:
        first = await backend(uow)
    async with db.checked_unit() as uow:
        assert await backend(uow) == first
    assert checked_out(db) == 1, "held, not checked back into the pool"
    with pytest.raises(Refused):  # the unit's own refusal leaves the connection sound: held still
        async with db.checked_unit() as uow:
            assert await backend(uow) == first
            raise Refused("not_found")
    async with db.checked_unit() as uow:
        assert await backend(uow) == first
    async with db.unit() as uow:  # an ordinary unit's connection is another, from the other pool
        assert await backend(uow) != first  # type: ignore[arg-type]


async def test_checked_units_keep_their_plans_and_ordinary_units_plan_as_the_server_decides(db: Database) -> None:
    """A checked unit's statements find rows by key and are planned once (not again at every run, as PostgreSQL
    does by default for ``= ANY`` of an array parameter); an ordinary unit's may read by range, and keep the
    server's choice."""
    setting = text("SELECT current_setting('plan_cache_mode')")
    async with db.checked_unit() as uow:
        assert (await uow.conn.execute(setting)).scalar_one() == "force_generic_plan"
    async with db.unit() as uow:
        assert (await uow.conn.execute(setting)).scalar_one() == "auto"


async def held_until(db: Database, leave: asyncio.Event, count: int) -> list[asyncio.Task[int]]:
    """``count`` checked units under way, each holding its connection until ``leave`` is set; each task returns its
    connection's backend pid."""
    entered = [asyncio.Event() for _ in range(count)]

    async def holding(i: int) -> int:
        async with db.checked_unit() as uow:
            pid = await backend(uow)
            entered[i].set()
            await leave.wait()
            return pid

    units = [asyncio.create_task(holding(i)) for i in range(count)]
    await asyncio.gather(*(event.wait() for event in entered))
    return units


async def test_no_more_than_the_pool_size_are_out_and_a_unit_waits_its_bound(db: Database) -> None:
    leave = asyncio.Event()
    holders = await held_until(db, leave, 2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(DatabaseUnavailable, match="came free"):
        async with db.checked_unit():
            pass
    assert 0.4 <= loop.time() - started < 5
    leave.set()
    pids = await asyncio.gather(*holders)
    assert len(set(pids)) == 2
    async with db.checked_unit() as uow:  # the slot the refused one waited for was given back
        assert await backend(uow) in pids
    assert checked_out(db) == 2


async def test_a_connection_the_server_closed_is_replaced(db: Database) -> None:
    async with db.checked_unit() as uow:
        first = await backend(uow)
    await terminate(db, first)
    failures = 0
    for _ in range(3):  # the driver sees the close at once or at the next statement: at most one unit fails
        try:
            async with db.checked_unit() as uow:
                second = await backend(uow)
            break
        except DatabaseUnavailable:
            failures += 1
    assert failures <= 1
    assert second != first
    async with db.checked_unit() as uow:
        assert await backend(uow) == second


async def test_a_connection_idle_past_its_ping_is_pinged_and_replaced_with_those_held_beside_it(db: Database) -> None:
    assert db._held is not None
    release = asyncio.Event()
    both = await held_until(db, release, 2)
    release.set()
    pids = await asyncio.gather(*both)
    assert checked_out(db) == 2
    for pid in pids:
        await terminate(db, pid)
    pings: list[str] = []
    event.listen(db._held.engine.sync_engine, "before_cursor_execute", lambda *args: pings.append(args[2]))
    db._held.idle_ping = -1.0  # every held connection is "idle too long": pinged before use
    async with db.checked_unit() as uow:  # no unit fails: the ping finds them gone first
        fresh = await backend(uow)
    # the driver may have seen the close already (then no ping is needed); else the first is pinged, and only it
    assert pings.count("SELECT 1") <= 1, "one ping a unit: the other one held is dropped with the first"
    assert fresh not in pids
    await wait_for(lambda: checked_out(db) == 1, what="both old ones returned")


async def test_a_unit_left_in_doubt_gives_its_connection_back_to_the_pool(db: Database) -> None:
    async with db.checked_unit() as uow:
        await backend(uow)
    assert checked_out(db) == 1
    with pytest.raises(ZeroDivisionError):
        async with db.checked_unit() as uow:
            await backend(uow)
            _ = 1 / 0
    await wait_for(lambda: checked_out(db) == 0, what="returned to the pool, which reset it")

    async def slow(uow: UnitOfWork) -> Any:
        return await uow.conn.execute(text("SELECT pg_sleep(5)"))

    async def cancelled() -> None:
        async with db.checked_unit() as uow:
            await slow(uow)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(cancelled(), 0.3)
    await wait_for(lambda: checked_out(db) == 0, what="the cancelled unit's connection returned")
    async with db.checked_unit() as uow:  # and the next unit works
        assert (await uow.conn.execute(text("SELECT 1"))).scalar_one() == 1


async def test_a_unit_that_ends_after_the_database_is_closed_does_not_keep_its_connection(db: Database) -> None:
    assert db._held is not None
    leave = asyncio.Event()
    (late,) = await held_until(db, leave, 1)
    await db._held.close()
    leave.set()
    await late
    await wait_for(lambda: checked_out(db) == 0, what="the late unit's connection returned, not held")


async def test_a_connection_left_in_a_transaction_is_discarded_not_kept(db: Database) -> None:
    async with db.checked_unit() as uow:
        first = await backend(uow)
        await uow.conn.exec_driver_sql("BEGIN")  # nothing a unit does; were it done, the next unit would inherit it
    async with db.checked_unit() as uow:
        assert await backend(uow) != first
    await wait_for(lambda: checked_out(db) == 1, what="the one left in a transaction discarded")
    async with db.transaction() as conn:
        states = await conn.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": first})
        assert states.scalars().all() == []


async def test_a_connection_idle_past_its_ping_that_answers_it_is_kept(db: Database) -> None:
    assert db._held is not None
    async with db.checked_unit() as uow:
        first = await backend(uow)
    pings: list[str] = []
    event.listen(db._held.engine.sync_engine, "before_cursor_execute", lambda *args: pings.append(args[2]))
    db._held.idle_ping = -1.0
    async with db.checked_unit() as uow:
        assert pings == ["SELECT 1"], "pinged before the unit's first statement"
        assert await backend(uow) == first
    db._held.idle_ping = 60.0
    async with db.checked_unit() as uow:
        assert await backend(uow) == first
    assert pings.count("SELECT 1") == 1, "not pinged when used within the ping time"
