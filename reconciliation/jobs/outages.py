"""What a job does when the database is unavailable (down, restarting, frozen past its timeouts).

A queued job is retried later with arq's ``Retry``, backing off, never failed for good over an outage: a receipt to
issue or a batch of events to deliver must not be dropped. A scheduled job just ends its run quietly, since the
next run comes on schedule anyway and retrying it too would only pile runs up behind the outage.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq.worker import Retry

from gateway.store.db import DatabaseUnavailable

log = logging.getLogger("reconciliation.outages")

# Seconds before the next try, by try number; the last one repeats. MAX_TRIES of them span about seven minutes,
# after which the sweepers and relays (which find their work in the database) take over.
RETRY_DELAYS = (1, 2, 5, 10, 30, 60)
MAX_TRIES = 12

Job = TypeVar("Job", bound=Callable[..., Awaitable[Any]])


def retry_delay(job_try: int) -> int:
    return RETRY_DELAYS[min(max(job_try, 1), len(RETRY_DELAYS)) - 1]


def retried(job: Job) -> Job:
    """A queued job: on a database outage, run it again later (same job id, so still exactly one)."""

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
    """A scheduled job: on a database outage, end this run; the next one comes on schedule."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except DatabaseUnavailable as error:
            log.warning("database unavailable; run skipped", extra={"job": job.__name__, "error": str(error)})
            return {"skipped": "database_unavailable"}

    return run  # type: ignore[return-value]
