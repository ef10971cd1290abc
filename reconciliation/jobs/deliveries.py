"""Event delivery jobs: the relay (cron, every second by default) claims due outbox events and enqueues one
``deliver_events`` job per portal batch; each delivers its batch in order. Both are safe to run more than once:
the claim token makes a re-run of a batch whose lease was taken over a no-op."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Any

from arq import cron, func
from arq.cron import CronJob

from adapters.vntime import now_utc
from gateway.deliveries import relay
from gateway.deliveries.dispatch import Delivery
from gateway.deliveries.secret_box import SecretBox
from gateway.deliveries.transport import WebhookHttp
from gateway.settings import Settings

from .outages import MAX_TRIES, retried, scheduled
from .schedule import every

log = logging.getLogger("reconciliation.deliveries")

RELAY_TIMEOUT_SECONDS = 60


async def startup(ctx: dict[str, Any]) -> None:
    """The key and the address rules are checked here, at start: a missing key stops the worker with a plain
    message instead of failing every delivery."""
    settings: Settings = ctx["settings"]
    box = SecretBox.from_settings(settings)
    ctx["webhook_http"] = WebhookHttp.build(settings)
    ctx["delivery"] = Delivery(ctx["db"], ctx["webhook_http"], box, settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["webhook_http"].aclose()


@scheduled
async def relay_events(ctx: dict[str, Any]) -> dict[str, Any]:
    """Claim and enqueue, again every ``delivery_poll_seconds`` until the next tick is due: events wait a fraction
    of a second, not a whole tick, and a backlog is fed to the delivery jobs as fast as they free up."""
    settings: Settings = ctx["settings"]
    loop = asyncio.get_running_loop()
    until = loop.time() + settings.delivery_relay_interval_seconds * 0.8
    totals = {"claimed": 0, "jobs": 0, "skipped": 0}
    while True:
        report = await relay.claim(ctx["db"], settings, now_utc())
        for i, chunk in enumerate(report.chunks):
            await ctx["redis"].enqueue_job(
                "deliver_events", chunk.portal_id, chunk.token, chunk.positions, _job_id=f"deliver:{chunk.token}:{i}"
            )
        totals["claimed"] += report.claimed
        totals["jobs"] += len(report.chunks)
        totals["skipped"] += report.skipped
        if loop.time() + settings.delivery_poll_seconds >= until:
            return totals
        if not report.full:
            await asyncio.sleep(settings.delivery_poll_seconds)


@retried
async def deliver_events(ctx: dict[str, Any], portal_id: str, token: str, positions: list[int]) -> dict[str, Any]:
    report = await ctx["delivery"].run(portal_id, token, positions)
    return asdict(report)


# A batch job stops sending before its lease ends (see dispatch.py); this bound only stops a stuck one.
DELIVER_TIMEOUT_SECONDS = 300

FUNCTIONS: list[Any] = [
    func(relay_events, timeout=RELAY_TIMEOUT_SECONDS, keep_result=0),
    func(deliver_events, timeout=DELIVER_TIMEOUT_SECONDS, max_tries=MAX_TRIES),
]


def cron_jobs(settings: Settings) -> list[CronJob]:
    return [
        cron(
            relay_events,
            run_at_startup=True,
            timeout=RELAY_TIMEOUT_SECONDS,
            keep_result=0,
            **every(settings.delivery_relay_interval_seconds),
        )
    ]
