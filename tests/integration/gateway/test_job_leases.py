"""A job under way holds a lease that only a living worker renews. A worker killed outright frees its jobs within a
lease, however many it held and whatever the longest job's timeout, and they hold up nothing queued behind them; a
living worker's long job is never started a second time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from arq.connections import ArqRedis
from arq.constants import health_check_key_suffix, in_progress_key_prefix

from tests.support.processes import ROOT
from tests.support.services import require_redis, wait_for

pytestmark = pytest.mark.redis

LEASE = 2.0  # seconds; the jobs' own timeout is half an hour


@contextmanager
def worker(redis: ArqRedis, max_jobs: int = 20) -> Iterator[subprocess.Popen[bytes]]:
    args = [require_redis(), redis.default_queue_name, str(LEASE), str(max_jobs)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.lease_worker", *args], cwd=ROOT, start_new_session=True
    )
    try:
        yield process
    finally:
        kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the worker ends with no chance to tidy up, as on a lost machine or an out-of-memory kill."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


async def counts(redis: ArqRedis, what: str) -> dict[str, int]:
    raw = await redis.hgetall(f"{redis.default_queue_name}:{what}")
    return {k.decode(): int(v) for k, v in raw.items()}


async def enqueue(redis: ArqRedis, name: str) -> None:
    assert await redis.enqueue_job("hold", name, _job_id=f"{redis.default_queue_name}:{name}") is not None


async def test_a_killed_workers_jobs_start_again_within_a_lease_and_hold_up_nothing_behind_them(
    redis: ArqRedis,
) -> None:
    held = [f"j{n}" for n in range(120)]  # more than a worker reads from the head of the queue at a time
    for name in held:
        await enqueue(redis, name)
    with worker(redis, max_jobs=len(held)) as first:
        await wait_for(lambda: _started(redis, held), timeout=60, what="the first worker to start every job")
        lease_left = await redis.pttl(f"{in_progress_key_prefix}{redis.default_queue_name}:j0")
        assert 0 < lease_left <= LEASE * 1000, "a started job is marked for a lease, not for its whole timeout"
        kill(first)

    await redis.set(f"{redis.default_queue_name}:go", 1)
    await enqueue(redis, "behind")
    with worker(redis):
        await wait_for(lambda: _ended(redis, [*held, "behind"]), timeout=LEASE * 10, what="every job, on the second")
    starts = await counts(redis, "starts")
    assert starts.pop("behind") == 1 and set(starts.values()) == {2}, "each killed job started once more"


async def test_a_living_workers_long_job_keeps_its_lease_and_starts_once(redis: ArqRedis) -> None:
    await enqueue(redis, "long")
    in_progress = f"{in_progress_key_prefix}{redis.default_queue_name}:long"
    health = redis.default_queue_name + health_check_key_suffix
    with worker(redis, max_jobs=1):  # every slot busy: its poll loop takes no job, the renewals go on
        await wait_for(lambda: _started(redis, ["long"]), timeout=30, what="the first worker to start the job")
        await enqueue(redis, "next")
        await redis.delete(health)  # the first worker writes it again only in an hour: a new one is the second's
        with worker(redis):
            await wait_for(lambda: redis.exists(health), timeout=30, what="the second worker to poll the queue")
            renewals = Renewals(redis, in_progress)
            await wait_for(renewals.seen, timeout=LEASE * 5, interval=0.02, what="leases renewed over 2.5 leases")
            await redis.set(f"{redis.default_queue_name}:go", 1)
            await wait_for(lambda: _ended(redis, ["long", "next"]), timeout=30, what="the jobs to end")
    assert await counts(redis, "starts") == {"long": 1, "next": 1}


async def test_a_worker_that_lost_redis_keeps_its_running_jobs_leases_until_they_end(redis: ArqRedis) -> None:
    await enqueue(redis, "long")
    queue = redis.default_queue_name
    health = queue + health_check_key_suffix
    with worker(redis) as first:
        await wait_for(lambda: _started(redis, ["long"]), timeout=30, what="the first worker to start the job")
        await redis.set(f"{queue}:lose-redis:{first.pid}", 1)
        await wait_for(lambda: redis.exists(f"{queue}:main-ended:{first.pid}"), timeout=30, what="its poll to fail")
        await redis.delete(health)
        with worker(redis):
            await wait_for(lambda: redis.exists(health), timeout=30, what="the second worker to poll the queue")
            renewals = Renewals(redis, f"{in_progress_key_prefix}{queue}:long")
            await wait_for(renewals.seen, timeout=LEASE * 5, interval=0.02, what="leases renewed over 2.5 leases")
            await redis.set(f"{queue}:go", 1)
            await wait_for(lambda: _ended(redis, ["long"]), timeout=30, what="the job to end")
        assert first.wait(timeout=30) != 0, "the first worker ends, with the error it met, once its job has ended"
    assert await counts(redis, "starts") == {"long": 1}


class Renewals:
    """True once the lease has been renewed often enough to span ``LEASE * 2.5`` while the other worker polled."""

    def __init__(self, redis: ArqRedis, key: str, wanted: int = 10) -> None:
        self.redis, self.key, self.wanted = redis, key, wanted
        self.renewed, self.last = 0, -1

    async def seen(self) -> bool:
        left = await self.redis.pttl(self.key)
        assert left > 0, "the lease of a running job ran out"
        if left > self.last >= 0:
            self.renewed += 1
        self.last = left
        return self.renewed >= self.wanted


async def _started(redis: ArqRedis, names: list[str]) -> bool:
    starts = await counts(redis, "starts")
    return all(starts.get(name) for name in names)


async def _ended(redis: ArqRedis, names: list[str]) -> bool:
    ends = await counts(redis, "ends")
    return all(ends.get(name) for name in names)
