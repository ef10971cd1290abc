"""The gateway's HTTP paths under wrk, each beside its two baselines measured in the same run:

- **bare**: ``bench/bare.py``, a middleware-free Litestar POST served exactly as the gateway is (uvicorn, the
  same process count), sent the same requests: what the server and the generator allow;
- **floor**: the path's SQL writes through raw asyncpg on as many connections as wrk opens (bench/floors.py),
  plus, for creations, the hub's INIT over a pooled keep-alive client: what PostgreSQL and the hub allow; for
  callbacks and postal events also **floor, writes together**: the same writes in the statements the gateway now
  sends (its writes after the lock and the update in one statement of CTEs), a floor for the gateway's own shape;
- **gateway**: the real path, on the real stack (PostgreSQL, Redis, the hub and postal sandboxes).

Paths: payment creations (a fresh Idempotency-Key and dossier per request), hub callbacks (signed CONFIRM bodies
of pre-created pending payments, each posted once), postal webhook pushes (signed just before the run) and a
portal's reads of its event feed (``GET /v1/events``, pages of 100 events from cursors spread over 20,000; its
floor is the page's one read, the only path whose floor reads rather than writes). A run
that runs out of its prepared work is run again, on more. After the runs, each path is driven again at half its
median peak rate on a fixed schedule, for p99 against p50, and its floor at the same rate, paced the same way
(``--half-rate-runs N`` for N of each: a tail is one sample a run).
Every row shows wrk's own CPU and the server's, so that the generator is seen not to be the bottleneck, and
PostgreSQL's for the benchmark's database.

    .venv/bin/python -m bench.http_bench [--runs 5] [--seconds 10] [--paths creation,callback,postal,feed]
        [--connections 16] [--threads 2] [--workers 1] [--json var/bench.json] [--database-setting NAME=VALUE]
        [--half-rate-runs 1]

``--workers 1,2`` measures one and two gateway processes (``gateway serve --workers``) in the same runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from adapters.vntime import now_utc
from bench import floor_items, load, pauses, seed
from bench.load import write_requests
from bench.report import Results, Sample, median, spread, table
from bench.stack import BenchStack, stop_on_sigterm, workdir
from gateway.portals import service as portals
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.stack import AGENCY, POSTAL_SECRET


@dataclass
class Bench:
    stack: BenchStack
    pg: asyncpg.Connection
    workdir: Path
    args: argparse.Namespace
    results: Results = field(default_factory=Results.empty)

    async def db(self) -> asyncpg.Connection:
        """The benchmark's own connection, opened again if the shared server dropped it."""
        if self.pg.is_closed():
            self.pg = await seed.connect(self.stack.database_url)
        return self.pg

    def wrk(self, url: str, path: Path, **kw: Any) -> Any:
        a = self.args
        return load.wrk(
            url,
            path,
            seconds=kw.pop("seconds", a.seconds),
            connections=a.connections,
            threads=a.threads,
            database=self.pg,
            **kw,
        )


class HttpPath:
    """One path under test: its requests, its floor's work and what a right answer looks like."""

    name = ""
    label = ""
    route = ""
    mode = "once"  # how wrk uses the gateway's request file (see bench/wrk/requests.lua)
    status = 200
    expect: str | None = None
    gateway_rate = 300.0  # first guesses, replaced by what the runs show: they size the single-use requests
    floor_rate = 3000.0
    payload = ""
    together = ""  # a second floor: the path's writes in the statements the gateway now sends (bench/floors.py)
    bare_file: Path

    def seen(self, floor_rate: float, gateway_rate: float) -> None:
        """Size the next runs' single-use work on the fastest run so far, so that no run runs out of it: the
        gateway's never below the first guess (a short warm-up on a busy machine can be far below a run), the
        floor's (thousands of rows to write beforehand) on what it did."""
        self.fastest_floor = max(getattr(self, "fastest_floor", 0.0), floor_rate)
        self.floor_rate = self.fastest_floor * 1.3
        self.gateway_rate = max(self.gateway_rate, gateway_rate * 1.3)

    async def setup(self, bench: Bench) -> None:
        raise NotImplementedError

    async def gateway_requests(self, bench: Bench, count: int) -> Path:
        raise NotImplementedError

    async def floor_items(self, bench: Bench, count: int) -> list[dict[str, Any]]:
        raise NotImplementedError


