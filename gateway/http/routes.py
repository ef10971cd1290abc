"""The base of the portal API's controllers: every route needs an API key and passes the edge; handlers name the
calling ``portal``, and an idempotent POST names its ``attempt``."""

from __future__ import annotations

from typing import ClassVar

from litestar import Controller
from litestar.di import Provide

from .auth import ApiKeyMiddleware
from .edge import Edge, attempt, portal


class PortalApi(Controller):
    middleware = (ApiKeyMiddleware, Edge)
    dependencies: ClassVar = {"portal": Provide(portal, sync_to_thread=False), "attempt": Provide(attempt)}
