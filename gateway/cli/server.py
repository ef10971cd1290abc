"""``gateway serve|worker|migrate|openapi|sandbox|run``: running the gateway and its sandboxes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.settings import load as load_settings


def _serve(args: argparse.Namespace) -> None:
    """On SIGTERM uvicorn stops accepting connections, lets the requests under way finish within the grace
    period (then cancels them), and closes the app's connections before the process exits."""
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        "gateway.app:serve_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def _worker(_args: argparse.Namespace) -> None:
    from gateway.worker import run

    run(load_settings())


def _migrate(_args: argparse.Namespace) -> None:
    from gateway.store.migrate import upgrade

    upgrade(load_settings().database_url)
    print("database is up to date")


def _openapi(args: argparse.Namespace) -> None:
    from gateway.openapi import export

    export(Path(args.output))
    print(f"wrote {args.output}")


def _sandbox(args: argparse.Namespace) -> None:
    if args.which == "hub":
        from adapters.payhub.sandbox import serve
    else:
        from adapters.postal.sandbox import serve  # type: ignore[no-redef]
    serve(args.host, args.port)


def _run(args: argparse.Namespace) -> None:
    from gateway.run import run_all

    run_all(Path(args.var))


def register_processes(sub: Any) -> None:
    """``serve``, ``worker`` and ``migrate``."""
    p = sub.add_parser("serve", help="serve the web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=_serve)
    sub.add_parser("worker", help="run the arq worker").set_defaults(func=_worker)
    sub.add_parser("migrate", help="migrate the database to the latest schema").set_defaults(func=_migrate)


def register_tools(sub: Any) -> None:
    """``openapi``, ``sandbox`` and ``run``."""
    p = sub.add_parser("openapi", help="export the portal API's OpenAPI document")
    p.add_argument("--output", default="openapi/openapi.json")
    p.set_defaults(func=_openapi)

    p = sub.add_parser("sandbox", help="serve a sandbox of an outside system")
    p.add_argument("which", choices=["hub", "post"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8101)
    p.set_defaults(func=_sandbox)

    p = sub.add_parser("run", help="run everything on the embedded defaults")
    p.add_argument("--var", default="var", help="folder for the database, keys and logs")
    p.set_defaults(func=_run)