class Creations(HttpPath):
    name, label, route, mode, status = (
        "creation",
        "payment creations (hub sandbox in the loop)",
        "/v1/payments",
        "cycle",
        201,
    )
    expect = '"status":"pending"'
    gateway_rate, floor_rate = 150.0, 800.0

    async def setup(self, bench: Bench) -> None:
        self.template = (await seed.create_payment(bench.stack))["id"]
        self.payload = await floor_items.outbox_payload(await bench.db(), self.template)
        self.bare_file = write_requests(bench.workdir / "creation.txt", [seed.creation_line(bench.stack.api_key)])

    async def gateway_requests(self, bench: Bench, count: int) -> Path:
        return self.bare_file  # one template: every request gets its own key and dossier

    async def floor_items(self, bench: Bench, count: int) -> list[dict[str, Any]]:
        return await floor_items.creation_items(await bench.db(), self.template, bench.stack.hub_url, count)


class Callbacks(HttpPath):
    name, label, route = "callback", "hub callbacks applied", "/callbacks/payhub"
    expect = '"MaLoi":"00"'
    together = "callback_together"
    gateway_rate, floor_rate = 400.0, 3000.0

    async def setup(self, bench: Bench) -> None:
        self.template = (await seed.create_payment(bench.stack))["id"]
        self.payload = await floor_items.outbox_payload(await bench.db(), self.template)
        fake = [seed.PaymentSeed(str(i), f"PG000000BARE{i:06d}", 150_000, "p", "d") for i in range(1000)]
        self.bare_file = write_requests(bench.workdir / "callback-bare.txt", seed.callback_lines(fake))

    async def gateway_requests(self, bench: Bench, count: int) -> Path:
        seeds = await seed.clone_payments(await bench.db(), self.template, count)
        return write_requests(bench.workdir / "callbacks.txt", seed.callback_lines(seeds))

    async def floor_items(self, bench: Bench, count: int) -> list[dict[str, Any]]:
        return floor_items.callback_items(await seed.clone_payments(await bench.db(), self.template, count))


class PostalPushes(HttpPath):
    name, label, route = "postal", "postal webhook events recorded", "/callbacks/postal"
    expect = '"recorded"'
    together = "postal_together"
    gateway_rate, floor_rate = 600.0, 3000.0

    async def setup(self, bench: Bench) -> None:
        self.template, self.events = await seed.book_and_deliver(bench.stack)
        self.payload = await floor_items.outbox_payload(await bench.db(), self.template)
        fake = seed.postal_items(self.events, [(f"shp_{i}", f"BARE{i:06d}") for i in range(120)])
        self.bare_file = write_requests(bench.workdir / "postal-bare.txt", seed.push_lines(fake, POSTAL_SECRET))

    async def pushes(self, bench: Bench, count: int) -> list[dict[str, Any]]:
        clones = await seed.clone_shipments(await bench.db(), self.template, math.ceil(count / len(self.events)))
        return seed.postal_items(self.events, clones)

    async def gateway_requests(self, bench: Bench, count: int) -> Path:
        lines = seed.push_lines(await self.pushes(bench, count), POSTAL_SECRET)  # signed now: valid for 300 s
        return write_requests(bench.workdir / "postal.txt", lines)

    async def floor_items(self, bench: Bench, count: int) -> list[dict[str, Any]]:
        return await floor_items.postal_items(await bench.db(), await self.pushes(bench, count))


