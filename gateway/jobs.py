"""The worker's vocabulary in one place: job names and ids, timeouts, retry policy and schedules, and the Redis key
prefixes the gateway's processes share. ``JobQueue`` is how the web app and the jobs ask the worker for work."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from arq.worker import Retry
from redis.commands.core import AsyncScript

from gateway.settings import Settings
from gateway.store.db import DatabaseUnavailable

log = logging.getLogger("gateway.jobs")

# ---------------------------------------------------------------- names, ids and timeouts
ISSUE_RECEIPT = "issue_receipt"
DELIVER_EVENTS = "deliver_events"
RESOLVE_BREAKS = "reconciliation_resolve"
RECONCILE = {"settlement": "reconcile_settlement", "cod": "reconcile_cod"}  # a day's run, by kind

JOB_TIMEOUT_SECONDS = 120  # the worker's default
ISSUE_TIMEOUT_SECONDS = 30  # a stuck issuance ends after this; a killed worker's job waits out its lease
SWEEP_TIMEOUT_SECONDS = 60
JANITOR_TIMEOUT_SECONDS = 120
RELAY_TIMEOUT_SECONDS = 60
DELIVER_TIMEOUT_SECONDS = (
    300  # a batch stops sending before its lease ends (deliveries.dispatch); this stops a stuck one
)
FEED_TIMEOUT_SECONDS = 60
FEED_MAX_PAGES = 20  # per run; the next run continues from the cursor
BOOKING_TIMEOUT_SECONDS = 60
RESOLVE_TIMEOUT_SECONDS = 900  # one hub query per break of a settlement run


def receipt_job_id(source_type: str, source_id: str) -> str:
    """One receipt job per source: a source announced twice while its job waits is queued once."""
    return f"receipt:{source_type}:{source_id}"


def delivery_job_id(token: str, index: int) -> str:
    return f"deliver:{token}:{index}"


def resolve_job_id(run_id: str) -> str:
    """One automatic resolution per settlement run."""
    return f"reconciliation-resolve:{run_id}"


def reconcile_job_id(queue: str, kind: str, day: str, asked_at: str) -> str:
    """A day's run asked for by hand: asked twice within the same minute (a double click), it is queued once. arq's
    job keys are global to the Redis database, so the id names the deployment's queue: another deployment sharing
    the Redis that asks for the same day in the same minute gets its own run."""
    return f"reconcile:{queue}:{kind}:{day}:{asked_at}"


# ---------------------------------------------------------------- Redis keys shared by the gateway's processes
def redis_key(settings: Settings, name: str) -> str:
    """A key of this deployment (``queue_name`` is its namespace): ``api-rate``, ``lookup-rate``, ``signin-rate``,
    ``auth-revocations``, ``return-query:<reference>``."""
    return f"{settings.queue_name}:{name}"


# ---------------------------------------------------------------- what a job does in a database outage
# Seconds before the next try, by try number; the last one repeats. MAX_TRIES of them span about seven minutes,
# after which the sweepers and relays (which find their work in the database) take over.
RETRY_DELAYS = (1, 2, 5, 10, 30, 60)
MAX_TRIES = 12

Job = TypeVar("Job", bound=Callable[..., Awaitable[Any]])


def retry_delay(job_try: int) -> int:
    return RETRY_DELAYS[min(max(job_try, 1), len(RETRY_DELAYS)) - 1]


def retried(job: Job) -> Job:
    """A queued job: on a database outage, run it again later (same job id, so still exactly one); never failed
    for good over an outage, since a receipt to issue or a batch of events to deliver must not be dropped."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except DatabaseUnavailable as error:
            delay = retry_delay(int(ctx.get("job_try") or 1))
            extra = {"job": job.__name__, "in_seconds": delay, "error": str(error)}
            log.warning("database unavailable; job retried", extra=extra)
            raise Retry(defer=delay) from error

    return run  # type: ignore[return-value]


