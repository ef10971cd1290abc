"""Jobs under way hold a lease, renewed while the worker lives, instead of a mark as long as the longest job.

arq marks a job it starts as in progress for one span for every job, the longest function's timeout (half an hour
for a reconciliation run), and no other worker starts the job until the mark expires. A worker killed outright
(SIGKILL, the machine lost, out of memory) leaves its jobs marked for that span; worse, arq reads the queue from its
head, a hundred jobs at a time, so a few killed workers' marked jobs at the head keep every job behind them, the
scheduled sweeps included, from starting at all.

Here the mark is a lease of ``LEASE_SECONDS``; the living worker renews the leases of its running jobs every
``RENEW_SECONDS``, from a task of its own (the poll loop waits while every slot is busy). A dead worker's jobs are
free again within a lease. Each function's own timeout still ends a stuck job; a job whose event loop stalls
longer than a lease may be started by another worker meanwhile, which every job here allows (each is safe to run
twice, and the receipts', deliveries' and runs' own locks in the database keep the outcome single).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.exceptions import RedisError

log = logging.getLogger("gateway.worker")

LEASE_SECONDS = 60
RENEW_SECONDS = 15


def running(tasks: dict[str, asyncio.Task[Any]]) -> list[str]:
    """The ids of the jobs still under way."""
    return [job_id for job_id, task in tasks.items() if not task.done()]


class LeasedWorker(Worker):
    def __init__(self, *args: Any, lease_seconds: float = LEASE_SECONDS, renew_seconds: float = RENEW_SECONDS,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        if renew_seconds >= lease_seconds:
            raise ValueError("a lease must be renewed before it ends")
        self.in_progress_timeout_s = lease_seconds  # arq's mark on a started job, now a lease
        self.renew_seconds = renew_seconds

    async def main(self) -> None:
        renewing = asyncio.create_task(self._renew_leases(), name="renew job leases")
        try:
            await super().main()
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def renew(self) -> int:
        """Extend the lease of every job under way; how many were renewed."""
        job_ids = running(self.tasks)
        if not job_ids:
            return 0
        lease_ms = int(self.in_progress_timeout_s * 1000)
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.pexpire(in_progress_key_prefix + job_id, lease_ms)  # a finished job's mark is not brought back
            renewed = await pipe.execute()
        return sum(bool(r) for r in renewed)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            if self._pool is None:
                continue
            try:
                await self.renew()
            except (RedisError, OSError) as exc:  # the poll loop meets the same outage and the worker restarts
                log.warning("job leases not renewed", extra={"error": str(exc)})
