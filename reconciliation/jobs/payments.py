"""Payment jobs: the janitor that queries the hub about stale payments and expires unpaid ones."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from arq import cron
from arq.cron import CronJob

from adapters.payhub import PayhubClient
from adapters.vntime import now_utc
from gateway.payments import janitor as payment_janitor
from gateway.receipts.queue import payment_collected
from gateway.services import payhub_config
from gateway.settings import Settings

from .outages import scheduled
from .schedule import every

JANITOR_TIMEOUT_SECONDS = 120


async def startup(ctx: dict[str, Any]) -> None:
    ctx["hub"] = PayhubClient(payhub_config(ctx["settings"]))


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["hub"].aclose()


@scheduled
async def janitor(ctx: dict[str, Any]) -> dict[str, Any]:
    async def on_paid(reference: str) -> None:
        await payment_collected(ctx["redis"], ctx["db"], reference)

    report = await payment_janitor.run(ctx["db"], ctx["hub"], ctx["settings"], now_utc(), on_paid)
    return asdict(report)


FUNCTIONS = [janitor]


def cron_jobs(settings: Settings) -> list[CronJob]:
    return [
        cron(janitor, run_at_startup=False, timeout=JANITOR_TIMEOUT_SECONDS, **every(settings.janitor_interval_seconds))
    ]
