"""A flame graph of the gateway under load: one HTTP path of bench/http_bench.py driven by wrk while
``py-spy record`` samples the gateway's process (and its workers), written as an SVG with the run's figures in a
text file beside it, so a change can show its profile before and after next to its numbers.

    .venv/bin/python -m bench.profile --path callback --out docs/profiles/callback-before.svg
        [--seconds 20] [--rate 100] [--workers 1] [--connections 16] [--nonblocking] [--native] [--format raw]

py-spy comes with ``make bench`` (the ``bench`` extra); sampling another process needs root or ptrace rights.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from bench import http_bench, load, seed
from bench.stack import BenchStack, stop_on_sigterm, workdir
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: run `make bench` (pip install -e '.[bench]')")
    return found


async def record(args: argparse.Namespace) -> str:
    stop_on_sigterm()
    url = await create_pg_database()
    stack = BenchStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir())
    stack.workers = args.workers
    pg = None
    try:
        await stack.start()
        pg = await seed.connect(url)
        bench = http_bench.Bench(stack, pg, stack.workdir, args)
        path = http_bench.PATHS[args.path]()
        await path.setup(bench)
        await http_bench.measure_path(bench, path, "", 3, record=False)  # warm up, and size the requests
        requests = await path.gateway_requests(bench, http_bench.needed(path.gateway_rate, args.seconds + 2))
        command = [py_spy(), "record", "--pid", str(stack.gateway_pid), "--duration", str(int(args.seconds))]
        command += ["--rate", str(args.rate), "--format", args.format, "--output", str(args.out)]
        if args.workers > 1:
            command.append("--subprocesses")
        if args.nonblocking:
            command.append("--nonblocking")
        if args.native:
            command.append("--native")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        sampler = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.PIPE)
        figures = await bench.wrk(
            f"{stack.gateway_url}{path.route}",
            requests,
            mode=path.mode,
            status=path.status,
            expect=path.expect,
            seconds=args.seconds + 1,
            server_pids=[stack.gateway_pid],
        )
        _, errors = await sampler.communicate()
        if sampler.returncode != 0:
            raise SystemExit(f"py-spy failed: {errors.decode()[-2000:]}")
        return (
            f"{path.label}: {figures.per_second:,.1f}/s, p50 {figures.p50_ms:.2f} ms, p99 {figures.p99_ms:.2f} ms, "
            f"gateway {figures.server_cores:.2f} cores, machine {figures.machine_cores:.2f} cores, "
            f"{args.workers} process(es), wrk -t{args.threads} -c{args.connections}, sampled by py-spy at "
            f"{args.rate} Hz for {args.seconds:g} s\n"
        )
    finally:
        if pg is not None:
            await pg.close()
        await stack.stop()
        await drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=sorted(http_bench.PATHS), default="callback")
    parser.add_argument("--out", type=Path, required=True, help="the SVG to write (docs/profiles/...)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--format", choices=["flamegraph", "raw", "speedscope"], default="flamegraph", help="raw: collapsed stacks"
    )
    parser.add_argument("--nonblocking", action="store_true", help="do not pause the gateway to sample it")
    parser.add_argument("--native", action="store_true", help="sample C and Cython frames too (asyncpg, uvloop)")
    args = parser.parse_args()
    load.require_wrk()
    summary = asyncio.run(record(args))
    args.out.with_suffix(".txt").write_text(summary, encoding="utf-8")
    print(summary, end="")
    print(f"flame graph: {args.out}")


if __name__ == "__main__":
    main()
