"""The gateway's resident memory as requests go by: RSS after the first ``--first`` requests (10k) and after
``--requests`` (1M for the target; 200k for a quick look), with the RSS over time between them.

The load is wrk (bench/wrk/requests.lua) cycling through a mix of what a portal and the hub send: payment
creations (each with a fresh Idempotency-Key and dossier, the hub in the loop), reads of payments, a list page,
and hub callbacks (applied once, then repeats that are acknowledged and change nothing). RSS is read from
``/proc`` between wrk segments, so every reading is taken with the gateway idle, and every second meanwhile.

    .venv/bin/python -m bench.memory_bench [--requests 1000000] [--first 10000] [--segment-seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from bench import load, seed
from bench.load import request_line, write_requests
from bench.stack import BenchStack, stop_on_sigterm, workdir
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its workers, in MiB."""
    total = 0
    for member in load.process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def mix(stack: BenchStack, count: int) -> Path:
    """Request lines of the mix over ``count`` cloned payments (see the module's docstring)."""
    template = (await seed.create_payment(stack))["id"]
    conn = await seed.connect(stack.database_url)
    try:
        seeds = await seed.clone_payments(conn, template, count)
    finally:
        await conn.close()
    auth = {"Authorization": f"Bearer {stack.api_key}"}
    create = seed.creation_line(stack.api_key, "/v1/payments")
    lines: list[str] = []
    for n, (payment, callback) in enumerate(zip(seeds, seed.callback_lines(seeds), strict=True)):
        lines.append(request_line(b"", auth, get=f"/v1/payments/{payment.id}"))
        lines.append(callback)
        if n % 10 == 0:
            lines.append(create)
        if n % 50 == 0:
            lines.append(request_line(b"", auth, get="/v1/payments?limit=20"))
    return write_requests(stack.workdir / "memory-mix.txt", lines)


async def sample_rss(pid: int, started: float, series: list[tuple[float, float]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        series.append((round(time.perf_counter() - started, 1), round(rss_mb(pid), 1)))
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def run(args: argparse.Namespace) -> dict[str, object]:
    stop_on_sigterm()
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir())
    try:
        await stack.start()
        requests = await mix(stack, 2000)
        pid = stack.gateway_pid
        started = time.perf_counter()
        series: list[tuple[float, float]] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(pid, started, series, stop))
        checkpoints: list[dict[str, float]] = [{"requests": 0, "seconds": 0.0, "rss_mb": round(rss_mb(pid), 1)}]
        print(f"RSS at start {checkpoints[0]['rss_mb']:.1f} MiB", flush=True)
        total, rate = 0, 0.0
        while total < args.requests:
            wanted = (args.first if total < args.first else args.requests) - total
            seconds = args.segment_seconds if not rate else min(args.segment_seconds, max(1.0, wanted / rate))
            figures = await load.wrk(
                stack.gateway_url + "/callbacks/payhub",  # the route of the lines that name none
                requests,
                mode="cycle",
                status="2xx",
                seconds=min(seconds, 5.0) if not rate else seconds,
                connections=args.connections,
                threads=2,
                server_pids=[pid],
            )
            total += figures.requests
            rate = figures.requests / figures.seconds
            point = {
                "requests": total,
                "seconds": round(time.perf_counter() - started, 1),
                "rss_mb": round(rss_mb(pid), 1),
                "rate": round(rate, 1),
                "not_ok": figures.bad + sum(figures.errors.values()),
            }
            checkpoints.append(point)
            print(
                f"  {total:>9,} requests  {point['seconds']:>7.0f} s  RSS {point['rss_mb']:7.1f} MiB  "
                f"({rate:,.0f}/s, not ok {point['not_ok']})",
                flush=True,
            )
        stop.set()
        await sampler
        first = next(p for p in checkpoints if p["requests"] >= args.first)
        last = checkpoints[-1]
        return {
            "first": first,
            "last": last,
            "ratio": last["rss_mb"] / first["rss_mb"],
            "checkpoints": checkpoints,
            "series": series,
        }
    finally:
        await stack.stop()
        await drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--first", type=int, default=10_000)
    parser.add_argument("--segment-seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the checkpoints and the RSS series here")
    args = parser.parse_args()
    load.require_wrk()
    result = asyncio.run(run(args))
    first, last = result["first"], result["last"]
    print(
        f"\nRSS after {first['requests']:,} requests: {first['rss_mb']:.1f} MiB; after {last['requests']:,}: "  # type: ignore[index]
        f"{last['rss_mb']:.1f} MiB; ratio {result['ratio']:.3f} (target ≤ 1.1)"  # type: ignore[index]
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
