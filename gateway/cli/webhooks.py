"""``gateway webhook-secrets new-key|reencrypt``: the key that encrypts the stored webhook secrets."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.settings import load as load_settings

from .common import on_database


def _new_webhook_key(_args: argparse.Namespace) -> None:
    from gateway.deliveries import new_key

    print(new_key())


def _reencrypt_webhook_secrets(args: argparse.Namespace) -> None:
    from gateway.deliveries import SecretBox, legacy_hub_key, reseal

    settings = load_settings()
    legacy = [legacy_hub_key(settings.payhub_hash_key)] if args.from_hub_key else []
    box = SecretBox.from_settings(settings, legacy)
    report = on_database(lambda db: reseal(db, box)).as_dict()
    print(json.dumps({"key_id": box.current_key_id, **report}))
    if report["unreadable"]:
        raise SystemExit("gateway: some secrets open with no configured key (see above); their portals must rotate")


def register(sub: Any) -> None:
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