class FeedPages(HttpPath):
    """A portal reading its events feed (``GET /v1/events``), a page of ``PAGE`` events from cursors spread over
    ``EVENTS`` events written as the areas write them; the floor is the page's one read."""

    name, label, route, mode = "feed", "event feed pages read (100 events a page)", "/v1/events", "cycle"
    expect = '"next_cursor"'
    gateway_rate, floor_rate = 300.0, 3000.0
    EVENTS, PAGE = 20_000, 100

    async def setup(self, bench: Bench) -> None:
        db = bench.stack.db
        assert db is not None
        self.portal_id, self.api_key = await portals.create_portal(db, "Cổng đọc sự kiện", [AGENCY.code])
        for start in range(0, self.EVENTS, 500):
            async with db.unit() as uow:
                for i in range(start, start + 500):
                    await uow.event(
                        portal_id=self.portal_id,
                        dossier_code=f"000.00.01.H26-FEED-{i % 2000:05d}",
                        type="payment.paid",
                        resource_type="payment",
                        resource_id=f"pay_feed{i:08d}",
                        payload={"status": "paid", "amount": 150_000, "paid_amount": 150_000, "n": i},
                        now=now_utc(),
                    )
        rows = await (await bench.db()).fetch(
            "SELECT txid, position FROM outbox WHERE portal_id = $1 ORDER BY txid, position", self.portal_id
        )
        last_full = len(rows) - self.PAGE  # every page starts where a full page follows
        self.cursors = [(0, 0)] + [(r["txid"], r["position"]) for r in rows[self.PAGE - 1 : last_full : self.PAGE]]
        self.bare_file = write_requests(bench.workdir / "feed-bare.txt", [seed.creation_line(bench.stack.api_key)])

    async def gateway_requests(self, bench: Bench, count: int) -> Path:
        header = {"Authorization": f"Bearer {self.api_key}"}
        lines = [
            load.request_line(b"", header, get=f"{self.route}?after={txid}-{position}&limit={self.PAGE}")
            for txid, position in self.cursors
        ]
        return write_requests(bench.workdir / "feed.txt", lines)

    async def floor_items(self, bench: Bench, count: int) -> list[dict[str, Any]]:
        return [
            {"portal_id": self.portal_id, "txid": txid, "position": position, "limit": self.PAGE}
            for txid, position in itertools.islice(itertools.cycle(self.cursors), count)
        ]


PATHS: dict[str, type[HttpPath]] = {p.name: p for p in (Creations, Callbacks, PostalPushes, FeedPages)}


def sample(figures: load.Load, run: int = 0) -> Sample:
    return Sample(
        figures.per_second,
        figures.p50_ms,
        figures.p99_ms,
        figures.generator_cores,
        figures.server_cores,
        figures.machine_cores,
        figures.ok,
        figures.bad + sum(figures.errors.values()),
        run,
        figures.database_cores,
    )


def floor_sample(figures: dict[str, Any], run: int = 0) -> Sample:
    return Sample(
        figures["count"] / figures["seconds"],
        figures["p50_ms"],
        figures["p99_ms"],
        figures["cores"],
        0.0,
        figures["machine_cores"],
        figures["count"],
        0,
        run,
        figures.get("database_cores", 0.0),
    )


ATTEMPTS = 3  # runs of a path tried for each run counted


def needed(rate: float, seconds: float) -> int:
    """Single-use requests (or floor items) for ``seconds`` at ``rate`` (already 1.3 × the fastest run seen)."""
    return int(rate * seconds * 1.15) + 200


async def run_floor(
    bench: Bench, path: HttpPath, kind: str, seconds: float, rate: float | None = None
) -> dict[str, Any]:
    """One run of the floor ``kind`` (bench/floors.py) on fresh work of ``path``; with ``rate``, paced."""
    return await floor_items.run_floor(
        kind,
        await path.floor_items(bench, needed(rate or path.floor_rate, seconds)),
        url=bench.stack.database_url,
        connections=bench.args.connections,
        seconds=seconds,
        payload=path.payload,
        workdir=bench.workdir,
        rate=rate,
    )


