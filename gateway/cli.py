"""The ``gateway`` command: serve, worker, migrate, portals and agencies, OpenAPI export, sandboxes, and ``run``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from gateway.portals.commands import register as register_portal_commands
from gateway.settings import SettingsError
from gateway.settings import load as load_settings


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


def _worker(_args: argparse.Namespace) -> None:
    from reconciliation.worker import run

    run(load_settings())


def _migrate(_args: argparse.Namespace) -> None:
    from gateway.store.migrate import upgrade

    upgrade(load_settings().database_url)
    print("database is up to date")


def _portal_create(args: argparse.Namespace) -> None:
    from gateway.portals.service import create_portal
    from gateway.store.db import Database

    async def go() -> tuple[str, str]:
        db = Database.from_url(load_settings().database_url)
        try:
            return await create_portal(db, args.name, args.agency)
        finally:
            await db.dispose()

    portal_id, token = asyncio.run(go())
    print(json.dumps({"portal_id": portal_id, "api_key": token}, ensure_ascii=False))
    print("The API key is shown only now: store it in the portal's secret store.", file=sys.stderr)


def _agency_add(args: argparse.Namespace) -> None:
    from gateway.portals import agency_file
    from gateway.portals.service import upsert_agency
    from gateway.store.db import Database

    try:
        spec = agency_file.read(Path(args.file))
    except agency_file.AgencyFileError as exc:
        raise SystemExit(f"agency file {args.file}: {exc}") from None

    async def go() -> str:
        db = Database.from_url(load_settings().database_url)
        try:
            return await upsert_agency(db, spec)
        finally:
            await db.dispose()

    print(json.dumps({"agency_id": asyncio.run(go()), "code": spec.code}))


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=_serve)

    sub.add_parser("worker", help="run the arq worker").set_defaults(func=_worker)
    sub.add_parser("migrate", help="migrate the database to the latest schema").set_defaults(func=_migrate)

    portal = sub.add_parser("portal", help="manage portals").add_subparsers(dest="action", required=True)
    p = portal.add_parser("create", help="create a portal and print its API key once")
    p.add_argument("--name", required=True)
    p.add_argument("--agency", action="append", default=[], help="agency code the portal acts for (repeatable)")
    p.set_defaults(func=_portal_create)
    register_portal_commands(portal)

    agency = sub.add_parser("agency", help="manage agencies").add_subparsers(dest="action", required=True)
    p = agency.add_parser("add", help="add or update an agency with its treasury account and fee catalogue")
    p.add_argument("--file", required=True, help="JSON: code, name, tax_code, address, treasury_*, procedures[]")
    p.set_defaults(func=_agency_add)

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

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except SettingsError as exc:
        raise SystemExit(f"gateway: {exc}") from None


if __name__ == "__main__":
    main()
