"""Reconciliation's worker jobs: the automatic resolution of a settlement run's breaks, queued when the run
completes (``JobQueue.resolve_breaks``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from arq import func
from arq.cron import CronJob

from adapters.vntime import now_utc
from gateway.jobs import MAX_TRIES, RESOLVE_BREAKS, RESOLVE_TIMEOUT_SECONDS, retried
from gateway.settings import Settings

from . import resolution


@retried
async def reconciliation_resolve(ctx: dict[str, Any], run_id: str) -> dict[str, Any]:
    container = ctx["container"]
    report = await resolution.resolve_run(container.hub_results, container.hub, run_id, now_utc())
    return asdict(report)


FUNCTIONS = [func(reconciliation_resolve, name=RESOLVE_BREAKS, timeout=RESOLVE_TIMEOUT_SECONDS, max_tries=MAX_TRIES)]


def cron_jobs(settings: Settings) -> list[CronJob]:
    return []
