"""The morning's reconciliation runs: when the worker schedules them and which day they take."""

from __future__ import annotations

from datetime import date, datetime

from adapters.vntime import VN_TZ
from gateway.reconciliation import jobs
from gateway.settings import load
from gateway.worker import worker_options


def test_the_runs_are_scheduled_after_the_hubs_hour_in_vietnam_time() -> None:
    settings = load({"PAYHUB_HASH_KEY": "k", "RECONCILIATION_HOUR": "2", "RECONCILIATION_TIMEOUT_SECONDS": "600"})
    scheduled = jobs.cron_jobs(settings)
    assert [job.hour for job in scheduled] == [{19}, {19}]  # 02:00 in Vietnam is 19:00 UTC the day before
    assert {job.timeout_s for job in scheduled} == {600}
    assert {job.max_tries for job in scheduled} == {settings.reconciliation_max_tries}


def test_the_morning_run_takes_the_vietnam_day_before() -> None:
    assert jobs.previous_day(datetime(2026, 3, 3, 2, 0, tzinfo=VN_TZ)) == date(2026, 3, 2)
    assert jobs.previous_day(datetime(2026, 3, 3, 0, 30, tzinfo=VN_TZ)) == date(2026, 3, 2)


def test_the_worker_knows_the_runs_and_their_schedule() -> None:
    settings = load({"PAYHUB_HASH_KEY": "k"})
    options = worker_options(settings)
    names = {getattr(f, "name", getattr(f, "__name__", "")) for f in options["functions"]}
    assert {"reconcile_settlement", "reconcile_cod", "reconciliation_resolve"} <= names
    scheduled = {job.name for job in options["cron_jobs"]}
    assert any(name.endswith("reconcile_settlement") for name in scheduled)
    assert any(name.endswith("reconcile_cod") for name in scheduled)
