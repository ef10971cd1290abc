"""The postal sandbox: a small Litestar app that plays the public postal service for development and tests.

``python -m adapters.postal.sandbox --port 8102``; settings come from ``POSTAL_*`` variables (see ``config``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar

from . import api, control
from .config import DEFAULT_PORT, SandboxConfig
from .orders import PostOffice
from .push import Pusher, drive


def create_app(config: SandboxConfig | None = None) -> Litestar:
    config = config or SandboxConfig.from_env()
    office = PostOffice(config)
    pusher = Pusher(office, config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await pusher.start()
        loop = asyncio.get_running_loop()
        driver = loop.create_task(drive(office, config.driver_step)) if config.driver else None
        try:
            yield
        finally:
            if driver is not None:
                driver.cancel()
            await pusher.stop()

    app = Litestar(route_handlers=[*api.ROUTES, *control.ROUTES], lifespan=[lifespan], openapi_config=None)
    app.state.office = office
    app.state.pusher = pusher
    app.state.config = config
    return app


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, log_level="warning", access_log=False)


__all__ = ["SandboxConfig", "create_app", "serve"]
