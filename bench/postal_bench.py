"""Postal events on the real stack (PostgreSQL, postal sandbox, gateway under uvicorn): events ingested per second
by the signed webhook and by the polled feed, each as a ratio to a bare Litestar endpoint served the same way in
the same run.

Each run books fresh parcels through the API and moves them through a delivery at the post (9 events each).
The webhook figure is signed pushes answered ``recorded`` per second from closed-loop clients; the feed figure is
the worker's own poll (pages of 500 recorded with their cursor in one transaction each) over the new events.

    .venv/bin/python -m bench.postal_bench [--runs 3] [--parcels 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from adapters.postal import PostalClient, PostalConfig
from adapters.postal import webhook as signatures
from bench import bare
from bench.harness import Figures, closed_loop, median_of, spread
from gateway.shipments import tracking
from tests.support.processes import Process
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.stack import POSTAL_CUSTOMER, POSTAL_PASSWORD, POSTAL_SECRET, POSTAL_USER, Stack

FEED_PAGE = 500


class BenchStack(Stack):
    def gateway_env(self) -> dict[str, str]:
        env = super().gateway_env()
        env.update({"LOG_LEVEL": "WARNING", "AUTH_CACHE_SECONDS": "10"})
        return env

    def post_env(self) -> dict[str, str]:  # no push: the benchmark delivers the signed events itself
        env = super().post_env()
        env.pop("POSTAL_WEBHOOK_URL")
        return env

    def start_worker(self) -> Process:  # the benchmark runs the feed poll itself, timed
        return Process("noop", ["gateway", "--help"], {}, self.workdir)


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


async def feed_items(stack: BenchStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    async with stack.post() as post:
        last = 0
        while True:
            page = (
                await post.post(
                    "/customer-partner/getOrderTracking",
                    json={"pageSize": 500, "lastId": last},
                    headers={"token": await token(post)},
                )
            ).json()
            items.extend(page["items"])
            if not page["items"]:
                return items
            last = page["lastId"]


async def token(post: httpx.AsyncClient) -> str:
    reply = await post.post(
        "/customer-partner/GetAccessToken",
        json={"username": POSTAL_USER, "password": POSTAL_PASSWORD, "customerCode": POSTAL_CUSTOMER},
    )
    return str(reply.json()["token"])


async def bare_run(url: str, requests: int, concurrency: int) -> Figures:
    return await bare.measure(url, event_item, requests, concurrency)


async def webhook_run(stack: BenchStack, items: list[dict[str, Any]], concurrency: int) -> Figures:
    bodies = [msgspec.json.encode(item) for item in items]
    url = f"{stack.gateway_url}/callbacks/postal"

    async def one(client: httpx.AsyncClient, i: int) -> bool:
        header = signatures.sign(POSTAL_SECRET, int(time.time()), bodies[i])
        response = await client.post(url, content=bodies[i], headers={signatures.HEADER: header})
        return response.status_code == 200 and response.json()["outcome"] == "recorded"

    return await closed_loop("webhook events recorded", one, concurrency=concurrency, requests=len(bodies))


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
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gwbench-"))
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir)
    bare_process: Process | None = None
    config = PostalConfig(
        base_url=stack.post_url, username=POSTAL_USER, password=POSTAL_PASSWORD, customer_code=POSTAL_CUSTOMER
    )
    try:
        await stack.start()
        bare_process, bare_url = bare.serve(workdir)
        async with PostalClient(config) as client:
            await bare_run(bare_url, 200, args.concurrency)  # warm up both paths
            await webhook_run(stack, await parcels(stack, 10), args.concurrency)
            await tracking.poll(stack.db, client, page_size=FEED_PAGE, max_pages=1_000_000)  # type: ignore[arg-type]
            baselines, pushes, feeds = [], [], []
            for _ in range(args.runs):
                pushed = await parcels(stack, args.parcels)
                baselines.append(await bare_run(bare_url, len(pushed), args.concurrency))
                pushes.append(await webhook_run(stack, pushed, args.concurrency))
                await tracking.poll(stack.db, client, page_size=FEED_PAGE, max_pages=1_000_000)  # type: ignore[arg-type]
                polled = await parcels(stack, args.parcels)
                feeds.append(await feed_run(stack, client, len(polled)))
        baseline = median_of(baselines)
        print(
            f"PostgreSQL, concurrency {args.concurrency}, {args.parcels} parcels × 9 events a run, "
            f"median of {args.runs} runs"
        )
        print(baseline.line(), spread(baselines))
        print(median_of(pushes).line(baseline), spread(pushes))
        print(median_of(feeds).line(baseline), spread(feeds))
    finally:
        if bare_process is not None:
            bare_process.stop()
        await stack.stop()
        await drop_pg_database(url)


if __name__ == "__main__":
    asyncio.run(main())
