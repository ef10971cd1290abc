"""The hub sandbox's Litestar application: one ``create_app()``, one ``serve()``."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State

from . import api, checkout
from .callbacks import CallbackSender
from .config import SandboxConfig
from .control import ControlController
from .hub import Sandbox


def create_app(config: SandboxConfig | None = None) -> Litestar:
    """The sandbox, configured from the environment unless a config is given; callbacks end with the app."""
    config = config or SandboxConfig.from_env()
    sandbox = Sandbox(config=config, sender=CallbackSender(config))

    async def stop_callbacks() -> None:
        await sandbox.sender.close()

    return Litestar(
        route_handlers=[*api.ROUTES, *checkout.ROUTES, ControlController],
        state=State({"sandbox": sandbox}),
        on_shutdown=[stop_callbacks],
        openapi_config=None,
    )


def serve(host: str, port: int) -> None:
    """Serve the sandbox with uvicorn; ``HUB_PUBLIC_URL`` defaults to this address."""
    import uvicorn

    config = SandboxConfig.from_env(default_public_url=f"http://{host}:{port}")
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
