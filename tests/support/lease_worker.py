"""A worker on a queue of its own, for the lease tests: ``python -m tests.support.lease_worker REDIS_URL QUEUE
LEASE MAX_JOBS``. Its one function, ``hold``, counts its start in Redis, then waits until the key ``<queue>:go``
exists. Once the key ``<queue>:lose-redis:<pid>`` exists, its poll of the queue fails as on losing Redis, and it
says when its main loop has ended (``<queue>:main-ended:<pid>``)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from arq.connections import RedisSettings
from arq.worker import func
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.worker.leases import LeasedWorker


async def hold(ctx: dict[str, Any], name: str) -> str:
    queue = ctx["queue"]
    await ctx["redis"].hincrby(f"{queue}:starts", name, 1)
    while not await ctx["redis"].exists(f"{queue}:go"):
        await asyncio.sleep(0.05)
    await ctx["redis"].hincrby(f"{queue}:ends", name, 1)
    return name


class LosingWorker(LeasedWorker):
    async def main(self) -> None:
        try:
            await super().main()
        finally:
            await self.pool.set(f"{self.queue_name}:main-ended:{os.getpid()}", 1)

    async def _poll_iteration(self) -> None:
        if await self.pool.exists(f"{self.queue_name}:lose-redis:{os.getpid()}"):
            raise RedisConnectionError("the poll failed, as when Redis is lost")
        await super()._poll_iteration()


def worker(redis_url: str, queue: str, lease: float, max_jobs: int) -> LeasedWorker:
    return LosingWorker(
        functions=[func(hold, name="hold", timeout=1800)],  # arq alone would mark each start for half an hour
        redis_settings=RedisSettings.from_dsn(redis_url),
        queue_name=queue,
        ctx={"queue": queue},
        max_jobs=max_jobs,
        poll_delay=0.05,
        lease_seconds=lease,
        renew_seconds=lease / 4,
        handle_signals=False,
    )


if __name__ == "__main__":
    url, name, lease_s, jobs = sys.argv[1:5]
    worker(url, name, float(lease_s), int(jobs)).run()
