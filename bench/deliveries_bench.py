"""Event delivery on the real stack (PostgreSQL, Redis, gateway, worker): events delivered per second to a local
receiver, as a ratio to a plain client posting the same bodies to the same receiver, and the end-to-end latency
from the event's row (``created_at``, written with the state change) to its arrival at the receiver, for a burst
and for a steady rate.

Both baselines are measured with wrk: the bare Litestar endpoint, and the receiver itself. The worker's CPU and
the database's (its backends and its own processes, the events' writes included) are given per event delivered,
in the bursts and at the steady rate; ``--profile`` samples the worker with py-spy during the first burst and
writes its flame graph.

    .venv/bin/python -m bench.deliveries_bench [--events 5000] [--rate 200] [--runs 3] [--seconds 5]
        [--workers 1] [--profile docs/profiles/deliveries.svg]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from adapters.vntime import now_utc
from bench import bare, load
from bench.harness import Figures, median_of, spread
from bench.profile import py_spy
from bench.seed import asyncpg_dsn
from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from tests.support.processes import Process
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database, wait_for
from tests.support.stack import AGENCY, Stack
from tests.support.webhook_receiver import Receiver

CONCURRENCY = 4  # the relay hands a backlog to about four jobs per portal


class BenchStack(Stack):
    def gateway_env(self) -> dict[str, str]:
        env = super().gateway_env()
        env.update({"LOG_LEVEL": "WARNING", "PENDING_QUERY_AFTER_SECONDS": "3600", "JANITOR_INTERVAL_SECONDS": "60"})
        return env

    def more_workers(self, count: int) -> list[int]:
        """``count`` worker processes beside the stack's own (their metrics not served); every worker's pid."""
        env = {**self.gateway_env(), "WORKER_METRICS_PORT": "0"}
        for n in range(count):
            self.processes[f"worker-{n + 2}"] = Process(f"worker-{n + 2}", ["gateway", "worker"], env, self.workdir)
            self.processes[f"worker-{n + 2}"].start()
        return [p.process.pid for name, p in self.processes.items() if name.startswith("worker") and p.process]


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


@dataclass
class Cpu:
    """CPU milliseconds an event delivered cost the worker and the database over a run."""

    worker_ms: float
    database_ms: float


class Watch:
    """The worker's and the database's CPU over a run, and py-spy on the worker while asked to."""

    def __init__(self, worker_pids: list[int], pg: asyncpg.Connection) -> None:
        self.worker_pids = worker_pids
        self.pg = pg
        self.sampler: asyncio.subprocess.Process | None = None

    async def sample(self, out: Path, rate: int = 100) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        form = "flamegraph" if out.suffix == ".svg" else "raw"  # raw: collapsed stacks, for reading
        command = [py_spy(), "record", "--pid", str(self.worker_pids[0]), "--rate", str(rate), "--format", form]
        command += ["--output", str(out)]
        self.sampler = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.PIPE)

    async def stop_sampling(self) -> None:
        if self.sampler is None:
            return
        self.sampler.send_signal(signal.SIGINT)  # py-spy writes what it sampled when interrupted
        _, errors = await self.sampler.communicate()
        if self.sampler.returncode not in (0, -signal.SIGINT):
            raise SystemExit(f"py-spy failed: {errors.decode()[-2000:]}")
        self.sampler = None

    async def start(self) -> tuple[float, dict[int, float]]:
        pids = await load.database_pids(self.pg)
        return load.cpu_seconds(self.worker_pids), load.database_cpu(pids)

    async def stop(self, started: tuple[float, dict[int, float]], events: int) -> Cpu:
        worker = load.cpu_seconds(self.worker_pids) - started[0]
        database = load.database_seconds(started[1], await load.database_pids(self.pg))
        return Cpu(worker * 1000 / max(events, 1), database * 1000 / max(events, 1))


async def delivery_run(
    stack: Stack, receiver: Receiver, portal_id: str, count: int, rate: float | None, watch: Watch | None = None
) -> tuple[Figures, Cpu | None]:
    receiver.clear()
    meter = await watch.start() if watch else None
    tag = f"{'r' if rate else 'b'}{time.time_ns() % 10**8}"
    started = time.perf_counter()
    created = await write(stack, portal_id, count, rate, tag)
    try:
        # counted as they arrive: reading every delivery's JSON at each look would take the receiver's loop from it
        await wait_for(lambda: len(receiver.verified_ids) >= count, timeout=300, interval=0.05, what="every event")
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
    cpu = await watch.stop(meter, len(latencies)) if watch and meter else None
    return Figures(name, len(latencies), seconds, latencies, count - len(latencies)), cpu


async def bare_run(receiver: Receiver, requests: Path, seconds: float) -> Figures:
    """The receiver's own rate: wrk posting event bodies to it on as many connections as the relay gives a portal."""
    figures = await load.wrk(
        receiver.url, requests, mode="cycle", status=200, seconds=seconds, connections=CONCURRENCY, threads=1
    )
    return Figures.of_load(f"bare POSTs to the receiver (wrk, {CONCURRENCY} connections)", figures)


