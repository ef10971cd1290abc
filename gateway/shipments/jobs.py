"""Shipment jobs: polling the post's status feed from the durable cursor, and booking shipments the post never
confirmed (its answer was lost and the portal did not retry)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from arq import cron
from arq.cron import CronJob

from adapters.postal import PostalError
from gateway.jobs import BOOKING_TIMEOUT_SECONDS, FEED_MAX_PAGES, FEED_TIMEOUT_SECONDS, every, scheduled
from gateway.settings import Settings

from . import tracking

log = logging.getLogger("gateway.shipments")


@scheduled
async def poll_postal_feed(ctx: dict[str, Any]) -> dict[str, Any]:
    """Record the feed's new events; on the post's trouble or a malformed page, keep the cursor and stop."""
    container = ctx["container"]
    try:
        report = await container.shipments.tracking.poll(
            container.post, page_size=container.settings.postal_page_size, max_pages=FEED_MAX_PAGES
        )
    except (PostalError, tracking.CursorMoved) as exc:
        log.warning("postal feed not read", extra={"error": str(exc), "kind": type(exc).__name__})
        return {"error": type(exc).__name__}
    if report.tally.recorded:
        log.info("postal feed read", extra={"cursor": report.cursor, **asdict(report.tally)})
    return {"pages": report.pages, "cursor": report.cursor, **asdict(report.tally)}


@scheduled
async def book_stale_shipments(ctx: dict[str, Any]) -> dict[str, Any]:
    container = ctx["container"]
    retry_after = timedelta(seconds=container.settings.postal_booking_retry_after_seconds)
    booked = await container.shipments.book_stale(retry_after)
    return {"booked": booked}


FUNCTIONS = [poll_postal_feed, book_stale_shipments]


def cron_jobs(settings: Settings) -> list[CronJob]:
    return [
        cron(
            poll_postal_feed,
            run_at_startup=True,
            timeout=FEED_TIMEOUT_SECONDS,
            **every(settings.postal_poll_interval_seconds),
        ),
        cron(
            book_stale_shipments,
            run_at_startup=False,
            timeout=BOOKING_TIMEOUT_SECONDS,
            **every(max(settings.postal_booking_retry_after_seconds, 1)),
        ),
    ]