async def measure_path(
    bench: Bench, path: HttpPath, section: str, seconds: float, record: bool, suffix: str = "", run: int = 0
) -> bool:
    """bare, floor, gateway: one run of a path; ``suffix`` tells the rows of one process count from another's.
    ``False`` if the run ran out of its prepared work and is left out (the next is sized on what it did)."""
    stack = bench.stack
    clock = time.perf_counter()
    bare = await bench.wrk(
        stack.bare_url, path.bare_file, mode="cycle", status=201, seconds=seconds, server_pids=[stack.bare_pid]
    )
    floor = await run_floor(bench, path, path.name, seconds)
    together = await run_floor(bench, path, path.together, seconds) if path.together else None
    requests = await path.gateway_requests(bench, needed(path.gateway_rate, seconds))
    gateway = await bench.wrk(
        f"{stack.gateway_url}{path.route}",
        requests,
        mode=path.mode,
        status=path.status,
        expect=path.expect,
        seconds=seconds,
        server_pids=[stack.gateway_pid],
    )
    floor_figures = floor_sample(floor, run)
    fastest = max(floor_figures.rate, floor_sample(together).rate if together is not None else 0.0)
    path.seen(fastest, gateway.requests / gateway.seconds if gateway.seconds else 0.0)  # with any reused: faster
    exhausted = floor["exhausted"] or (together is not None and together["exhausted"])
    if exhausted or gateway.reused:
        text = f"a run ran out of prepared work (floor {exhausted}, gateway reused {gateway.reused}): left out"
        print(f"  {path.name:<9} {text}", flush=True)
        bench.results.note(section, text)
        return False
    if record:
        bench.results.add(section, f"bare{suffix}", sample(bare, run))
        bench.results.add(section, f"floor{suffix}", floor_figures)
        bench.results.add(section, f"gateway{suffix}", sample(gateway, run))
        bench.results.pair(section, f"gateway{suffix}", f"bare{suffix}")
        bench.results.pair(section, f"gateway{suffix}", f"floor{suffix}")
        if together is not None:
            bench.results.add(section, f"floor, writes together{suffix}", floor_sample(together, run))
            bench.results.pair(section, f"gateway{suffix}", f"floor, writes together{suffix}")
    also = f" (writes together {floor_sample(together).rate:,.0f}/s)" if together is not None else ""
    print(
        f"  {path.name:<9} bare {bare.per_second:8,.0f}/s (wrk {bare.generator_cores:.2f} cores)   "
        f"floor {floor_figures.rate:7,.0f}/s{also}"
        f"   gateway {gateway.per_second:7,.1f}/s p50 {gateway.p50_ms:.1f} ms "
        f"p99 {gateway.p99_ms:.1f} ms (server {gateway.server_cores:.2f} cores, machine {gateway.machine_cores:.2f})"
        f"{'' if record else '  [warm-up]'} [{time.perf_counter() - clock:.0f} s]",
        flush=True,
    )
    return True


async def half_rate(bench: Bench, path: HttpPath, section: str) -> None:
    """The gateway at half its median peak, on a fixed schedule (requests.lua ``rate=``), then the floor at the same
    rate; ``--half-rate-runs`` times, each tail one sample, so the median of their p99 ÷ p50 says more than one."""
    peak = median([s.rate for s in bench.results.samples[section]["gateway"]])
    if not peak:
        return
    tails: dict[str, list[float]] = {"gateway": [], "floor": []}
    for _ in range(bench.args.half_rate_runs):
        gateway, floor = await _half_rate_once(bench, path, section, peak / 2)
        tails["gateway"].append(gateway)
        tails["floor"].append(floor)
    if bench.args.half_rate_runs > 1:
        bench.results.note(
            section,
            f"p99 ÷ p50 at half the peak, {bench.args.half_rate_runs} runs: the gateway "
            f"{median(tails['gateway']):.2f} (runs {spread(tails['gateway'], '{:.2f}')}), the floor at the same rate "
            f"{median(tails['floor']):.2f} (runs {spread(tails['floor'], '{:.2f}')})",
        )


