"""The worker runs its jobs on uvloop's event loop, as the gateway does under uvicorn, and says so when it starts;
on that loop it still stops on SIGTERM while it waits for a Redis that is away."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

from tests.support.processes import Process
from tests.support.services import free_port, wait_for
from tests.support.stack import Stack

STOP_SECONDS = 15  # the wait between attempts at Redis is 1 s; closing takes a moment more


def _entries(process: Process, message: str) -> list[dict[str, object]]:
    lines = process.log_path.read_text(errors="replace").splitlines() if process.log_path.exists() else []
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [entry for entry in entries if entry.get("message") == message]


async def test_the_worker_runs_on_uvloop(stack: Stack) -> None:
    worker = stack.processes["worker"]
    started = await wait_for(lambda: _entries(worker, "worker started"), timeout=30, what="the worker to start")
    assert [entry["event_loop"] for entry in started] == ["uvloop"] * len(started)


async def test_a_worker_waiting_for_redis_stops_on_sigterm(stack: Stack, tmp_path: Path) -> None:
    """A signal that comes while the worker waits to try Redis again is taken on its loop: the worker stops."""
    env = {**stack.gateway_env(), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nothing listens there
    worker = Process("worker-without-redis", ["gateway", "worker"], env, tmp_path).start()
    try:
        lost = "redis lost; the worker starts again"
        await wait_for(lambda: _entries(worker, lost), timeout=60, interval=0.01, what="the worker to lose redis")
        assert worker.process is not None
        worker.process.send_signal(signal.SIGTERM)  # now in its wait before the next attempt
        try:
            await asyncio.to_thread(worker.process.wait, STOP_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the worker did not stop on SIGTERM:\n{worker.log()}") from None
        assert _entries(worker, "stopped while redis was lost"), worker.log()
    finally:
        worker.kill()
