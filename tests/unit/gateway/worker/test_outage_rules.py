"""Which errors mean "the database cannot answer now", and what the web edge and the jobs make of them."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import pytest
from arq.worker import Retry
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from gateway import broker
from gateway.jobs import retried, retry_delay, scheduled
from gateway.settings import SettingsError, load
from gateway.store.db import Database, DatabaseUnavailable, Limits, is_unavailable
from gateway.worker import create_worker


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(cause: BaseException, invalidated: bool = False) -> sa_exc.DBAPIError:
    error = sa_exc.DBAPIError("SELECT 1", {}, cause, connection_invalidated=invalidated)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error",
    [
        sa_exc.TimeoutError("QueuePool limit reached"),
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(104, "reset"),
        TimeoutError(),
        OSError("Multiple exceptions: [Errno 111] ..."),
        wrapped(Exception("closed"), invalidated=True),
        wrapped(DriverError("57014")),  # statement timeout
        wrapped(DriverError("57P03")),  # starting up
        wrapped(DriverError("08006")),  # connection failure
        wrapped(DriverError("53300")),  # too many connections
        DriverError("57P01"),  # raw from the driver while connecting
        sa_exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")),
    ],
)
def test_outages_are_recognised(error: BaseException) -> None:
    if isinstance(error, sa_exc.OperationalError):
        error.__cause__ = error.orig
    assert is_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(DriverError("23505")),  # unique violation: the caller's business
        wrapped(DriverError("42P01")),  # no such table: a bug, not an outage
        sa_exc.IntegrityError("INSERT", {}, Exception("duplicate")),
        sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")),
        FileNotFoundError(2, "no key file"),
        ValueError("bad"),
    ],
)
def test_mistakes_are_not_outages(error: BaseException) -> None:
    assert not is_unavailable(error)


async def test_sqlite_lock_wait_is_bounded_by_the_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    holder, waiter = Database.from_url(url), Database.from_url(url, Limits(busy=0.3))
    try:
        async with holder.transaction() as tx:
            await tx.execute(text("CREATE TABLE t (x INTEGER)"))
        async with holder.transaction() as tx:
            await tx.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(DatabaseUnavailable):
                async with waiter.transaction() as other:
                    await other.execute(text("INSERT INTO t VALUES (2)"))
            assert loop.time() - started < 5
        async with waiter.read() as conn:  # and the waiter's pool is fine afterwards
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_a_queued_job_is_retried_later_over_an_outage() -> None:
    calls: list[int] = []

    @retried
    async def job(ctx: dict, value: int) -> int:
        calls.append(value)
        if len(calls) == 1:
            raise DatabaseUnavailable("down")
        return value

    with pytest.raises(Retry) as raised:
        await job({"job_try": 3}, 7)
    assert raised.value.defer_score == retry_delay(3) * 1000
    assert await job({"job_try": 4}, 7) == 7
    assert job.__qualname__.endswith("job")  # arq names jobs after it


async def test_a_scheduled_job_skips_its_run_over_an_outage_but_not_a_bug() -> None:
    @scheduled
    async def tick(ctx: dict) -> dict:
        raise DatabaseUnavailable("down")

    assert await tick({}) == {"skipped": "database_unavailable"}

    @scheduled
    async def broken(ctx: dict) -> dict:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await broken({})


def test_retry_delays_back_off_and_stay_bounded() -> None:
    delays = [retry_delay(n) for n in range(1, 15)]
    assert delays == sorted(delays) and delays[-1] == 60


def test_sentinels_are_read_from_settings() -> None:
    settings = load(
        {
            "PAYHUB_HASH_KEY": "k",
            "REDIS_SENTINELS": "10.0.0.1:26379, sentinel-2:26380",
            "REDIS_URL": "redis://:pw@ignored:6379/3",
            "REDIS_SENTINEL_MASTER": "gateway",
        }
    )
    config = broker.redis_settings(settings)
    assert config.sentinel and config.sentinel_master == "gateway"
    assert config.host == [("10.0.0.1", 26379), ("sentinel-2", 26380)]
    assert (config.database, config.password) == (3, "pw")
    with pytest.raises(SettingsError):
        broker.sentinels(load({"PAYHUB_HASH_KEY": "k", "REDIS_SENTINELS": "no-port"}))


def test_the_worker_holds_its_jobs_on_a_lease_it_renews_in_time() -> None:
    worker = create_worker(load({"PAYHUB_HASH_KEY": "k", "WORKER_LEASE_SECONDS": "40"}))
    try:
        assert (worker.in_progress_timeout_s, worker.renew_seconds) == (40, 10)
    finally:  # the worker took SIGINT and SIGTERM for its loop: give them back to the test run
        for signum in (signal.SIGINT, signal.SIGTERM):
            worker.loop.remove_signal_handler(signum)
    for too_short in ("1", "0", "-5", "19"):  # 19: under 4 × the 5 s Redis timeout
        with pytest.raises(SettingsError):
            load({"PAYHUB_HASH_KEY": "k", "WORKER_LEASE_SECONDS": too_short})
    assert load({"PAYHUB_HASH_KEY": "k", "WORKER_LEASE_SECONDS": "8", "REDIS_TIMEOUT_SECONDS": "2"})


def test_the_worker_asks_for_queued_jobs_as_often_as_set() -> None:
    worker = create_worker(load({"PAYHUB_HASH_KEY": "k", "WORKER_POLL_SECONDS": "0.3"}))
    try:
        assert worker.poll_delay_s == 0.3
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            worker.loop.remove_signal_handler(signum)
    assert load({"PAYHUB_HASH_KEY": "k"}).worker_poll_seconds == 0.05
    for wrong in ("0", "-1", "6", "soon"):
        with pytest.raises(SettingsError):
            load({"PAYHUB_HASH_KEY": "k", "WORKER_POLL_SECONDS": wrong})


def test_a_delivery_claim_must_hold_at_least_one_whole_send() -> None:
    for lease, timeout in (("15", "10"), ("12", "7.5")):  # no send could start and end 5 s before the claim does
        with pytest.raises(SettingsError):
            load({"PAYHUB_HASH_KEY": "k", "DELIVERY_LEASE_SECONDS": lease, "WEBHOOK_TIMEOUT_SECONDS": timeout})
    assert load({"PAYHUB_HASH_KEY": "k", "DELIVERY_LEASE_SECONDS": "16", "WEBHOOK_TIMEOUT_SECONDS": "10"})