async def _half_rate_once(bench: Bench, path: HttpPath, section: str, target: float) -> tuple[float, float]:
    """One run of the gateway and one of the floor at ``target`` a second; their p99 ÷ p50."""
    requests = await path.gateway_requests(bench, needed(target, bench.args.seconds))
    stack = bench.stack
    before = await pauses.read(stack.gateway_url, stack.database_url, path.route)
    figures = await bench.wrk(
        f"{stack.gateway_url}{path.route}",
        requests,
        mode=path.mode,
        status=path.status,
        expect=path.expect,
        rate=target,
        server_pids=[stack.gateway_pid],
    )
    stood_still = (await pauses.read(stack.gateway_url, stack.database_url, path.route)).since(before)
    meanwhile = (  # each read of /metrics is answered by one of the processes, not always the same
        f"meanwhile the gateway's {stood_still.text(bench.args.seconds)}"
        if stack.workers == 1
        else f"PostgreSQL checkpoints meanwhile: {stood_still.checkpoints}, autovacuum runs: {stood_still.autovacuums} "
        "(the collector's pauses not read: "
        f"{stack.workers} processes)"
    )
    bench.results.add(section, "gateway at ½ peak", sample(figures))
    bench.results.note(
        section,
        f"half rate: offered {target:,.1f}/s, answered {figures.per_second:,.1f}/s, p50 {figures.p50_ms:.2f} ms, "
        f"p99 {figures.p99_ms:.2f} ms, p99 ÷ p50 {figures.p99_ms / figures.p50_ms if figures.p50_ms else 0:.2f}; "
        + meanwhile,
    )
    _, vacuumed = await pauses.maintenance(stack.database_url)
    paced = await run_floor(bench, path, path.name, bench.args.seconds, rate=target)
    vacuumed = (await pauses.maintenance(stack.database_url))[1] - vacuumed
    floor = floor_sample(paced)
    if paced["exhausted"]:
        bench.results.note(section, "the floor at the same rate ran out of its work: its figures are of a shorter run")
    bench.results.add(section, "floor at the same rate", floor)
    bench.results.note(
        section,
        f"the floor at the same rate: answered {floor.rate:,.1f}/s, p50 {floor.p50_ms:.2f} ms, p99 {floor.p99_ms:.2f} "
        f"ms, p99 ÷ p50 {floor.p99_ms / floor.p50_ms if floor.p50_ms else 0:.2f} (its transaction alone, paced the "
        f"same way: what the database and the machine give the tail); autovacuum runs meanwhile: {vacuumed}",
    )
    return (
        figures.p99_ms / figures.p50_ms if figures.p50_ms else 0.0,
        floor.p99_ms / floor.p50_ms if floor.p50_ms else 0.0,
    )


async def generator_check(bench: Bench, file: Path) -> None:
    """The bare endpoint with one wrk thread and with two: the same figure means wrk is not the limit."""
    section = "generator check: the bare endpoint with 1 and with 2 wrk threads"
    for threads in (1, 2):
        figures = await load.wrk(
            bench.stack.bare_url,
            file,
            mode="cycle",
            status=201,
            seconds=bench.args.seconds,
            connections=bench.args.connections,
            threads=threads,
            server_pids=[bench.stack.bare_pid],
        )
        bench.results.add(section, f"bare, wrk -t{threads}", sample(figures))


def processes(count: int) -> str:
    return f"{count} process{'es' if count > 1 else ''}"


def section_name(path: HttpPath, workers: int, many: bool) -> str:
    return path.label if many else f"{path.label}, {processes(workers)}"


