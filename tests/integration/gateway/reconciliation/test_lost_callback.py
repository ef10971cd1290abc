"""A payment whose callback never came is found by reconciliation: the whole system on each engine (gateway, worker,
hub sandbox) with the portal's webhook. The hub drops the callback; the day's settlement run finds the payment
settled but not collected; the worker's ``reconciliation_resolve`` asks the hub and applies its answer through the
callback's path, so the payment becomes paid, its receipt is issued and its status reaches the portal's webhook,
and the break is resolved by the system with the hub's answer."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.payhub import PayhubClient
from adapters.vntime import VN_TZ
from gateway import broker, portals
from gateway.bootstrap import payhub_config, settlement_runs
from gateway.jobs import JobQueue
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import BreakFilter, Run, get_break, list_breaks
from gateway.settings import load
from tests.support.api import create, hub_paid_day, pay
from tests.support.processes import Process
from tests.support.services import wait_for
from tests.support.stack import AGENCY, Stack
from tests.support.webhook_receiver import Receiver


@pytest.fixture
async def quiet_janitor(stack: Stack) -> AsyncIterator[None]:
    """The stack's worker, but with a janitor that asks the hub only about payments pending for a day: here only
    reconciliation may find the payment."""
    stack.processes["worker"].stop()
    env = {**stack.gateway_env(), "PENDING_QUERY_AFTER_SECONDS": "86400"}
    stack.processes["worker"] = Process(f"worker-quiet-{stack.backend}", ["gateway", "worker"], env, stack.workdir)
    stack.processes["worker"].start()
    try:
        yield
    finally:
        stack.processes["worker"].stop()
        stack.start_worker()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def _settlement_run(stack: Stack, tmp_path: Path, day: Any) -> Run:
    """The day's settlement run as the worker wires it: its completion queues the automatic resolution."""
    env = {**stack.gateway_env(), "RECONCILIATION_DATA_DIR": str(tmp_path / "recon"), "RECONCILIATION_CUTOFF_DAYS": "0"}
    settings = load(env)
    assert stack.db is not None
    queue = JobQueue(broker.connect(settings))
    hub = PayhubClient(payhub_config(settings))
    try:
        return (await settlement_runs(stack.db, hub, settings, queue).run(day)).run
    finally:
        await hub.aclose()
        assert queue.redis is not None
        await queue.redis.aclose()


async def test_a_payment_whose_callback_never_came_is_found_paid_receipted_and_pushed(
    stack: Stack, quiet_janitor: None, receiver: Receiver, tmp_path: Path
) -> None:
    assert stack.db is not None
    portal_id, api_key = await portals.create_portal(stack.db, f"Cổng đối soát {secrets.token_hex(3)}", [AGENCY.code])
    assert await portals.set_private_webhooks(stack.db, portal_id, True)  # the test receiver is on loopback
    async with stack.client(api_key) as api, stack.hub() as hub:
        hooked = await api.put("/v1/webhook", json={"url": receiver.url})
        receiver.secrets.append(hooked.json()["secret"])
        (await hub.put("/control/faults", json={"callback": {"drop": 1}})).raise_for_status()
        try:
            payment = await create(api)
            await pay(hub, payment["reference"])
            assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "pending"
            day = await hub_paid_day(hub, payment["reference"])
            tomorrow = datetime.combine(day + timedelta(days=1), time(3), tzinfo=VN_TZ)
            (await hub.put("/control/clock", json={"now": tomorrow.isoformat()})).raise_for_status()
            try:
                run = await _settlement_run(stack, tmp_path, day)
            finally:
                (await hub.delete("/control/clock")).raise_for_status()
        finally:
            (await hub.delete("/control/faults")).raise_for_status()
        await _found_and_resolved(stack, api, receiver, payment, run)


async def _found_and_resolved(
    stack: Stack, api: httpx.AsyncClient, receiver: Receiver, payment: dict[str, Any], run: Run
) -> None:
    assert stack.db is not None
    scope = AgencyScope.of([AGENCY.code])
    async with stack.db.read() as conn:
        found, _ = await list_breaks(conn, scope, BreakFilter(run_id=run.id), None, 50)
    (lost,) = [b for b in found if b.reference == payment["reference"]]
    assert lost.code in ("status_mismatch", "missing_in_ours")

    async def paid() -> bool:
        return (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "paid"

    await wait_for(paid, timeout=60, what="the payment paid through the hub's answer")

    def pushed() -> set[str]:
        return {e["type"] for e in receiver.unique().values() if e.get("dossier_code") == payment["dossier_code"]}

    await wait_for(lambda: {"payment.paid", "receipt.issued"} <= pushed(), timeout=60, what="status and receipt pushed")
    assert all(d.verified for d in receiver.deliveries)
    assert await _receipts(api, payment["dossier_code"]), "the dossier shows the payment's receipt"
    async with stack.db.read() as conn:
        detail = await get_break(conn, scope, lost.id)
    assert (detail.item.status, detail.item.resolution, detail.item.resolved_by) == ("resolved", "hub_query", "system")
    assert payment["id"] in detail.item.note and [h.action for h in detail.history] == ["break.resolved"]


async def _receipts(api: httpx.AsyncClient, dossier_code: str) -> list[dict[str, Any]]:
    view = (await api.get(f"/v1/dossiers/{dossier_code}")).json()
    return list(view.get("receipts") or [])
