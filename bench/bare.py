"""The baseline: a bare Litestar endpoint, served exactly as the gateway is (uvicorn, one process), and the closed
loop that measures it. Every benchmark reports its figures as ratios to this, measured in the same run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar, post

from bench.harness import Figures, closed_loop
from tests.support.processes import Process
from tests.support.services import free_port


@post("/bare", status_code=201)
async def bare(data: dict[str, object]) -> dict[str, object]:
    return {"ok": True, "echo": len(data)}


app = Litestar(route_handlers=[bare])


def serve(workdir: Path) -> tuple[Process, str]:
    """Start the bare endpoint under uvicorn; returns the process and its URL."""
    port = free_port()
    process = Process(
        "bare",
        ["uvicorn", "bench.bare:app", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        {},
        workdir,
    )
    url = f"http://127.0.0.1:{port}/bare"
    process.start().wait_http(url)
    return process, url


async def measure(url: str, body_of: Callable[[int], dict[str, Any]], requests: int, concurrency: int) -> Figures:
    """POST ``body_of(i)`` for ``i`` in ``range(requests)`` from ``concurrency`` clients."""

    async def one(client: httpx.AsyncClient, i: int) -> bool:
        return (await client.post(url, json=body_of(i))).status_code == 201

    return await closed_loop("bare Litestar endpoint", one, concurrency=concurrency, requests=requests)