async def litestar_run(url: str, requests: Path, seconds: float) -> Figures:
    figures = await load.wrk(url, requests, mode="cycle", status=201, seconds=seconds, connections=16, threads=2)
    return Figures.of_load("bare Litestar endpoint (wrk)", figures)


async def webhook_portal(stack: Stack, receiver: Receiver) -> str:
    """A portal whose webhook is the receiver (on the test stack's private address, which the portal may reach)."""
    assert stack.db is not None
    portal_id, api_key = await portals.create_portal(stack.db, "Cổng đo", [AGENCY.code])
    await set_private_webhooks(stack.db, portal_id, True)
    async with stack.client(api_key) as api:
        secret = (await api.put("/v1/webhook", json={"url": receiver.url})).json()["secret"]
    receiver.secrets.append(secret)
    return portal_id


def cpu_line(label: str, cpus: list[Cpu | None]) -> str:
    measured = [c for c in cpus if c is not None]
    worker_ms = statistics.median(c.worker_ms for c in measured) if measured else 0.0
    database_ms = statistics.median(c.database_ms for c in measured) if measured else 0.0
    return f"  CPU an event delivered {label}: worker {worker_ms:.3f} ms, database {database_ms:.3f} ms"


def report(args: argparse.Namespace, runs: dict[str, list[Figures]], cpus: dict[str, list[Cpu | None]]) -> None:
    baseline, litestar, burst = median_of(runs["bare"]), median_of(runs["litestar"]), median_of(runs["burst"])
    print(
        f"PostgreSQL, {args.workers} worker process(es), {args.events} events a burst, {args.rate:g}/s paced, "
        f"median of {args.runs} runs"
    )
    print(litestar.line(), spread(runs["litestar"]), "(the bare endpoint of every benchmark, wrk -c16)")
    print(baseline.line(), spread(runs["bare"]))
    print(burst.line(baseline), spread(runs["burst"]), "(latency: row written → arrival)")
    print(f"  burst delivery as a ratio to the bare Litestar endpoint: {burst.per_second / litestar.per_second:.3f}")
    print(cpu_line("in a burst", cpus["burst"]))
    print(median_of(runs["paced"]).line(), spread(runs["paced"]), "(latency: row written → arrival)")
    print(cpu_line(f"at {args.rate:g}/s", cpus["paced"]))
    if args.profile:
        print(f"flame graph of the worker during the first burst: {args.profile}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the baselines' wrk runs")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (their CPU counted together)")
    parser.add_argument(
        "--profile", type=Path, help="the worker sampled in the first burst: a flame graph (.svg) or collapsed stacks"
    )
    args = parser.parse_args()
    load.require_wrk()
    if args.profile:
        py_spy()

    workdir = Path(tempfile.mkdtemp(prefix="gwbench-"))
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir)
    receiver = await Receiver().start()
    litestar_process = None
    pg = None
    try:
        await stack.start()
        portal_id = await webhook_portal(stack, receiver)
        body = b'{"id":"evt_bare","type":"payment.paid","sequence":1,"data":{"status":"paid","amount":150000}}'
        line = load.request_line(body, {"Gateway-Event-Id": f"evt_bare{load.PLACEHOLDER}"})
        requests = load.write_requests(workdir / "deliveries-bare.txt", [line])
        await bare_run(receiver, requests, 2)  # warm up both
        await delivery_run(stack, receiver, portal_id, 300, None)
        pg = await asyncpg.connect(asyncpg_dsn(url))
        watch = Watch(stack.more_workers(args.workers - 1), pg)
        litestar_process, litestar_url = bare.serve(workdir)
        runs: dict[str, list[Figures]] = {"litestar": [], "bare": [], "burst": [], "paced": []}
        cpus: dict[str, list[Cpu | None]] = {"burst": [], "paced": []}
        paced_count = min(args.events, int(args.rate * 10))
        for run in range(args.runs):
            receiver.clear()
            runs["litestar"].append(await litestar_run(litestar_url, requests, args.seconds))
            runs["bare"].append(await bare_run(receiver, requests, args.seconds))
            if args.profile and run == 0:
                await watch.sample(args.profile)
            for kind, count, rate in (("burst", args.events, None), ("paced", paced_count, args.rate)):
                figures, cpu = await delivery_run(stack, receiver, portal_id, count, rate, watch)
                await watch.stop_sampling()
                runs[kind].append(figures)
                cpus[kind].append(cpu)
        report(args, runs, cpus)
    finally:
        if pg is not None:
            await pg.close()
        if litestar_process is not None:
            litestar_process.stop()
        await receiver.stop()
        await stack.stop()
        await drop_pg_database(url)


if __name__ == "__main__":
    asyncio.run(main())
