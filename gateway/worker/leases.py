"""Jobs under way hold a lease, renewed while the worker lives, instead of a mark as long as the longest job.

arq marks a job it starts as in progress for one span for every job, the longest function's timeout (half an hour
for a reconciliation run), and no other worker starts the job until the mark expires. A worker killed outright
(SIGKILL, the machine lost, out of memory) leaves its jobs marked for that span; worse, arq reads the queue from its
head, a hundred jobs at a time, so a few killed workers' marked jobs at the head keep every job behind them, the
scheduled sweeps included, from starting until the marks expire.

Here the mark is a lease of ``lease_seconds``; the worker renews the leases of its jobs every ``renew_seconds``
from a task of its own (not the poll loop's turn, which may wait on a free slot), until the last of them has ended:
also while it closes, after losing Redis or on SIGTERM. A dead worker's jobs, and the queue behind them, wait at
most a lease. A renewal only ever extends a mark (a finished cron job's longer one is left as it is) and never
brings back one that is gone.

Each function's own timeout still ends a stuck job. A job whose worker stalls for longer than a lease (its event
loop blocked, Redis unreachable for most of a lease) may be started by another worker meanwhile; the worker says so
("job lease lost") when it has not renewed for a whole lease. Every job here allows
that: each is safe to run twice, and the receipts', deliveries' and runs' own claims in the database keep the
outcome single.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.commands.core import AsyncScript

log = logging.getLogger("gateway.worker")

LEASE_SECONDS = 60
RENEW_SECONDS = 15

# Extend each mark to the lease when it is shorter; a mark that is gone stays gone (the job has just finished, or
# its lease ran out and another worker may hold it now).
RENEW_SCRIPT = """
local lease = tonumber(ARGV[1])
local extended = 0
for _, key in ipairs(KEYS) do
  local left = redis.call('PTTL', key)
  if left >= 0 and left < lease then
    redis.call('PEXPIRE', key, lease)
    extended = extended + 1
  end
end
return extended
"""


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
        self._renewing: asyncio.Task[None] | None = None
        self._script: AsyncScript | None = None

    async def main(self) -> None:
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.create_task(self._renew_leases(), name="renew job leases")
        await super().main()

    async def close(self) -> None:
        """arq's close waits for the jobs under way, then closes; they keep their leases until they have ended."""
        try:
            under_way = [task for task in self.tasks.values() if not task.done()]
            if under_way:
                await asyncio.gather(*under_way, return_exceptions=True)
        finally:
            await self._stop_renewing()
        await super().close()

    async def renew(self) -> int:
        """Extend the lease of every job under way; how many marks were extended."""
        job_ids = running(self.tasks)
        if not job_ids or self._pool is None:
            return 0
        if self._script is None:
            self._script = self._pool.register_script(RENEW_SCRIPT)
        keys = [in_progress_key_prefix + job_id for job_id in job_ids]
        return int(await self._script(keys=keys, args=[self._lease_ms]))

    @property
    def _lease_ms(self) -> int:
        return int(self.in_progress_timeout_s * 1000)

    async def _renew_leases(self) -> None:
        """Renew on a fixed schedule, each attempt cut at ``renew_seconds``: the third attempt after the last
        success still comes before the lease ends, however long the failed ones waited on Redis."""
        loop = asyncio.get_running_loop()
        renewed_at = turn = loop.time()
        while True:
            turn += self.renew_seconds
            await asyncio.sleep(max(0.0, turn - loop.time()))
            turn = max(turn, loop.time() - self.renew_seconds)  # after a stall, the schedule starts again from now
            renewed = False
            try:
                async with asyncio.timeout(self.renew_seconds):
                    await self.renew()
                renewed = True
            except Exception as exc:  # Redis away, most likely; the next turn tries again
                log.warning("job leases not renewed", extra={"error": f"{type(exc).__name__}: {exc}"})
            if loop.time() - renewed_at > self.in_progress_timeout_s:  # a whole lease without a renewal (Redis
                for job_id in running(self.tasks):  # away, or the loop stalled): any of them may have been taken
                    log.warning("job lease lost: another worker may start the job too", extra={"job_id": job_id})
            if renewed:
                renewed_at = loop.time()

    async def _stop_renewing(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
            self._renewing = None
