"""The worker's jobs, one module per area. Each module exposes ``FUNCTIONS`` (jobs that can be enqueued),
``cron_jobs(settings)`` (scheduled ones), and optionally ``startup(ctx)`` / ``shutdown(ctx)`` for what it needs.
Every job is marked ``@retried`` (queued) or ``@scheduled`` (cron): what it does when the database is unavailable."""

from __future__ import annotations

from types import ModuleType

from . import deliveries, payments, receipts, shipments

AREAS: tuple[ModuleType, ...] = (payments, shipments, receipts, deliveries)
