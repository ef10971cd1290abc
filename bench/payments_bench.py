"""Payments on the real stack (PostgreSQL, Redis, hub sandbox, gateway under uvicorn): payment creations per
second with the hub in the loop, and hub callbacks applied per second, each as a ratio to a bare Litestar
endpoint served the same way in the same run.

    .venv/bin/python -m bench.payments_bench [--runs 3] [--requests 1500] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
from pathlib import Path

import httpx

from bench import bare
from bench.harness import Figures, closed_loop, median_of, spread
from tests.support.processes import Process
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.stack import Stack, payment_body


class BenchStack(Stack):
    def gateway_env(self) -> dict[str, str]:
        env = super().gateway_env()
        env.update({"PENDING_QUERY_AFTER_SECONDS": "3600", "LOG_LEVEL": "WARNING", "AUTH_CACHE_SECONDS": "10"})
        return env

    def start_worker(self) -> Process:  # the worker plays no part in these figures
        return Process("noop", ["gateway", "--help"], {}, self.workdir)


async def create_run(stack: BenchStack, requests: int, concurrency: int) -> tuple[Figures, list[dict[str, str]]]:
    made: list[dict[str, str]] = []
    auth = {"Authorization": f"Bearer {stack.api_key}"}

    async def one(client: httpx.AsyncClient, _i: int) -> bool:
        headers = {**auth, "Idempotency-Key": secrets.token_hex(12)}
        response = await client.post(f"{stack.gateway_url}/v1/payments", json=payment_body(), headers=headers)
        if response.status_code == 201:
            made.append(response.json())
        return response.status_code == 201

    figures = await closed_loop("payment creations (hub in loop)", one, concurrency=concurrency, requests=requests)
    return figures, made


async def callback_run(stack: BenchStack, payments: list[dict[str, str]], concurrency: int) -> Figures:
    """Pay each payment at the hub with its callback held back, then deliver the signed callbacks ourselves."""
    async with httpx.AsyncClient(base_url=stack.hub_url, timeout=30) as hub:
        await hub.put("/control/faults", json={"callback": {"drop": len(payments)}})
        bodies: list[bytes] = []
        for payment in payments:
            await hub.post(f"/control/payments/{payment['reference']}/pay", json={"result": "00"})
            bodies.append((await hub.get(f"/control/payments/{payment['reference']}/callback")).content)
        await hub.delete("/control/faults")
    url = f"{stack.gateway_url}/callbacks/payhub"

    async def one(client: httpx.AsyncClient, i: int) -> bool:
        response = await client.post(url, content=bodies[i], headers={"Content-Type": "application/json"})
        return response.status_code == 200 and response.json()["MaLoi"] == "00"

    return await closed_loop("hub callbacks applied", one, concurrency=concurrency, requests=len(bodies))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gwbench-"))
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir)
    bare_process: Process | None = None
    body = payment_body()
    try:
        await stack.start()
        bare_process, bare_url = bare.serve(workdir)

        async def bare_run(url: str, requests: int, concurrency: int) -> Figures:
            return await bare.measure(url, lambda _i: body, requests, concurrency)

        await bare_run(bare_url, 200, args.concurrency)  # warm up both
        await create_run(stack, 200, args.concurrency)
        baselines, creations, callbacks = [], [], []
        for _ in range(args.runs):
            baselines.append(await bare_run(bare_url, args.requests, args.concurrency))
            figures, made = await create_run(stack, args.requests, args.concurrency)
            creations.append(figures)
            callbacks.append(await callback_run(stack, made, args.concurrency))
        baseline = median_of(baselines)
        print(f"PostgreSQL, concurrency {args.concurrency}, {args.requests} requests a run, median of {args.runs} runs")
        print(baseline.line(), spread(baselines))
        print(median_of(creations).line(baseline), spread(creations))
        print(median_of(callbacks).line(baseline), spread(callbacks))
    finally:
        if bare_process is not None:
            bare_process.stop()
        await stack.stop()
        await drop_pg_database(url)


if __name__ == "__main__":
    asyncio.run(main())
