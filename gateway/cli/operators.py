"""``gateway receipts unissued|retry`` and ``gateway shipments cod-exceptions``: what operators must act on."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway.store.db import Database

from .common import on_database, print_rows

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


def _receipts_unissued(_args: argparse.Namespace) -> None:
    from gateway.receipts import unissued_listing

    async def work(db: Database) -> list[Any]:
        async with db.read() as conn:
            return await unissued_listing(conn)

    rows = on_database(work)
    print_rows(rows, UNISSUED_FIELDS)
    print(f"{len(rows)} collected source(s) without a receipt", file=sys.stderr)


def _receipts_retry(args: argparse.Namespace) -> None:
    from adapters.vntime import now_utc
    from gateway.receipts import retry_unissued

    count = on_database(lambda db: retry_unissued(db, now_utc(), args.agency))
    print(f"{count} source(s) will be tried again at the next sweep", file=sys.stderr)


def _cod_exceptions(_args: argparse.Namespace) -> None:
    from gateway.shipments import open_exceptions

    async def work(db: Database) -> list[Any]:
        async with db.read() as conn:
            return await open_exceptions(conn)

    rows = on_database(work)
    print_rows(rows, COD_EXCEPTION_FIELDS)
    print(f"{len(rows)} COD report(s) held for reconciliation", file=sys.stderr)


def register(sub: Any) -> None:
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
