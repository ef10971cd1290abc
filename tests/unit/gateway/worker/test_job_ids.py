"""Job ids are global to a Redis database: two deployments sharing one (each with its own queue) must not take
each other's scheduled runs or hand-run days."""

from __future__ import annotations

from gateway.jobs import reconcile_job_id
from gateway.settings import load
from gateway.worker import worker_options


def cron_names(queue: str) -> set[str]:
    options = worker_options(load({"QUEUE_NAME": queue, "PAYHUB_HASH_KEY": "k"}))
    return {job.name for job in options["cron_jobs"]}


def test_every_scheduled_job_is_named_after_its_queue() -> None:
    one, other = cron_names("tinh-a"), cron_names("tinh-b")

    assert one and all(name.startswith("cron:tinh-a:") for name in one)
    assert len(one) == len(options_of("tinh-a")), "no two scheduled jobs share a name"
    assert one.isdisjoint(other)


def options_of(queue: str) -> list[object]:
    return worker_options(load({"QUEUE_NAME": queue, "PAYHUB_HASH_KEY": "k"}))["cron_jobs"]


def test_a_day_run_by_hand_is_named_after_its_queue() -> None:
    asked = "2026-12-02T08:00"
    assert reconcile_job_id("tinh-a", "settlement", "2026-12-01", asked) != reconcile_job_id(
        "tinh-b", "settlement", "2026-12-01", asked
    )
