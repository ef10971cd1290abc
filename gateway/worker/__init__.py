"""The worker: arq settings and every area's jobs, on the same graph as the web app (``gateway.bootstrap``), kept
in the job context as ``ctx["container"]``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from types import ModuleType
from typing import Any

import uvloop
from arq.cron import CronJob
from arq.worker import Worker
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from gateway import broker, heap, metrics
from gateway.bootstrap import Container
from gateway.deliveries import jobs as deliveries
from gateway.jobs import JOB_TIMEOUT_SECONDS
from gateway.logs import configure as configure_logs
from gateway.payments import jobs as payments
from gateway.receipts import jobs as receipts
from gateway.reconciliation import jobs as reconciliation
from gateway.settings import Settings
from gateway.shipments import jobs as shipments

from .leases import LeasedWorker

log = logging.getLogger("gateway.worker")

# Each area's jobs: ``FUNCTIONS`` (jobs that can be enqueued; or ``functions(settings)`` when their options are
# settings), ``cron_jobs(settings)`` (scheduled ones), and
# optionally ``startup(ctx)`` / ``shutdown(ctx)``.
AREAS: tuple[ModuleType, ...] = (payments, shipments, receipts, deliveries, reconciliation)
REDIS_RETRY_SECONDS = 1.0


_metrics_served: list[int] = []


def serve_metrics(settings: Settings) -> None:
    """The worker's Prometheus metrics, once per process (the worker itself starts again after losing Redis)."""
    metrics.watch_collector()
    if settings.worker_metrics_port and not _metrics_served:
        try:
            start_http_server(settings.worker_metrics_port, settings.worker_metrics_host)
        except OSError as exc:  # the worker's work matters more than its metrics: say so, and go on
            log.error("worker metrics not served", extra={"port": settings.worker_metrics_port, "error": str(exc)})
        _metrics_served.append(settings.worker_metrics_port)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    serve_metrics(settings)
    container = Container.build(settings)
    await container.start(redis=ctx["redis"])
    ctx["container"] = container
    for area in AREAS:
        if hasattr(area, "startup"):
            await area.startup(ctx)
    heap.freeze_startup()
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    log.info("worker started", extra={"queue": settings.queue_name, "event_loop": loop})


async def shutdown(ctx: dict[str, Any]) -> None:
    """Once: after losing Redis, ``settle`` calls it only if arq's close could not."""
    if "container" not in ctx:
        return
    for area in reversed(AREAS):
        if hasattr(area, "shutdown"):
            await area.shutdown(ctx)
    await ctx.pop("container").close(own_redis=False)


def scoped(job: CronJob, queue_name: str) -> CronJob:
    """Name a cron job after the queue. arq gives each scheduled run the id ``<name>:<time>``, and ids are global
    in Redis: two deployments (or test stacks) sharing a Redis would otherwise take each other's runs, and the
    run lands in the other one's queue. The workers of one queue still run each tick once."""
    return dataclasses.replace(job, name=f"cron:{queue_name}:{job.coroutine.__qualname__}")


def functions_of(area: ModuleType, settings: Settings) -> list[Any]:
    return list(area.functions(settings)) if hasattr(area, "functions") else list(area.FUNCTIONS)


def worker_options(settings: Settings) -> dict[str, Any]:
    return {
        "functions": [f for area in AREAS for f in functions_of(area, settings)],
        "cron_jobs": [scoped(job, settings.queue_name) for area in AREAS for job in area.cron_jobs(settings)],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_pool": broker.connect(settings),
        "queue_name": settings.queue_name,
        "ctx": {"settings": settings},
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "max_jobs": 20,
        "keep_result": 3600,
        "poll_delay": settings.worker_poll_seconds,
        "health_check_interval": 30,
        "handle_signals": True,
        # SIGTERM: take no new job, give those under way the grace period, then cancel the rest (arq runs a
        # cancelled job again; every job is safe to run twice)
        "job_completion_wait": settings.shutdown_grace_seconds,
    }


def create_worker(settings: Settings) -> LeasedWorker:
    lease = settings.worker_lease_seconds
    return LeasedWorker(**worker_options(settings), lease_seconds=lease, renew_seconds=lease / 4)


def run(settings: Settings) -> None:
    """Run until stopped. Losing Redis stops an arq worker; this one starts again once Redis answers (state is in
    the database, and the relays re-claim whatever jobs Redis lost)."""
    configure_logs(settings.log_level, settings.log_json)
    # uvloop's event loop, as the gateway runs on under uvicorn: its scheduling, timers and sockets are C, where
    # asyncio's are Python (receipt jobs in flight ran about 5 % faster); arq runs on the loop set here
    asyncio.set_event_loop(uvloop.new_event_loop())
    stopped: list[int] = []  # a SIGINT or SIGTERM: arq's close may then fail on a Redis that is away, and the
    while not stopped:  # worker must stop all the same, not start again
        worker = create_worker(settings)
        worker.on_stop = stopped.append
        try:
            worker.run()
            return
        except (RedisError, OSError) as exc:
            settle(worker)
            if not stopped:
                log.warning("redis lost; the worker starts again", extra={"error": str(exc)})
                # waited on the loop, where arq's handlers take a SIGTERM or SIGINT: uvloop does not keep a signal
                # that comes while it is not running, and the worker would start again for ever
                worker.loop.run_until_complete(asyncio.sleep(REDIS_RETRY_SECONDS))
            if stopped:
                log.warning("stopped while redis was lost", extra={"error": str(exc)})
                return


def settle(worker: Worker) -> None:
    """After losing Redis: let the jobs the worker had under way end (arq's close, which waits for them while their
    leases are renewed, may have stopped short on Redis), then close its connections and clients unless arq could.
    A job left suspended inside a transaction would otherwise keep the database's rows, or SQLite's one write lock,
    from the next worker."""
    pending = [task for task in worker.tasks.values() if not task.done()]
    if pending:
        worker.loop.run_until_complete(asyncio.wait(pending, timeout=JOB_TIMEOUT_SECONDS))
    closing = []
    if "container" in worker.ctx:
        closing.append(shutdown(worker.ctx))
    if worker._pool is not None:  # arq's close stopped before closing its pool: each restart would leave one open
        closing.append(worker._pool.close(close_connection_pool=True))
    for closed in closing:
        try:
            worker.loop.run_until_complete(closed)
        except Exception as exc:  # closing what is already broken must not stop the worker from starting again
            log.warning("lost worker not closed cleanly", extra={"error": str(exc)})
