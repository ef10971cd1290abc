"""Driving HTTP benchmarks with ``wrk`` (C, epoll), which outruns any Python server on this machine, and measuring
what each process spent meanwhile, so every figure can show that the generator was not the bottleneck.

Requests come from a file of lines written here and read by ``bench/wrk/requests.lua`` (see its header for the
format and the modes); the script prints its totals as one JSON line that :func:`wrk` parses.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "wrk" / "requests.lua"
PLACEHOLDER = "@" * 16  # replaced per request by a unique 16-character token (requests.lua)
TICKS = os.sysconf("SC_CLK_TCK")


class LoadError(RuntimeError):
    """A run whose figures cannot be trusted (wrk failed, or ran out of single-use requests)."""


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise LoadError("wrk is not installed: run `make bench` (or bash .ci/system-deps.sh)")
    return found


def request_line(
    body: bytes, headers: dict[str, str] | None = None, *, get: str | None = None, post: str | None = None
) -> str:
    """One line of a request file: tab-separated ``Name: value`` headers, then the body. ``get`` makes it a GET
    of that path (with no body), ``post`` a POST to that path, instead of a POST to the run's path."""
    text = body.decode()
    if "\t" in text or "\n" in text:
        raise ValueError("a body in a request file cannot hold a raw tab or newline")
    first = [f"@GET {get}"] if get else [f"@POST {post}"] if post else []
    return "\t".join([*first, *(f"{k}: {v}" for k, v in (headers or {}).items()), text])


def write_requests(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# ---------------------------------------------------------------- CPU accounting from /proc


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(c) for c in text)
    except OSError:
        return []
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds spent so far by ``pids`` (their own, not their reaped children's)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


# The database's processes that do a benchmark's work: the backends connected to its database, and the server's own
# (checkpointer, WAL writer, background writer and launchers, which have no database); not another database's.
DATABASE_PIDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL"


async def database_pids(conn: Any) -> list[int]:
    """The pids of ``DATABASE_PIDS``, read on ``conn`` (asyncpg, connected to the benchmark's database); none where
    there is no connection."""
    return [] if conn is None else [int(row[0]) for row in await conn.fetch(DATABASE_PIDS)]


def database_cpu(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds spent so far by each of ``pids`` (``database_pids``) that runs on this machine; two readings give
    the database's share of a run. Empty where the database runs elsewhere."""
    spent = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return spent


def database_seconds(before: dict[int, float], pids: Sequence[int]) -> float:
    """CPU seconds ``pids`` (read again at the end) spent since ``before``: a backend that started since counts
    from its start, one that ended since is not counted, and a pid taken by another process counts nothing."""
    return sum(max(0.0, now - before.get(pid, 0.0)) for pid, now in database_cpu(pids).items())


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot; two readings give the machine's load over a run."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Meter:
    """CPU use of some processes and of the whole machine between :meth:`start` and :meth:`stop`, in cores."""

    pids: list[int] = field(default_factory=list)
    cores: float = 0.0
    database: float = 0.0  # PostgreSQL's processes for the benchmark's database (``DATABASE_PIDS``)
    machine: float = 0.0  # of the machine's cores (2 here): other people's work counts too
    _cpu: float = 0.0
    _database: dict[int, float] = field(default_factory=dict)
    _wall: float = 0.0
    _busy: tuple[float, float] = (0.0, 0.0)

    def start(self, database: Sequence[int] = ()) -> Meter:
        """``database``: the pids of the database's processes now (``database_pids``)."""
        self._cpu, self._database = cpu_seconds(self.pids), database_cpu(database)
        self._wall, self._busy = time.perf_counter(), machine_busy()
        return self

    def stop(self, database: Sequence[int] = ()) -> Meter:
        """``database``: the pids of the database's processes now, those started since included."""
        wall = time.perf_counter() - self._wall
        busy, total = machine_busy()
        self.cores = (cpu_seconds(self.pids) - self._cpu) / wall if wall else 0.0
        self.database = database_seconds(self._database, database) / wall if wall else 0.0
        spent = total - self._busy[1]
        self.machine = (busy - self._busy[0]) / spent * (os.cpu_count() or 1) if spent else 0.0
        return self


# ---------------------------------------------------------------- wrk


@dataclass
class Load:
    """One wrk run: throughput counts only the answers that were what the path must answer (``ok``)."""

    requests: int
    ok: int
    bad: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    reused: int
    generator_cores: float  # wrk's own CPU over the run, in cores
    server_cores: float = 0.0  # the measured server's processes
    database_cores: float = 0.0
    machine_cores: float = 0.0

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def _run(command: list[str]) -> tuple[int, str, str, Any]:
    """Run ``command`` to its end; its exit code, output, errors and resource usage (wrk's own CPU)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read().decode(), err.read().decode(), usage


def nonce() -> str:
    return secrets.token_hex(2)


async def wrk(
    url: str,
    requests_file: Path,
    *,
    mode: str,
    seconds: float,
    connections: int,
    threads: int,
    status: int | str = 200,
    expect: str | None = None,
    rate: float | None = None,
    server_pids: Sequence[int] = (),
    timeout_seconds: int = 30,
    database: Any = None,
) -> Load:
    """Run wrk against ``url`` for ``seconds`` with ``connections`` over ``threads``; see requests.lua. ``database``:
    a connection to the benchmark's database, to measure its processes' CPU over the run."""
    binary = require_wrk()
    base, _, path = url.partition("://")[2].partition("/")
    args = [f"file={requests_file}", f"path=/{path}", f"threads={threads}", f"mode={mode}", f"status={status}"]
    args += [f"nonce={nonce()}"] + ([f"rate={rate:.3f}"] if rate else [])
    if expect:
        args.append(f"expect={expect}")
    command = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_seconds}s",
        "-s",
        str(SCRIPT),
        f"http://{base}/",
        "--",
        *args,
    ]
    meter = Meter(pids=[p for pid in server_pids for p in process_tree(pid)]).start(await database_pids(database))
    code, out, err, usage = await asyncio.to_thread(_run, command)
    meter.stop(await database_pids(database))
    summary = next((line[8:] for line in out.splitlines() if line.startswith("WRKJSON ")), None)
    if code != 0 or summary is None:
        raise LoadError(f"wrk failed ({code}): {err.strip() or out.strip()}")
    data = json.loads(summary)
    seconds_run = data["duration_us"] / 1e6
    if err.strip():
        print(f"    wrk: {err.strip().splitlines()[0]}")
    return Load(
        requests=data["requests"],
        ok=data["ok"],
        bad=data["bad"],
        seconds=seconds_run,
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        errors=data["errors"],
        reused=data["reused"],
        generator_cores=(usage.ru_utime + usage.ru_stime) / seconds_run,
        server_cores=meter.cores,
        database_cores=meter.database,
        machine_cores=meter.machine,
    )
