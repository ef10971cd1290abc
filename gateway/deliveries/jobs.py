"""Event delivery jobs: the relay (cron, every second by default) claims due outbox events and enqueues one
``deliver_events`` job per portal batch; each delivers its batch in order. A job that delivered its whole batch
claims and queues its portal's next batch itself (``relay.claim(portal_id=…)``, within the portal's cap and in the
relay's turns), so a backlog drains without waiting for the relay's next run between batches. Both are safe to run
more than once: the claim token makes a re-run of a batch whose lease was taken over a no-op, and each batch is a
job of its own in the queue, resumed as any other if its worker is lost."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Any

from arq import cron, func
from arq.cron import CronJob

from adapters.vntime import now_utc
from gateway.jobs import (
    DELIVER_EVENTS,
    DELIVER_TIMEOUT_SECONDS,
    MAX_TRIES,
    RELAY_TIMEOUT_SECONDS,
    delivery_job_id,
    every,
    retried,
    scheduled,
)
from gateway.settings import Settings

from . import relay
from .dispatch import Delivery
from .state import Chunk

log = logging.getLogger("gateway.deliveries")


def delivery(container: Any) -> Delivery:
    """The delivery use case on the worker's container (the webhook secrets' key and the address rules were
    checked when the container was built: a missing key stops the worker with a plain message)."""
    return Delivery(container.db, container.webhooks.http, container.webhooks.box, container.settings)


async def enqueue_chunks(container: Any, chunks: list[Chunk]) -> None:
    """One ``deliver_events`` job per claimed batch."""
    for i, chunk in enumerate(chunks):
        await container.jobs.enqueue(
            DELIVER_EVENTS, chunk.portal_id, chunk.token, chunk.positions, job_id=delivery_job_id(chunk.token, i)
        )


@scheduled
async def relay_events(ctx: dict[str, Any]) -> dict[str, Any]:
    """Claim and enqueue, again every ``delivery_poll_seconds`` until the next tick is due: events wait a fraction
    of a second, not a whole tick, and a backlog is fed to the delivery jobs as fast as they free up."""
    container = ctx["container"]
    settings: Settings = container.settings
    loop = asyncio.get_running_loop()
    until = loop.time() + settings.delivery_relay_interval_seconds * 0.8
    totals = {"claimed": 0, "jobs": 0, "skipped": 0}
    while True:
        report = await relay.claim(container.db, settings, now_utc())
        await enqueue_chunks(container, report.chunks)
        totals["claimed"] += report.claimed
        totals["jobs"] += len(report.chunks)
        totals["skipped"] += report.skipped
        if loop.time() + settings.delivery_poll_seconds >= until:
            return totals
        if not report.full:
            await asyncio.sleep(settings.delivery_poll_seconds)


@retried
async def deliver_events(ctx: dict[str, Any], portal_id: str, token: str, positions: list[int]) -> dict[str, Any]:
    container = ctx["container"]
    report = await delivery(container).run(portal_id, token, positions)
    if report.whole:  # the portal may have more due: its next batch is queued now, not at the relay's next run
        following = await relay.claim(container.db, container.settings, now_utc(), portal_id=portal_id)
        await enqueue_chunks(container, following.chunks)
    return asdict(report)


FUNCTIONS: list[Any] = [
    func(relay_events, timeout=RELAY_TIMEOUT_SECONDS, keep_result=0),
    func(deliver_events, name=DELIVER_EVENTS, timeout=DELIVER_TIMEOUT_SECONDS, max_tries=MAX_TRIES),
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
