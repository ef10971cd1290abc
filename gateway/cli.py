"""The ``gateway`` command: serve, worker, migrate, portals and agencies, what operators must act on (receipts not
issued, COD reports held), OpenAPI export, sandboxes, and ``run``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from gateway.portals.commands import register as register_portal_commands
from gateway.settings import SettingsError
from gateway.settings import load as load_settings
from gateway.store.db import Database

T = TypeVar("T")


def _serve(args: argparse.Namespace) -> None:
    """On SIGTERM uvicorn stops accepting connections, lets the requests under way finish within the grace
    period (then cancels them), and closes the app's connections before the process exits."""
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        "gateway.http.app:create_app",
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


def _private_webhooks(args: argparse.Namespace) -> None:
    from gateway.deliveries.endpoints import set_private
    from gateway.store.db import Database

    allowed = args.action == "allow-private-webhooks"

    async def go() -> bool:
        db = Database.from_url(load_settings().database_url)
        try:
            return await set_private(db, args.portal_id, allowed)
        finally:
            await db.dispose()

    if not asyncio.run(go()):
        raise SystemExit(f"gateway: no portal {args.portal_id!r}")
    print(json.dumps({"portal_id": args.portal_id, "allow_private_webhooks": allowed}))


def _new_webhook_key(_args: argparse.Namespace) -> None:
    from gateway.deliveries.secret_box import new_key

    print(new_key())


def _reencrypt_webhook_secrets(args: argparse.Namespace) -> None:
    from gateway.deliveries.reseal import reseal
    from gateway.deliveries.secret_box import SecretBox, legacy_hub_key
    from gateway.store.db import Database

    settings = load_settings()
    legacy = [legacy_hub_key(settings.payhub_hash_key)] if args.from_hub_key else []
    box = SecretBox.from_settings(settings, legacy)

    async def go() -> dict[str, object]:
        db = Database.from_url(settings.database_url)
        try:
            return (await reseal(db, box)).as_dict()
        finally:
            await db.dispose()

    report = asyncio.run(go())
    print(json.dumps({"key_id": box.current_key_id, **report}))
    if report["unreadable"]:
        raise SystemExit("gateway: some secrets open with no configured key (see above); their portals must rotate")


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

    try:
        agency_id = asyncio.run(go())
    except ValueError as exc:  # data its receipts could not carry
        raise SystemExit(f"agency file {args.file}: {exc}") from None
    print(json.dumps({"agency_id": agency_id, "code": spec.code}))


