"""Sources the sweeper cannot receipt (an agency whose key is not installed yet, data a receipt cannot carry) are
held with their reason and a back-off, shown to operators, tried again once fixed, and never block the others."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from sqlalchemy import select, update

from gateway.portals import service as portals
from gateway.portals.service import AgencySpec, Fee, Procedure
from gateway.receipts.keys import ensure_demo_key
from gateway.store.tables import payments as pt
from gateway.store.tables.receipts import receipts, unissued_receipts
from tests.support.api import create, pay, wait_status
from tests.support.receipts import assert_series_gap_free, receipt_of
from tests.support.services import wait_for
from tests.support.stack import Stack

BATCH = 10  # RECEIPT_BATCH of the test stack
# Its code differs per engine: both stacks of a session share the keys folder, and this test installs its key.
KEYLESS = AgencySpec(
    code="000.00.05.H26",
    name="Ủy ban nhân dân phường Cửa Nam",
    tax_code="0101234571",
    address="Cửa Nam, Hà Nội",
    treasury_account="3511.0.1054325",
    treasury_bank_code="KBNN-HN",
    treasury_account_name="UBND phường Cửa Nam",
    procedures=(
        Procedure(
            code="1.004227",
            name="Cấp giấy chứng nhận đăng ký hộ kinh doanh",
            fees=(
                Fee("LP-KD-01", 2, "Lệ phí đăng ký hộ kinh doanh", 100_000),
                Fee("PHI-KD-02", 1, "Phí cung cấp thông tin", None),
            ),
        ),
    ),
)


@pytest.fixture
async def worker_stopped(stack: Stack) -> AsyncIterator[None]:
    """The worker is down for the test's first part; it is running again afterwards, whatever happened."""
    stack.processes["worker"].stop()
    try:
        yield
    finally:
        if stack.processes["worker"].process.poll() is not None:  # type: ignore[union-attr]
            stack.start_worker()


async def paid(api: httpx.AsyncClient, hub: httpx.AsyncClient, **overrides: Any) -> str:
    payment = await create(api, **overrides)
    await pay(hub, payment["reference"])
    await wait_status(api, payment["id"], "paid")
    return str(payment["id"])


def gateway_command(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **stack.gateway_env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def held(stack: Stack) -> dict[str, Any]:
    assert stack.db is not None
    async with stack.db.read() as conn:
        return {row.source_id: row for row in await conn.execute(select(unissued_receipts))}


async def receipted(stack: Stack, ids: list[str]) -> set[str]:
    assert stack.db is not None
    async with stack.db.read() as conn:
        query = select(receipts.c.source_id).where(receipts.c.source_id.in_(ids), receipts.c.revision == 0)
        return set((await conn.execute(query)).scalars())


async def test_unissuable_sources_are_held_and_never_block_the_others(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack, worker_stopped: None
) -> None:
    assert stack.db is not None
    agency = replace(KEYLESS, code=f"000.00.{5 if stack.backend == 'sqlite' else 6:02d}.H26")
    await portals.upsert_agency(stack.db, agency)
    _, keyless_key = await portals.create_portal(stack.db, "Cổng DVC chưa có khóa ký", [agency.code])
    async with stack.client(keyless_key) as keyless_api:
        no_key = [await paid(keyless_api, hub, agency_code=agency.code) for _ in range(BATCH + 2)]
    legacy = [await paid(api, hub) for _ in range(2)]
    async with stack.db.transaction() as tx:  # data stored before today's checks, which no receipt can carry
        await tx.execute(update(pt.payments).where(pt.payments.c.id.in_(legacy)).values(payer_name="Nguyễn\x01An"))
    fresh = await paid(api, hub)

    # The receipt jobs the callbacks queued are lost (Redis lost its queue): only the sweeper is left to issue.
    redis = await create_pool(RedisSettings.from_dsn(stack.redis_url))
    try:
        await redis.delete(stack.queue)
    finally:
        await redis.aclose()
    stack.start_worker()

    receipt = await receipt_of(api, fresh, timeout=30)
    assert receipt["status"] == "issued"
    found = await wait_for(lambda: _holding(stack, no_key + legacy), timeout=30, what="every unissuable source held")
    for payment_id in no_key:
        row = found[payment_id]
        assert row.reason == f"no receipt signing key for agency {agency.code}"
        assert row.attempts >= 1 and row.retry_at > row.last_failed_at
    for payment_id in legacy:
        assert "payer.name" in found[payment_id].reason and "control character" in found[payment_id].reason

    # operators see them: the gauge, and the command that lists them with their reason
    async with httpx.AsyncClient(base_url=stack.gateway_url) as client:
        text = (await client.get("/metrics")).text
    gauge = re.search(r'^gateway_receipts_unissued\{source_type="payment"\} (\S+)$', text, re.MULTILINE)
    assert gauge is not None and float(gauge[1]) >= len(no_key + legacy)
    listed = gateway_command(stack, "receipts", "unissued")
    assert listed.returncode == 0, listed.stderr
    lines = {item["source_id"]: item for item in map(json.loads, listed.stdout.splitlines())}
    assert set(no_key + legacy) <= set(lines)
    assert lines[no_key[0]]["agency_code"] == agency.code and lines[no_key[0]]["reason"].startswith("no receipt")

    # the agency's key is installed: asked to retry now, the worker picks the key up and issues them all
    ensure_demo_key(stack.receipt_keys_dir, agency.code, agency.name)
    retried = gateway_command(stack, "receipts", "retry", "--agency", agency.code)
    assert retried.returncode == 0, retried.stderr

    async def all_issued() -> bool:
        return await receipted(stack, no_key) == set(no_key)

    await wait_for(all_issued, timeout=30, what="the held sources issued once the key is installed")
    left = await held(stack)
    assert not set(no_key) & set(left) and set(legacy) <= set(left)
    await assert_series_gap_free(stack)


async def _holding(stack: Stack, ids: list[str]) -> dict[str, Any] | None:
    found = await held(stack)
    return found if set(ids) <= set(found) else None
