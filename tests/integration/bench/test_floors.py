"""A floor is only a floor if it writes what the gateway writes: the same request applied once through the
gateway and once through its floor transaction (bench/floors.py), each on its own clone of the same row, must
leave the same rows behind, column for column, but for identifiers and times."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.vntime import now_utc
from bench import floor_items, floors, seed
from bench.stack import BenchStack, workdir
from gateway.portals import service as portals
from tests.support.services import create_pg_database, drop_pg_database, require_redis
from tests.support.stack import AGENCY, POSTAL_SECRET

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

VOLATILE = {"id", "position", "created_at", "updated_at", "checked_at", "paid_at", "received_at", "txid", "status_at"}


@pytest.fixture(scope="module")
async def bench_stack() -> AsyncIterator[BenchStack]:
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=require_redis(), workdir=workdir())
    try:
        yield await stack.start()
    finally:
        await stack.stop()
        await drop_pg_database(url)


@pytest.fixture
async def pg(bench_stack: BenchStack) -> AsyncIterator[asyncpg.Connection]:
    conn = await seed.connect(bench_stack.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def _line_body(line: str) -> tuple[dict[str, str], bytes]:
    *headers, body = line.split("\t")
    return dict(h.split(": ", 1) for h in headers), body.encode()


async def _rows(pg: asyncpg.Connection, query: str, *args: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in dict(r).items() if k not in VOLATILE} for r in await pg.fetch(query, *args)]


def _same_shape(gateway: list[dict[str, Any]], floor: list[dict[str, Any]], differ: set[str]) -> None:
    assert len(gateway) == len(floor)
    for ours, theirs in zip(gateway, floor, strict=True):
        assert {k: v for k, v in ours.items() if k not in differ} == {
            k: v for k, v in theirs.items() if k not in differ
        }


@pytest.mark.parametrize("kind", ["callback", "callback_together"])
async def test_a_callbacks_floor_writes_what_the_gateway_writes(
    bench_stack: BenchStack, pg: asyncpg.Connection, kind: str
) -> None:
    template = (await seed.create_payment(bench_stack))["id"]
    by_gateway, by_floor = await seed.clone_payments(pg, template, 2)
    _, body = _line_body(seed.callback_lines([by_gateway])[0])
    async with httpx.AsyncClient(base_url=bench_stack.gateway_url) as client:
        reply = await client.post("/callbacks/payhub", content=body, headers={"Content-Type": "application/json"})
    assert reply.json()["MaLoi"] == "00"
    item = floor_items.callback_items([by_floor])[0]
    item["payload"] = await floor_items.outbox_payload(pg, template)
    await floors.KINDS[kind](pg, item, None)

    differ = {"reference", "hub_transaction_id", "dossier_code", "payment_id", "entry_group", "resource_id"}
    differ |= {"transaction_id", "payload", "bank_code"}
    for query in (
        "SELECT * FROM payments WHERE id = $1",
        "SELECT * FROM ledger_entries WHERE payment_id = $1 ORDER BY account",
        "SELECT * FROM outbox WHERE resource_id = $1 ORDER BY sequence",
        "SELECT * FROM hub_results WHERE reference = (SELECT reference FROM payments WHERE id = $1)",
    ):
        gateway, floor = await _rows(pg, query, by_gateway.id), await _rows(pg, query, by_floor.id)
        assert gateway, query
        _same_shape(gateway, floor, differ)


@pytest.mark.parametrize("kind", ["postal", "postal_together"])
async def test_a_postal_floor_writes_what_the_gateway_writes(
    bench_stack: BenchStack, pg: asyncpg.Connection, kind: str
) -> None:
    template, events = await seed.book_and_deliver(bench_stack)
    (gateway_id, gateway_order), (floor_id, floor_order) = await seed.clone_shipments(pg, template, 2)
    pushes = seed.postal_items(events, [(gateway_id, gateway_order)])
    async with httpx.AsyncClient(base_url=bench_stack.gateway_url) as client:
        for line in seed.push_lines(pushes, POSTAL_SECRET):
            headers, body = _line_body(line)
            reply = await client.post("/callbacks/postal", content=body, headers=headers)
            assert reply.json()["outcome"] == "recorded", reply.text
    payload = await floor_items.outbox_payload(pg, template)
    items = await floor_items.postal_items(pg, seed.postal_items(events, [(floor_id, floor_order)]))
    assert max(len(item["types"]) for item in items) == 2  # an event that announces two events is among them
    for item in items:
        item["payload"] = payload
        await floors.KINDS[kind](pg, item, None)

    differ = {"shipment_id", "dedupe_key", "original_id", "dossier_code", "resource_id", "payload"}
    for query in (
        "SELECT * FROM shipments WHERE id = $1",
        "SELECT * FROM shipment_events WHERE shipment_id = $1 ORDER BY occurred_at, raw_code",
        "SELECT * FROM outbox WHERE resource_id = $1 ORDER BY sequence",
    ):
        gateway, floor = await _rows(pg, query, gateway_id), await _rows(pg, query, floor_id)
        assert gateway, query
        _same_shape(gateway, floor, differ)


async def test_the_feeds_floor_reads_the_page_the_gateway_serves(
    bench_stack: BenchStack, pg: asyncpg.Connection
) -> None:
    """The same cursor read through ``GET /v1/events`` and through the feed's floor: the same events, in order."""
    assert bench_stack.db is not None
    portal_id, api_key = await portals.create_portal(bench_stack.db, "Cổng đọc", [AGENCY.code])
    async with bench_stack.db.unit() as uow:
        for i in range(30):
            await uow.event(
                portal_id=portal_id,
                dossier_code=f"HS-{i % 4}",
                type="payment.paid",
                resource_type="payment",
                resource_id=f"pay_{i}",
                payload={"n": i},
                now=now_utc(),
            )
    rows = await pg.fetch("SELECT txid, position FROM outbox WHERE portal_id = $1 ORDER BY txid, position", portal_id)
    txid, position = rows[9]["txid"], rows[9]["position"]
    async with bench_stack.client(api_key) as api:
        page = (await api.get("/v1/events", params={"after": f"{txid}-{position}", "limit": 12})).json()
    read = await pg.fetch(floors.FEED_PAGE, portal_id, txid, position, 12)
    assert [e["id"] for e in page["data"]] == [r["id"] for r in read] and len(read) == 12
    assert [e["data"] for e in page["data"]] == [json.loads(r["payload"]) for r in read]
