"""``gateway portal create|allow-private-webhooks|deny-private-webhooks`` (the key and rate-limit commands are in
``keys``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import keys
from .common import on_database


def _portal_create(args: argparse.Namespace) -> None:
    from gateway.portals import create_portal

    portal_id, token = on_database(lambda db: create_portal(db, args.name, args.agency))
    print(json.dumps({"portal_id": portal_id, "api_key": token}, ensure_ascii=False))
    print("The API key is shown only now: store it in the portal's secret store.", file=sys.stderr)


def _private_webhooks(args: argparse.Namespace) -> None:
    from gateway.portals import set_private_webhooks

    allowed = args.action == "allow-private-webhooks"
    if not on_database(lambda db: set_private_webhooks(db, args.portal_id, allowed)):
        raise SystemExit(f"gateway: no portal {args.portal_id!r}")
    print(json.dumps({"portal_id": args.portal_id, "allow_private_webhooks": allowed}))


def register(sub: Any) -> None:
    portal = sub.add_parser("portal", help="manage portals").add_subparsers(dest="action", required=True)
    p = portal.add_parser("create", help="create a portal and print its API key once")
    p.add_argument("--name", required=True)
    p.add_argument("--agency", action="append", default=[], help="agency code the portal acts for (repeatable)")
    p.set_defaults(func=_portal_create)
    keys.register(portal)
    for action, text in (
        ("allow-private-webhooks", "let the portal's webhook reach private networks (RFC 1918, ULA, CGNAT, listed)"),
        ("deny-private-webhooks", "public internet addresses only for the portal's webhook (the default)"),
    ):
        p = portal.add_parser(action, help=text)
        p.add_argument("portal_id")
        p.set_defaults(func=_private_webhooks)