def scheduled(job: Job) -> Job:
    """A scheduled job: on a database outage, end this run quietly; the next one comes on schedule."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except DatabaseUnavailable as error:
            log.warning("database unavailable; run skipped", extra={"job": job.__name__, "error": str(error)})
            return {"skipped": "database_unavailable"}

    return run  # type: ignore[return-value]


def every(seconds: int) -> dict[str, Any]:
    """cron() arguments for 'every ``seconds``' (a divisor of 60 seconds, or a whole number of minutes)."""
    if seconds < 60:
        return {"second": set(range(0, 60, max(1, seconds)))}
    return {"minute": set(range(0, 60, max(1, seconds // 60))), "second": {0}}


# ---------------------------------------------------------------- asking for work
# arq's ``enqueue_job`` in one round trip instead of three (WATCH and EXISTS, then MULTI, PSETEX, ZADD, EXEC): the
# same keys and job, and the same rule, kept atomically by Redis: no second job while one with this id waits or
# its result is kept.
ENQUEUE_SCRIPT = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) ~= 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


# Receipt jobs asked for at once are queued together, in one pipeline of the script above, at most this many a
# round trip; a flush waits at most this long for Redis before saying so and giving up on what was asked for
# meanwhile too. At most RECEIPT_BACKLOG wait (Redis slow but answering); beyond, new ones are left to the sweeper,
# as are those still waiting when the process closes after DRAIN_SECONDS: nothing piles up, nothing hangs.
RECEIPT_BATCH = 256
RECEIPT_BACKLOG = 10_000
FLUSH_TIMEOUT_SECONDS = 5.0
DRAIN_SECONDS = 10.0


class JobQueue:
    """The worker's queue, once Redis is connected (``Container.start``)."""

    def __init__(self, redis: ArqRedis | None = None) -> None:
        self.redis = redis
        self._script: tuple[ArqRedis, AsyncScript] | None = None
        self._receipts: list[tuple[str, str]] = []
        self._left = 0  # asked for while the backlog was full, not yet said
        self._sending: list[tuple[str, str]] = []  # the batch of the flush under way
        self._flushing: asyncio.Task[None] | None = None

    async def enqueue(self, name: str, *args: Any, job_id: str) -> bool:
        """Queue ``name(*args)`` as job ``job_id`` as arq does, unless that job waits or its result is kept: whether
        it was queued now."""
        redis = self.redis
        assert redis is not None, "the queue is used before the container started"
        if self._script is None or self._script[0] is not redis:
            self._script = (redis, redis.register_script(ENQUEUE_SCRIPT))  # computes the digest; no round trip
        keys, args_ = _enqueue_arguments(redis, name, args, job_id)
        return bool(await self._script[1](keys=keys, args=args_))

    async def enqueue_many(self, name: str, jobs: list[tuple[tuple[Any, ...], str]]) -> list[bool]:
        """``enqueue`` for each of ``jobs`` (arguments, job id), in one round trip: whether each was queued now."""
        redis = self.redis
        assert redis is not None, "the queue is used before the container started"
        async with redis.pipeline(transaction=False) as pipe:
            for args, job_id in jobs:
                keys, args_ = _enqueue_arguments(redis, name, args, job_id)
                pipe.eval(ENQUEUE_SCRIPT, len(keys), *keys, *args_)
            answers = await pipe.execute(raise_on_error=False)
        refused = [(job_id, a) for (_, job_id), a in zip(jobs, answers, strict=True) if isinstance(a, Exception)]
        if refused:
            raise NotQueued([job_id for job_id, _ in refused], refused[0][1])
        return [bool(queued) for queued in answers]

    async def issue_receipt(self, source_type: str, source_id: str) -> None:
        """Ask for the receipt of a source that was just collected; returns at once and never raises. The receipts
        asked for while a flush is under way are queued together by the next one, so a busy process makes one Redis
        round trip for many. Queuing happens after the collection committed and may fail (Redis down, a crash in
        between), and the worker's sweeper issues collected sources without a receipt anyway: this is only the
        fast path."""
        if self.redis is None:
            return
        if len(self._receipts) >= RECEIPT_BACKLOG:
            self._left += 1
            return
        self._receipts.append((source_type, source_id))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_receipts())

    async def drain(self) -> None:
        """Queue the receipts asked for so far (on closing), for at most ``DRAIN_SECONDS``; what is left then is
        said and left to the sweeper."""
        flushing = self._flushing
        if flushing is not None and not flushing.done():
            await asyncio.wait({flushing}, timeout=DRAIN_SECONDS)
            if not flushing.done():
                flushing.cancel()
                left, self._receipts = self._sending + self._receipts, []
                _not_queued(left, "closing")
        if self._left:
            _not_queued([], f"{self._left} asked for beyond the backlog", self._left)
            self._left = 0

    async def _flush_receipts(self) -> None:
        while self._receipts or self._left:
            if self._left:  # asked for while the backlog was full
                _not_queued([], f"{self._left} asked for beyond the backlog", self._left)
                self._left = 0
            batch, self._receipts = self._receipts[:RECEIPT_BATCH], self._receipts[RECEIPT_BATCH:]
            if not batch:
                continue
            jobs = [((kind, source_id), receipt_job_id(kind, source_id)) for kind, source_id in batch]
            self._sending = batch
            try:
                async with asyncio.timeout(FLUSH_TIMEOUT_SECONDS):
                    await self.enqueue_many(ISSUE_RECEIPT, jobs)
                self._sending = []
            except NotQueued as error:  # Redis answered, refusing some (out of memory…): those alone
                self._sending = []
                _not_queued([source for source in batch if receipt_job_id(*source) in error.job_ids], str(error))
            except Exception as error:  # what waits behind it would wait as long: the sweeper has them all
                batch, self._receipts, self._sending = batch + self._receipts, [], []
                _not_queued(batch, str(error))

    async def resolve_breaks(self, run_id: str) -> None:
        """Queue the automatic resolution of a settlement run's breaks (``reconciliation_resolve``), once the run
        committed; the run's breaks stay open for staff if this fails, so the failure is logged, not raised."""
        if self.redis is None:
            return
        try:
            await self.enqueue(RESOLVE_BREAKS, run_id, job_id=resolve_job_id(run_id))
        except Exception as error:
            log.warning("automatic resolution not queued", extra={"run_id": run_id, "error": str(error)})

    async def reconcile(self, kind: str, day: str, started_by: str, asked_at: str) -> None:
        """Queue a day's run (``kind``: settlement or cod) that a staff member asked for; raises if Redis fails, so
        the page can say it was not queued."""
        assert self.redis is not None, "the queue is used before the container started"
        job_id = reconcile_job_id(self.redis.default_queue_name, kind, day, asked_at)
        await self.enqueue(RECONCILE[kind], day, started_by, job_id=job_id)


class NotQueued(Exception):
    """Redis refused some of a pipeline's jobs (the others were queued)."""

    def __init__(self, job_ids: list[str], first: object) -> None:
        super().__init__(f"{len(job_ids)} refused, the first: {first}")
        self.job_ids = set(job_ids)


def _not_queued(sources: list[tuple[str, str]], error: str, count: int | None = None) -> None:
    extra = {"count": len(sources) if count is None else count, "source_ids": [i for _, i in sources[:10]]}
    log.warning("receipt jobs not queued; the sweeper will issue them", extra={**extra, "error": error})


def _enqueue_arguments(redis: ArqRedis, name: str, args: tuple[Any, ...], job_id: str) -> tuple[list[str], list[Any]]:
    """The keys and arguments of ``ENQUEUE_SCRIPT`` for job ``job_id`` running ``name(*args)``, as arq writes it."""
    at = timestamp_ms()
    job = serialize_job(name, args, {}, None, at, serializer=redis.job_serializer)
    keys = [job_key_prefix + job_id, result_key_prefix + job_id, redis.default_queue_name]
    return keys, [redis.expires_extra_ms, job, at, job_id]
