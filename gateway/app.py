"""The web app: ``create_app()`` wires the container (``gateway.bootstrap``), the routes and the plugins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.plugins.prometheus import PrometheusController
from litestar.template.config import TemplateConfig

from gateway import __version__, gauges, heap, metrics
from gateway.bootstrap import Container
from gateway.deliveries.controller import EventReplayController, WebhookController
from gateway.dossiers.controller import DossierController
from gateway.events.controller import EventFeedController
from gateway.finance import FinanceExports, FinancePages, SignInController
from gateway.http import problems
from gateway.http.health import HealthController
from gateway.http.pages import security_headers
from gateway.http.request_metrics import RequestMetrics
from gateway.http.shutdown import abandoned
from gateway.logs import configure as configure_logs
from gateway.payments.callbacks import HubCallbackController, ReturnPageController
from gateway.payments.controller import PaymentController
from gateway.receipts.controller import ReceiptController
from gateway.receipts.lookup import LookupController
from gateway.reconciliation.controller import ReconciliationController
from gateway.settings import Settings
from gateway.settings import load as load_settings
from gateway.shipments.callbacks import PostalCallbackController
from gateway.shipments.controller import ShipmentController

TEMPLATES = Path(__file__).parent / "templates"


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
    before_request = gauges.refresh


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="DVC payment and postal gateway — portal API",
        version=__version__,
        description=(
            "One API for public-service portals: fee payments through the national payment hub, e-receipts, "
            "postal pickup and delivery, and status events. Amounts are whole đồng; times are RFC 3339. Errors "
            "are RFC 9457 problem details with a stable `code`."
        ),
        servers=[Server(url="/")],
        components=Components(
            security_schemes={"ApiKey": SecurityScheme(type="http", scheme="bearer", description="Portal API key")}
        ),
        security=[{"ApiKey": []}],
        path="/schema",
        use_handler_docstrings=False,
        # The document only, as JSON (also at /schema) and YAML: the interactive viewers would run third-party
        # scripts on the gateway's own origin, where portal developers might paste their API keys.
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
    )


def serve_app() -> Litestar:
    """The app as ``gateway serve`` runs it, one per server process: its start-up heap frozen once it is up
    (``gateway.heap``)."""
    return create_app(freeze_heap=True)


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> Litestar:
    """The app; ``freeze_heap`` for a process that only serves it (an app built in a test or a tool leaves its
    host's heap alone)."""
    settings = settings or load_settings()
    configure_logs(settings.log_level, settings.log_json)
    metrics.watch_collector()
    container = Container.build(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await container.start()
        if freeze_heap:
            heap.freeze_startup()
        try:
            yield
        finally:
            await container.close()

    request_metrics = RequestMetrics()
    app = Litestar(
        route_handlers=[
            PaymentController,
            ReceiptController,
            LookupController,
            HubCallbackController,
            ReturnPageController,
            ShipmentController,
            PostalCallbackController,
            WebhookController,
            EventFeedController,
            EventReplayController,
            DossierController,
            SignInController,
            FinancePages,
            FinanceExports,
            ReconciliationController,
            HealthController,
            MetricsController,
        ],
        middleware=[abandoned, request_metrics.middleware, security_headers],
        before_send=[request_metrics.answered],
        dependencies=dependencies(container),
        exception_handlers=problems.EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        debug=False,
        logging_config=None,
    )
    app.state.container = container
    resolve_in_turn(app)
    return app


def resolve_in_turn(app: Litestar) -> None:
    """Resolve each handler's dependencies one after the other. Litestar resolves a handler's independent
    dependencies (a collaborator and the calling portal, say) at once, in an anyio task group: a task each, a cancel
    scope, on every request, which cost a postal event about a sixteenth of its CPU. None of ours waits on anything
    (each reads the container or the request's scope), so nothing is gained by running them together; in turn they
    keep their order (a dependency still comes after those it names)."""
    for route in app.routes:
        for _handler, kwargs_model in getattr(route, "route_handler_map", {}).values():
            kwargs_model.dependency_batches = [
                {dependency} for batch in kwargs_model.dependency_batches for dependency in batch
            ]


def dependencies(container: Container) -> dict[str, Provide]:
    """Each collaborator a handler may name, read from the container when the request comes (Redis is connected
    only when the app starts)."""

    def provider(name: str) -> Provide:
        def provide() -> object:
            return getattr(container, name)

        return Provide(provide, sync_to_thread=False)

    names = ("settings", "db", "redis", "jobs", "hub", "post", "payments", "refunds", "shipments", "receipts")
    return {
        name: provider(name)
        for name in (*names, "hub_results", "hub_callbacks", "hooks", "webhooks", "receipt_keys", "lookup_limiter")
    }
