"""The baseline: a bare Litestar endpoint, served exactly as the gateway is (uvicorn, one process)."""

from __future__ import annotations

from litestar import Litestar, post


@post("/bare", status_code=201)
async def bare(data: dict[str, object]) -> dict[str, object]:
    return {"ok": True, "echo": len(data)}


app = Litestar(route_handlers=[bare])