def _on_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the configured database, then close it."""

    async def go() -> T:
        db = Database.from_url(load_settings().database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def _print_rows(rows: list[Any], fields: tuple[str, ...]) -> None:
    """One JSON object per line (times in RFC 3339), so the list reads and greps alike."""
    for row in rows:
        print(json.dumps({f: _plain(getattr(row, f)) for f in fields}, ensure_ascii=False))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _receipts_unissued(_args: argparse.Namespace) -> None:
    from gateway.receipts import unissued_listing

    async def work(db: Database) -> list[Any]:
        async with db.read() as conn:
            return await unissued_listing(conn)

    rows = _on_database(work)
    _print_rows(rows, UNISSUED_FIELDS)
    print(f"{len(rows)} collected source(s) without a receipt", file=sys.stderr)


def _receipts_retry(args: argparse.Namespace) -> None:
    from adapters.vntime import now_utc
    from gateway.receipts import retry_unissued

    count = _on_database(lambda db: retry_unissued(db, now_utc(), args.agency))
    print(f"{count} source(s) will be tried again at the next sweep", file=sys.stderr)


def _cod_exceptions(_args: argparse.Namespace) -> None:
    from gateway.shipments import open_exceptions

    async def work(db: Database) -> list[Any]:
        async with db.read() as conn:
            return await open_exceptions(conn)

    rows = _on_database(work)
    _print_rows(rows, COD_EXCEPTION_FIELDS)
    print(f"{len(rows)} COD report(s) held for reconciliation", file=sys.stderr)


UNISSUED_FIELDS = (
    "source_type",
    "source_id",
    "agency_code",
    "dossier_code",
    "reason",
    "attempts",
    "first_failed_at",
    "last_failed_at",
    "retry_at",
)
COD_EXCEPTION_FIELDS = (
    "id",
    "shipment_id",
    "item_code",
    "agency_code",
    "dossier_code",
    "reason",
    "booked_amount",
    "reported_amount",
    "shipment_status",
    "reported_at",
    "source",
)


def _agency_certificate(args: argparse.Namespace) -> None:
    from cryptography import x509

    from adapters.vntime import now_utc
    from gateway.receipts import import_certificates
    from gateway.store.db import Database

    try:
        certificates = x509.load_pem_x509_certificates(Path(args.file).read_bytes())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"certificate file {args.file}: {exc}") from None

    async def go() -> list[dict[str, str]]:
        db = Database.from_url(load_settings().database_url)
        try:
            return await import_certificates(db, args.code, certificates, now_utc())
        finally:
            await db.dispose()

    try:
        kept = asyncio.run(go())
    except LookupError as exc:
        raise SystemExit(f"gateway: {exc}") from None
    print(json.dumps({"code": args.code, "certificates": kept}, ensure_ascii=False))


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


def _webhook_commands(sub: argparse._SubParsersAction, portal: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """An operator's controls of webhooks: private networks per portal, and the key of the stored secrets."""
    for action, text in (
        ("allow-private-webhooks", "let the portal's webhook reach private networks (RFC 1918, ULA, CGNAT, listed)"),
        ("deny-private-webhooks", "public internet addresses only for the portal's webhook (the default)"),
    ):
        p = portal.add_parser(action, help=text)
        p.add_argument("portal_id")
        p.set_defaults(func=_private_webhooks)

    hooks = sub.add_parser("webhook-secrets", help="the key that encrypts webhook secrets").add_subparsers(
        dest="action", required=True
    )
    hooks.add_parser("new-key", help="print a fresh key for WEBHOOK_SECRETS_KEY").set_defaults(func=_new_webhook_key)
    p = hooks.add_parser("reencrypt", help="reseal every stored webhook secret under the first WEBHOOK_SECRETS_KEY")
    p.add_argument(
        "--from-hub-key",
        action="store_true",
        help="also open secrets an older version sealed with a key derived from PAYHUB_HASH_KEY",
    )
    p.set_defaults(func=_reencrypt_webhook_secrets)


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

    _webhook_commands(sub, portal)

    agency = sub.add_parser("agency", help="manage agencies").add_subparsers(dest="action", required=True)
    p = agency.add_parser("add", help="add or update an agency with its treasury account and fee catalogue")
    p.add_argument("--file", required=True, help="JSON: code, name, tax_code, address, treasury_*, procedures[]")
    p.set_defaults(func=_agency_add)
    p = agency.add_parser(
        "certificate", help="keep certificates the agency signed receipts with before (renewed, not loaded now)"
    )
    p.add_argument("--code", required=True, help="the agency's code")
    p.add_argument("--file", required=True, help="PEM file with one or more certificates")
    p.set_defaults(func=_agency_certificate)

    receipts = sub.add_parser("receipts", help="receipts for operators").add_subparsers(dest="action", required=True)
    receipts.add_parser(
        "unissued", help="list collected sources held without a receipt, with the reason (JSON lines)"
    ).set_defaults(func=_receipts_unissued)
    p = receipts.add_parser("retry", help="try the held sources again at the next sweep (after installing a key)")
    p.add_argument("--agency", help="only this agency's (its code)")
    p.set_defaults(func=_receipts_retry)

    shipments = sub.add_parser("shipments", help="shipments for operators").add_subparsers(dest="action", required=True)
    shipments.add_parser(
        "cod-exceptions", help="list COD reports of the post held for reconciliation (JSON lines)"
    ).set_defaults(func=_cod_exceptions)

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
