"""Event delivery on the real stack (PostgreSQL, Redis, gateway, worker): events delivered per second to a local
receiver, as a ratio to a plain client posting the same bodies to the same receiver, and the end-to-end latency
from the event's row (``created_at``, written with the state change) to its arrival at the receiver, for a burst
and for a steady rate.

Both baselines are measured with wrk: the bare Litestar endpoint, and the receiver itself.

    .venv/bin/python -m bench.deliveries_bench [--events 5000] [--rate 200] [--runs 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path

from adapters.vntime import now_utc
from bench import bare, load
from bench.harness import Figures, median_of, spread
from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database, wait_for
from tests.support.stack import AGENCY, Stack
from tests.support.webhook_receiver import Receiver

CONCURRENCY = 4  # the relay hands a backlog to about four jobs per portal


class BenchStack(Stack):
    def gateway_env(self) -> dict[str, str]:
        env = super().gateway_env()
        env.update({"LOG_LEVEL": "WARNING", "PENDING_QUERY_AFTER_SECONDS": "3600", "JANITOR_INTERVAL_SECONDS": "60"})
        return env


async def write(stack: Stack, portal_id: str, count: int, rate: float | None, tag: str) -> dict[str, datetime]:
    """Events as the areas write them (``uow.event``); at ``rate`` per second in units of one, or all at once."""
    assert stack.db is not None
    created: dict[str, datetime] = {}
    batch = 1 if rate else 100
    started = time.perf_counter()
    for start in range(0, count, batch):
        if rate:
            await asyncio.sleep(max(0.0, started + start / rate - time.perf_counter()))
        async with stack.db.unit() as uow:
            for i in range(start, min(count, start + batch)):
                now = now_utc()
                event_id = await uow.event(
                    portal_id=portal_id,
                    dossier_code=f"HS-{tag}-{i % 500:04d}",
                    type="payment.paid",
                    resource_type="payment",
                    resource_id=f"pay_bench{i:08d}",
                    payload={"status": "paid", "amount": 150_000, "n": i},
                    now=now,
                )
                created[event_id] = now
    return created


async def delivery_run(stack: Stack, receiver: Receiver, portal_id: str, count: int, rate: float | None) -> Figures:
    receiver.deliveries.clear()
    tag = f"{'r' if rate else 'b'}{time.time_ns() % 10**8}"
    started = time.perf_counter()
    created = await write(stack, portal_id, count, rate, tag)
    try:
        await wait_for(lambda: len(receiver.unique()) >= count, timeout=300, interval=0.05, what="every event")
    except AssertionError:
        pass  # counted below as errors
    arrivals = {}
    for d in receiver.deliveries:
        arrivals.setdefault(d.headers["gateway-event-id"], d.at)
    latencies = [arrivals[i] - created[i].timestamp() for i in created if i in arrivals]
    first = min(c.timestamp() for c in created.values())
    last = max(arrivals.values())
    name = f"webhook deliveries ({f'{rate:g}/s' if rate else 'burst'})"
    seconds = last - first if not rate else time.perf_counter() - started
    return Figures(name, len(latencies), seconds, latencies, count - len(latencies))


async def bare_run(receiver: Receiver, requests: Path, seconds: float) -> Figures:
    """The receiver's own rate: wrk posting event bodies to it on as many connections as the relay gives a portal."""
    figures = await load.wrk(
        receiver.url, requests, mode="cycle", status=200, seconds=seconds, connections=CONCURRENCY, threads=1
    )
    return Figures.of_load(f"bare POSTs to the receiver (wrk, {CONCURRENCY} connections)", figures)


async def litestar_run(url: str, requests: Path, seconds: float) -> Figures:
    figures = await load.wrk(url, requests, mode="cycle", status=201, seconds=seconds, connections=16, threads=2)
    return Figures.of_load("bare Litestar endpoint (wrk)", figures)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the baselines' wrk runs")
    args = parser.parse_args()
    load.require_wrk()

    workdir = Path(tempfile.mkdtemp(prefix="gwbench-"))
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir)
    receiver = await Receiver().start()
    litestar_process = None
    try:
        await stack.start()
        assert stack.db is not None
        portal_id, api_key = await portals.create_portal(stack.db, "Cổng đo", [AGENCY.code])
        await set_private_webhooks(stack.db, portal_id, True)  # the receiver is on the test stack's private address
        async with stack.client(api_key) as api:
            secret = (await api.put("/v1/webhook", json={"url": receiver.url})).json()["secret"]
        receiver.secrets.append(secret)
        body = b'{"id":"evt_bare","type":"payment.paid","sequence":1,"data":{"status":"paid","amount":150000}}'
        line = load.request_line(body, {"Gateway-Event-Id": f"evt_bare{load.PLACEHOLDER}"})
        requests = load.write_requests(workdir / "deliveries-bare.txt", [line])
        await bare_run(receiver, requests, 2)  # warm up both
        await delivery_run(stack, receiver, portal_id, 300, None)
        litestar_process, litestar_url = bare.serve(workdir)
        bares, litestars, bursts, paced = [], [], [], []
        for _ in range(args.runs):
            receiver.deliveries.clear()
            litestars.append(await litestar_run(litestar_url, requests, args.seconds))
            bares.append(await bare_run(receiver, requests, args.seconds))
            receiver.deliveries.clear()
            bursts.append(await delivery_run(stack, receiver, portal_id, args.events, None))
            paced.append(
                await delivery_run(stack, receiver, portal_id, min(args.events, int(args.rate * 10)), args.rate)
            )
        baseline, litestar = median_of(bares), median_of(litestars)
        print(f"PostgreSQL, {args.events} events a burst, {args.rate:g}/s paced, median of {args.runs} runs")
        print(litestar.line(), spread(litestars), "(the bare endpoint of every benchmark, wrk -c16)")
        print(baseline.line(), spread(bares))
        print(median_of(bursts).line(baseline), spread(bursts), "(latency: row written → arrival)")
        print(
            f"  burst delivery as a ratio to the bare Litestar endpoint: "
            f"{median_of(bursts).per_second / litestar.per_second:.3f}"
        )
        print(median_of(paced).line(), spread(paced), "(latency: row written → arrival)")
    finally:
        if litestar_process is not None:
            litestar_process.stop()
        await receiver.stop()
        await stack.stop()
        await drop_pg_database(url)


if __name__ == "__main__":
    asyncio.run(main())