async def measure_all(bench: Bench, paths: list[HttpPath], workers: list[int]) -> None:
    args, stack = bench.args, bench.stack
    for path in paths:
        await measure_path(bench, path, "", 3, record=False)
    await generator_check(bench, paths[0].bare_file)
    many = len(workers) > 1
    for run_number in range(1, args.runs + 1):
        await seed.analyze(await bench.db())
        for count in workers:
            if count != stack.workers:
                stack.serve_gateway(count)
                stack.serve_bare(count)
                for path in paths:
                    await measure_path(bench, path, "", 2, record=False)
            print(f"run {run_number}/{args.runs}, {processes(count)}", flush=True)
            for path in paths:
                section = section_name(path, count, many)
                suffix = f", {processes(count)}" if many else ""
                for _ in range(ATTEMPTS):  # a run whose work ran out is run again, on work sized by what it did
                    if await measure_path(bench, path, section, args.seconds, True, suffix, run_number):
                        break
                else:
                    bench.results.note(section, f"run {run_number}: every attempt ran out of its work; not counted")
                if many and count != workers[0]:
                    for what in ("gateway", "bare"):
                        bench.results.pair(section, f"{what}{suffix}", f"{what}, {processes(workers[0])}")
        if args.json:
            bench.results.dump(args.json)  # after every run: a run cut short keeps its figures
    if args.half_rate and not many:
        for path in paths:
            await half_rate(bench, path, section_name(path, workers[0], many))


async def run(args: argparse.Namespace) -> Results:
    stop_on_sigterm()
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir())
    workers: list[int] = [int(w) for w in str(args.workers).split(",")]
    stack.workers = workers[0]
    bench: Bench | None = None
    try:
        await apply_settings(url, args.database_setting)
        await stack.start()
        bench = Bench(stack, await seed.connect(url), stack.workdir, args)
        paths = [PATHS[name]() for name in args.paths.split(",")]
        for path in paths:
            await path.setup(bench)
        print(f"warming up (workdir {stack.workdir})", flush=True)
        try:
            await measure_all(bench, paths, workers)
        except Exception as error:  # keep what was measured: the table says the run stopped, and why
            traceback.print_exc()
            bench.results.note("stopped", f"the benchmark stopped early: {error!r}")
        return bench.results
    finally:
        if bench is not None and not bench.pg.is_closed():
            await bench.pg.close()
        await stack.stop()
        await drop_pg_database(url)


SETTING = re.compile(r"([a-z_]+)=([A-Za-z0-9_.]+)")


async def apply_settings(url: str, settings: list[str]) -> None:
    """``NAME=VALUE`` PostgreSQL settings for the benchmark's database, for every connection to it that does not
    set its own at connect time (the gateway sets ``statement_timeout``, and ``plan_cache_mode`` for checked units):
    a diagnostic, to show what a setting of the database gives the figures, never the product's own."""
    if not settings:
        return
    conn = await seed.connect(url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        for setting in settings:
            found = SETTING.fullmatch(setting)
            assert found is not None, "checked by parse"
            await conn.execute(f"ALTER DATABASE \"{name}\" SET {found[1]} = '{found[2]}'")
    finally:
        await conn.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of every wrk and floor run")
    parser.add_argument("--paths", default="creation,callback,postal")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", default="1", help="gateway (and bare) processes")
    parser.add_argument("--no-half-rate", dest="half_rate", action="store_false")
    parser.add_argument("--half-rate-runs", type=int, default=1, help="runs at half the peak, each path")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    parser.add_argument(
        "--database-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the benchmark's database (a diagnostic: synchronous_commit=off shows what the "
        "disk's commit flushes give the tail)",
    )
    args = parser.parse_args(argv)
    for setting in args.database_setting:
        if SETTING.fullmatch(setting) is None:
            parser.error(f"--database-setting takes NAME=VALUE, not {setting!r}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    load.require_wrk()
    results = asyncio.run(run(args))
    title = (
        f"PostgreSQL; wrk -t{args.threads} -c{args.connections}, {args.seconds:g} s a run; medians of {args.runs} runs "
        f"(spread: slowest–fastest run). Cores: CPU used over the run by the generator, the server's processes and "
        f"the whole machine ({load.os.cpu_count()} cores, shared with other work)."
    )
    if args.database_setting:
        title += f" Database settings for this run only: {', '.join(args.database_setting)}."
    print()
    print(table(results, title))
    if args.json:
        results.dump(args.json)


if __name__ == "__main__":
    main()
