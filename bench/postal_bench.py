"""Postal events recorded from the post's polled feed (the worker's own poll, ``gateway.shipments.tracking.poll``,
run in the benchmark process, pages of 500 recorded with their cursor in one transaction each), on the real stack
(PostgreSQL, the postal sandbox), as a ratio to the bare Litestar endpoint measured with wrk in the same run.

Each run books fresh parcels through the API and moves them through a delivery at the post (9 events each), then
polls the feed to its end. The signed webhook pushes are measured by bench/http_bench.py (wrk, with a floor).

    .venv/bin/python -m bench.postal_bench [--runs 3] [--parcels 200]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from typing import Any

import httpx
import msgspec

from adapters.postal import PostalClient, PostalConfig
from bench import load
from bench.harness import Figures, median_of, spread
from bench.seed import feed_items
from bench.stack import BenchStack, workdir
from gateway.shipments import tracking
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.stack import POSTAL_CUSTOMER, POSTAL_PASSWORD, POSTAL_USER

FEED_PAGE = 500


def event_item(i: int) -> dict[str, Any]:
    """A feed item of the post's shape, for the bare endpoint."""
    return {
        "id": i,
        "originalId": "OD00000001",
        "itemCode": "EB100000003VN",
        "saleOrderCode": "shp_x",
        "status": 10,
        "statusName": "Đang vận chuyển",
        "time": "2026-07-01T08:30:15",
        "location": "Trung tâm khai thác",
        "note": "",
        "codAmount": 0,
    }


async def parcels(stack: BenchStack, count: int) -> list[dict[str, Any]]:
    """Book ``count`` parcels and deliver them at the post; return every event the post logged for them."""
    ids: list[str] = []
    auth = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30, headers=auth) as api, stack.post() as post:

        async def one(_: int) -> None:
            body = {
                "dossier_code": f"000.00.01.H26-{secrets.token_hex(5)}",
                "direction": "deliver_result",
                "agency_code": "000.00.01.H26",
                "procedure_code": "1.001193",  # the agency has procedures that may not go by post: name it
                "weight_grams": 300,
                "citizen": {
                    "name": "Trần Văn Bình",
                    "phone": "0912345678",
                    "address": {"province_code": "79", "commune_code": "25747", "street": "12 Yersin"},
                },
            }
            response = await api.post("/v1/shipments", json=body, headers={"Idempotency-Key": secrets.token_hex(12)})
            assert response.status_code == 201, response.text
            shipment = response.json()
            ids.append(shipment["id"])
            moved = await post.post(f"/control/orders/{shipment['original_id']}/advance", json={"scenario": "deliver"})
            assert moved.status_code == 200, moved.text

        for start in range(0, count, 16):
            await asyncio.gather(*(one(i) for i in range(start, min(count, start + 16))))
    wanted = set(ids)
    return [e for e in await feed_items(stack) if e["saleOrderCode"] in wanted]


async def feed_run(stack: BenchStack, client: PostalClient, expected: int) -> Figures:
    assert stack.db is not None
    started = time.perf_counter()
    report = await tracking.poll(stack.db, client, page_size=FEED_PAGE, max_pages=1_000_000)
    elapsed = time.perf_counter() - started
    errors = expected - report.tally.recorded
    return Figures(
        "feed events recorded", report.tally.recorded, elapsed, [elapsed / max(report.pages, 1)] * report.pages, errors
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parcels", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the bare endpoint's wrk run")
    args = parser.parse_args()
    load.require_wrk()

    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir())
    config = PostalConfig(
        base_url=stack.post_url, username=POSTAL_USER, password=POSTAL_PASSWORD, customer_code=POSTAL_CUSTOMER
    )
    try:
        await stack.start()
        assert stack.db is not None
        items = [load.request_line(msgspec.json.encode(event_item(i))) for i in range(500)]
        bare_file = load.write_requests(stack.workdir / "postal-bare.txt", items)

        async def bare_run() -> Figures:
            figures = await load.wrk(
                stack.bare_url, bare_file, mode="cycle", status=201, seconds=args.seconds, connections=16, threads=2
            )
            return Figures.of_load("bare Litestar endpoint (wrk)", figures)

        async with PostalClient(config) as client:
            await bare_run()  # warm up both paths
            await parcels(stack, 10)
            await tracking.poll(stack.db, client, page_size=FEED_PAGE, max_pages=1_000_000)
            baselines, feeds = [], []
            for _ in range(args.runs):
                baselines.append(await bare_run())
                polled = await parcels(stack, args.parcels)
                feeds.append(await feed_run(stack, client, len(polled)))
        baseline = median_of(baselines)
        print(f"PostgreSQL, {args.parcels} parcels × 9 events a run, median of {args.runs} runs")
        print(baseline.line(), spread(baselines))
        print(median_of(feeds).line(baseline), spread(feeds))
    finally:
        await stack.stop()
        await drop_pg_database(url)


if __name__ == "__main__":
    asyncio.run(main())
