"""The worker's composition root: arq settings and jobs, built from the same settings as the web app."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from adapters.payhub import PayhubClient
from adapters.vntime import now_utc
from gateway.logs import configure as configure_logs
from gateway.payments import janitor as payment_janitor
from gateway.services import payhub_config
from gateway.settings import Settings
from gateway.store.db import Database

log = logging.getLogger("reconciliation.worker")

JOB_TIMEOUT_SECONDS = 120


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["db"] = Database.from_url(settings.database_url)
    ctx["hub"] = PayhubClient(payhub_config(settings))
    log.info("worker started", extra={"queue": settings.queue_name})


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["hub"].aclose()
    await ctx["db"].dispose()


async def janitor(ctx: dict[str, Any]) -> dict[str, Any]:
    report = await payment_janitor.run(ctx["db"], ctx["hub"], ctx["settings"], now_utc())
    return asdict(report)


def _every(seconds: int) -> dict[str, Any]:
    """cron() arguments for 'every ``seconds``' (a divisor of 60 seconds or of 60 minutes)."""
    if seconds < 60:
        return {"second": set(range(0, 60, max(1, seconds)))}
    return {"minute": set(range(0, 60, max(1, seconds // 60))), "second": {0}}


def worker_options(settings: Settings) -> dict[str, Any]:
    return {
        "functions": [janitor],
        "cron_jobs": [
            cron(
                janitor, run_at_startup=False, timeout=JOB_TIMEOUT_SECONDS, **_every(settings.janitor_interval_seconds)
            )
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.queue_name,
        "ctx": {"settings": settings},
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "max_jobs": 20,
        "keep_result": 3600,
        "poll_delay": 0.2,
        "health_check_interval": 30,
        "handle_signals": True,
    }


def create_worker(settings: Settings) -> Worker:
    return Worker(**worker_options(settings))


def run(settings: Settings) -> None:
    configure_logs(settings.log_level, settings.log_json)
    create_worker(settings).run()
