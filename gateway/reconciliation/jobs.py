"""Reconciliation's worker jobs: each morning, the previous day's settlement run and COD run (after the hub's
publication hour, ``reconciliation_hour`` Vietnam time); and the automatic resolution of a settlement run's breaks,
queued when the run completes (``JobQueue.resolve_breaks``).

A file not published yet, a partner or database that does not answer: the job runs again later (arq's ``Retry``,
up to ``reconciliation_max_tries``). A refused file is not retried: it is a failed run, with its reason, for staff.
Both runs can also be queued by hand for a given day (``day`` as ``YYYY-MM-DD``), by a staff member from the finance
pages (``started_by``: the run is then manual and names them; ``JobQueue.reconcile``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from arq import cron, func
from arq.cron import CronJob
from arq.worker import Retry

from adapters.payhub import HubUnavailable, OutcomeUnknown, SettlementNotPublished
from adapters.postal import PostalUnavailable
from adapters.postal.errors import OutcomeUnknown as PostalOutcomeUnknown
from adapters.vntime import business_day, now_utc
from gateway.jobs import MAX_TRIES, RESOLVE_BREAKS, RESOLVE_TIMEOUT_SECONDS, retried, retry_delay
from gateway.settings import Settings
from gateway.store.db import DatabaseUnavailable

from . import resolution
from .runs import Recorded, Trigger

log = logging.getLogger("gateway.reconciliation")
VN_UTC_OFFSET_HOURS = 7  # Vietnam keeps no summer time
TRANSIENT = (HubUnavailable, OutcomeUnknown, PostalUnavailable, PostalOutcomeUnknown, DatabaseUnavailable)


def previous_day(now: datetime) -> date:
    """The day whose file is due: the Vietnam day before ``now``'s."""
    return business_day(now) - timedelta(days=1)


def summary(recorded: Recorded) -> dict[str, Any]:
    run = recorded.run
    return {
        "run_id": run.id,
        "kind": run.kind,
        "day": run.day.isoformat(),
        "status": run.status,
        "new": recorded.new,
        "file_rows": run.file_rows,
        "matched": run.matched,
        "breaks": run.breaks,
        "refusal_code": run.refusal_code,
    }


def _retry(ctx: dict[str, Any], error: Exception, defer: int) -> Retry:
    log.warning("reconciliation run retried", extra={"in_seconds": defer, "error": f"{type(error).__name__}: {error}"})
    return Retry(defer=defer)


def _by_hand(started_by: str) -> dict[str, Any]:
    """A run a staff member asked for (from the finance pages) is manual and names them."""
    return {"trigger": Trigger.MANUAL, "started_by": started_by} if started_by else {}


async def reconcile_settlement(ctx: dict[str, Any], day: str | None = None, started_by: str = "") -> dict[str, Any]:
    container = ctx["container"]
    target = date.fromisoformat(day) if day else previous_day(now_utc())
    try:
        recorded = await container.settlement_runs.run(target, **_by_hand(started_by))
    except SettlementNotPublished as error:
        raise _retry(ctx, error, container.settings.reconciliation_retry_seconds) from error
    except TRANSIENT as error:
        raise _retry(ctx, error, retry_delay(int(ctx.get("job_try") or 1))) from error
    log.info("settlement reconciled", extra=summary(recorded))
    return summary(recorded)


async def reconcile_cod(ctx: dict[str, Any], day: str | None = None, started_by: str = "") -> dict[str, Any]:
    container = ctx["container"]
    target = date.fromisoformat(day) if day else previous_day(now_utc())
    try:
        recorded = await container.cod_runs.run(target, **_by_hand(started_by))
    except TRANSIENT as error:
        raise _retry(ctx, error, retry_delay(int(ctx.get("job_try") or 1))) from error
    log.info("COD reconciled", extra=summary(recorded))
    return summary(recorded)


@retried
async def reconciliation_resolve(ctx: dict[str, Any], run_id: str) -> dict[str, Any]:
    container = ctx["container"]
    lookback = container.settings.reconciliation_lookback_days
    report = await resolution.resolve_run(container.hub_results, container.hub, run_id, now_utc(), lookback)
    return asdict(report)


FUNCTIONS = [func(reconciliation_resolve, name=RESOLVE_BREAKS, timeout=RESOLVE_TIMEOUT_SECONDS, max_tries=MAX_TRIES)]


def functions(settings: Settings) -> list[Any]:
    """Every job that can be queued: the resolution, and the runs for a given day (with the settings' timeout and
    tries)."""
    options = {"timeout": settings.reconciliation_timeout_seconds, "max_tries": settings.reconciliation_max_tries}
    return [*FUNCTIONS, func(reconcile_settlement, **options), func(reconcile_cod, **options)]


def cron_jobs(settings: Settings) -> list[CronJob]:
    """D−1's runs each morning at ``reconciliation_hour`` Vietnam time (the worker's schedule is in UTC)."""
    hour = (settings.reconciliation_hour - VN_UTC_OFFSET_HOURS) % 24
    options = {"timeout": settings.reconciliation_timeout_seconds, "max_tries": settings.reconciliation_max_tries}
    return [
        cron(reconcile_settlement, hour={hour}, minute={0}, second={0}, run_at_startup=False, **options),
        cron(reconcile_cod, hour={hour}, minute={5}, second={0}, run_at_startup=False, **options),
    ]
