"""The baseline of every HTTP benchmark: a bare Litestar endpoint, no middleware, served exactly as
``gateway serve`` serves the gateway (uvicorn with the same flags and process count, see gateway/cli/server.py)."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, post
from litestar.params import JSONBody

from tests.support.processes import Process
from tests.support.services import free_port


@post("/bare", status_code=201)
async def bare(data: JSONBody[dict[str, object]]) -> dict[str, object]:
    return {"ok": True, "echo": len(data)}


app = Litestar(route_handlers=[bare])


def serve(workdir: Path, workers: int = 1, port: int | None = None) -> tuple[Process, str]:
    """Start the bare endpoint under uvicorn; returns the process and its URL."""
    port = port or free_port()
    args = ["uvicorn", "bench.bare:app", "--port", str(port), "--workers", str(workers)]
    args += ["--log-level", "warning", "--no-access-log", "--no-proxy-headers"]
    process = Process(f"bare-{port}-{workers}w", args, {}, workdir)
    url = f"http://127.0.0.1:{port}/bare"
    process.start().wait_http(url)
    return process, url
