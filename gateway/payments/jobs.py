"""Payment jobs: the janitor that queries the hub about stale payments and expires unpaid ones."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from arq import cron
from arq.cron import CronJob

from adapters.vntime import now_utc
from gateway.jobs import JANITOR_TIMEOUT_SECONDS, every, scheduled
from gateway.settings import Settings

from . import janitor as payment_janitor


@scheduled
async def janitor(ctx: dict[str, Any]) -> dict[str, Any]:
    container = ctx["container"]
    report = await payment_janitor.run(
        container.hub_results, container.refunds, container.hub, container.settings, now_utc()
    )
    return asdict(report)


FUNCTIONS = [janitor]


def cron_jobs(settings: Settings) -> list[CronJob]:
    return [
        cron(janitor, run_at_startup=False, timeout=JANITOR_TIMEOUT_SECONDS, **every(settings.janitor_interval_seconds))
    ]
