"""The day's runs through the real worker (queued as the morning's schedule queues them), and by hand with
``gateway reconcile``, on the whole stack (PostgreSQL and SQLite)."""

from __future__ import annotations

import json
import os
import pwd
import secrets
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool

from gateway.store.tables import reconciliation as rt
from gateway.store.tables.staff import staff_audit
from tests.support.api import create, hub_paid_day, pay, rows, wait_status
from tests.support.settlement_files import Paid, ledger_of, rows_of, vn, write_file
from tests.support.stack import AGENCY, HASH_KEY, Stack

OLD_DAY = date(2020, 1, 6)  # a day no other test pays on


@pytest.fixture
async def queue(stack: Stack) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(stack.redis_url), default_queue_name=stack.queue)
    try:
        yield pool
    finally:
        await pool.aclose()


async def test_the_worker_runs_the_days_settlement_and_cod(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack, queue: ArqRedis
) -> None:
    payment = await create(api)
    await pay(hub, payment["reference"])
    await wait_status(api, payment["id"], "paid")
    today = await hub_paid_day(hub, payment["reference"])
    published = vn(today + timedelta(days=1), 2).isoformat()  # the morning after, past the hub's hour
    (await hub.put("/control/clock", json={"now": published})).raise_for_status()
    try:
        token = secrets.token_hex(4)
        settlement = await queue.enqueue_job("reconcile_settlement", today.isoformat(), _job_id=f"s-{token}")
        cod = await queue.enqueue_job("reconcile_cod", today.isoformat(), _job_id=f"c-{token}")
        assert settlement is not None and cod is not None
        ran = await settlement.result(timeout=120)
        cod_ran = await cod.result(timeout=120)
    finally:
        (await hub.delete("/control/clock")).raise_for_status()

    assert ran["status"] == "completed" and ran["kind"] == "settlement" and ran["matched"] >= 1
    assert cod_ran["status"] == "completed" and cod_ran["kind"] == "cod"
    [run] = await rows(stack, rt.reconciliation_runs, rt.reconciliation_runs.c.id == ran["run_id"])
    assert run.day == today and run.trigger == "schedule"
    b = rt.reconciliation_breaks.c
    assert not await rows(stack, rt.reconciliation_breaks, b.reference == payment["reference"])


def hub_file(tmp_path: Path) -> tuple[Path, str]:
    """A file of two payments the gateway never made: two rows missing in ours."""
    paid = [Paid(f"PGOLD{n:08d}", 50_000, vn(OLD_DAY, 9 + n), AGENCY.code) for n in range(2)]
    path = tmp_path / "old.csv"
    return path, write_file(rows_of(ledger_of(paid), OLD_DAY), path, key=HASH_KEY)


async def test_a_day_reconciled_by_hand_prints_its_run(stack: Stack, tmp_path: Path) -> None:
    path, signature = hub_file(tmp_path)
    spoofed = f"vanhanh{secrets.token_hex(3)}"  # what the environment claims; the trail names the real account
    user = pwd.getpwuid(os.geteuid()).pw_name
    data = {"RECONCILIATION_DATA_DIR": str(tmp_path / "recon"), "LOGNAME": spoofed, "USER": spoofed}
    args = ("reconcile", "--day", OLD_DAY.isoformat(), "--file", str(path))

    done = stack.command(*args, "--signature", signature, "--by", "ke.toan", **data)
    next_day = (OLD_DAY + timedelta(days=1)).isoformat()
    refused = stack.command("reconcile", "--day", next_day, "--file", str(path), "--signature", signature, **data)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["status"], summary["new"], summary["file_rows"], summary["breaks"]) == ("completed", True, 2, 2)
    assert "ghi chênh lệch" in done.stderr  # the progress bar's last phase
    assert refused.returncode == 2
    failed = json.loads(refused.stdout)
    assert (failed["status"], failed["refusal_code"]) == ("failed", "other_day")
    assert "ngày khác" in failed["refusal_message"]
    again = stack.command(*args, "--signature", signature, "--quiet", **data)
    assert again.returncode == 0 and json.loads(again.stdout)["run_id"] == summary["run_id"]
    [run] = await rows(stack, rt.reconciliation_runs, rt.reconciliation_runs.c.id == summary["run_id"])
    assert (run.trigger, run.started_by) == ("manual", "ke.toan")
    a = staff_audit.c
    started = await rows(stack, staff_audit, a.action == "run.started")
    assert not [e for e in started if spoofed in e.actor]
    started = sorted((e for e in started if e.after["file"] == str(path)), key=lambda e: e.id)
    assert {e.actor for e in started} == {f"cli:{user}"}
    assert [(e.subject_type, e.subject_id, e.after["started_by"], e.after["file"]) for e in started] == [
        ("run", f"settlement:{OLD_DAY}", "ke.toan", str(path)),
        ("run", f"settlement:{next_day}", f"cli:{user}", str(path)),
        ("run", f"settlement:{OLD_DAY}", f"cli:{user}", str(path)),
    ], "every start by hand is in the trail, named by who ran it, with whom it was run for"
