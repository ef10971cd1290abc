"""The worker runs its jobs on uvloop's event loop, as the gateway does under uvicorn, and says so when it starts."""

from __future__ import annotations

import json

from tests.support.services import wait_for
from tests.support.stack import Stack


def _started(stack: Stack) -> list[dict[str, object]]:
    lines = stack.processes["worker"].log_path.read_text(errors="replace").splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [entry for entry in entries if entry.get("message") == "worker started"]


async def test_the_worker_runs_on_uvloop(stack: Stack) -> None:
    started = await wait_for(lambda: _started(stack), timeout=30, what="the worker to start")
    assert [entry["event_loop"] for entry in started] == ["uvloop"] * len(started)
