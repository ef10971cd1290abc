"""The CPU one request costs the gateway's app, measured in this process: the ASGI app of ``create_app`` is called
directly (no uvicorn, no client, no sockets to it) by 16 concurrent tasks with the same requests as
``bench.http_bench`` sends, on the same stack (PostgreSQL, Redis, the sandboxes), and the process's CPU over the
requests is divided by their number, with the SQL statements each one ran. Two trees measured one after the
other on a shared machine compare better this way than through rates: no other process's share is counted.

    .venv/bin/python -m bench.inprocess callback [--requests 800] [--rounds 2] [--profile var/callback.prof]

``--profile`` writes a cProfile of the last round, timed by the thread's CPU clock (``pstats`` reads it).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import secrets
import time
from typing import Any

import uvloop

from bench import http_bench, seed
from bench.stack import BenchStack, stop_on_sigterm, workdir
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database

Request = tuple[str, dict[str, str], bytes]


def parse(line: str, route: str) -> Request:
    """A line of a wrk request file (bench/load.py ``request_line``) as path, headers and body."""
    parts = line.rstrip("\n").split("\t")
    path = parts.pop(0)[len("@POST ") :] if parts[0].startswith("@POST ") else route
    body = parts.pop().encode()
    headers = dict(part.split(": ", 1) for part in parts)
    headers.setdefault("Content-Type", "application/json")
    return path, headers, body


async def call(app: Any, request: Request) -> tuple[int, bytes]:
    path, headers, body = request
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


async def requests_for(path: http_bench.HttpPath, bench: http_bench.Bench, count: int) -> list[Request]:
    if path.name == "creation":  # one template, a fresh key and dossier per request (as requests.lua does)
        template = path.bare_file.read_text(encoding="utf-8").splitlines()[0]
        lines = [template.replace(seed.PLACEHOLDER, secrets.token_hex(8)) for _ in range(count)]
    else:
        lines = (await path.gateway_requests(bench, count)).read_text(encoding="utf-8").splitlines()[:count]
    return [parse(line, path.route) for line in lines]


async def drive(app: Any, path: http_bench.HttpPath, requests: list[Request], tasks: int = 16) -> int:
    """Send ``requests`` through ``tasks`` concurrent callers; the number of wrong answers."""
    queue = iter(requests)
    expect = path.expect.encode() if path.expect else b""

    async def caller() -> int:
        wrong = 0
        for request in queue:
            status, body = await call(app, request)
            wrong += status != path.status or expect not in body
        return wrong

    return sum(await asyncio.gather(*(caller() for _ in range(tasks))))


async def measure(app: Any, path: http_bench.HttpPath, requests: list[Request], args: argparse.Namespace) -> None:
    from sqlalchemy import event

    statements = [0]

    def counted(*_: Any) -> None:
        statements[0] += 1

    event.listen(app.state.container.db.engine.sync_engine, "before_cursor_execute", counted)
    from gateway.store import direct

    driver = direct._driver

    async def counted_direct(conn: Any) -> Any:  # the statements run straight on asyncpg, past SQLAlchemy's events
        found = await driver(conn)
        statements[0] += found is not None
        return found

    direct._driver = counted_direct  # type: ignore[assignment]
    await drive(app, path, requests[:100])  # warm up
    for round_ in range(args.rounds):
        batch = requests[100 + round_ * args.requests : 100 + (round_ + 1) * args.requests]
        profile = cProfile.Profile(time.thread_time) if args.profile and round_ == args.rounds - 1 else None
        before, cpu, wall = statements[0], os.times(), time.perf_counter()
        if profile:
            profile.enable()
        wrong = await drive(app, path, batch)
        if profile:
            profile.disable()
            profile.dump_stats(args.profile)
        spent, elapsed, n = os.times(), time.perf_counter() - wall, len(batch)
        user, system = (spent.user - cpu.user) * 1000 / n, (spent.system - cpu.system) * 1000 / n
        print(
            f"{path.name} round {round_}: {n} requests, {user + system:.2f} ms CPU a request (user {user:.2f}, "
            f"system {system:.2f}), {(statements[0] - before) / n:.2f} SQL statements a request, "
            f"{n / elapsed:.0f}/s, {wrong} wrong answers",
            flush=True,
        )


async def run(args: argparse.Namespace) -> None:
    stop_on_sigterm()
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir())
    pg = None
    try:
        await stack.start()
        pg = await seed.connect(url)
        options = argparse.Namespace(seconds=5, connections=16, threads=2)
        bench = http_bench.Bench(stack, pg, stack.workdir, options)
        path = http_bench.PATHS[args.path]()
        await path.setup(bench)
        requests = await requests_for(path, bench, 100 + args.requests * args.rounds)
        os.environ.update(stack.gateway_env())
        from gateway.app import create_app

        app = create_app()
        async with app.lifespan():
            await measure(app, path, requests, args)
    finally:
        if pg is not None:
            await pg.close()
        await stack.stop()
        await drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=sorted(http_bench.PATHS))
    parser.add_argument("--requests", type=int, default=800, help="per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", help="write a cProfile of the last round here")
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
