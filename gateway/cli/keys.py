"""``gateway portal key create|list|revoke|rotate`` and ``gateway portal rate-limit``: an operator's commands.

A new key is printed once, as JSON on stdout; nothing else ever shows a secret. Revocations and rotations are
announced through Redis so every gateway process drops the old key on its next request; when Redis cannot be
told, the command says how long other processes may still accept the key.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TypeVar

from adapters.vntime import now_utc
from gateway.settings import Settings
from gateway.settings import load as load_settings
from gateway.store.db import Database

from .common import on_database
from .common import print_json as _print

T = TypeVar("T")
MAX_OVERLAP_SECONDS = 30 * 86400


def _with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    from gateway.portals.api_keys import Refused

    try:
        return on_database(work)
    except Refused as exc:
        raise SystemExit(f"gateway: {exc}") from None


def _announce(settings: Settings) -> None:
    """Tell every gateway process; if Redis does not answer, say how long the old key may still work."""
    from redis.asyncio import Redis

    from gateway.portals import announce_revocation

    async def go() -> bool:
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return await announce_revocation(redis, settings.queue_name)
        finally:
            await redis.aclose()

    if not asyncio.run(go()):
        print(
            "warning: Redis did not answer, so gateway processes were not told: a process that cached the key may "
            f"accept it for up to AUTH_CACHE_SECONDS ({settings.auth_cache_seconds:g} s).",
            file=sys.stderr,
        )


def _create(args: argparse.Namespace) -> None:
    from gateway.portals import api_keys

    new = _with_db(lambda db: api_keys.create(db, args.portal, args.label, now_utc()))
    _print(asdict(new))
    print("The API key is shown only now: store it in the portal's secret store.", file=sys.stderr)


def _list(args: argparse.Namespace) -> None:
    from gateway.portals import api_keys

    found = _with_db(lambda db: api_keys.listing(db, args.portal, now_utc()))
    _print({"portal_id": args.portal, "keys": [asdict(k) for k in found]})


def _revoke(args: argparse.Namespace) -> None:
    from gateway.portals import api_keys

    info = _with_db(lambda db: api_keys.revoke(db, args.key_id, now_utc()))
    _announce(load_settings())
    _print(asdict(info))


def _rotate(args: argparse.Namespace) -> None:
    from gateway.portals import api_keys

    overlap = timedelta(seconds=args.overlap_seconds)
    new, old = _with_db(lambda db: api_keys.rotate(db, args.key_id, overlap, now_utc()))
    _announce(load_settings())
    _print({**asdict(new), "previous_key_id": old.key_id, "previous_key_expires_at": old.expires_at})
    print("The new API key is shown only now: store it in the portal's secret store.", file=sys.stderr)


def _rate_limit(args: argparse.Namespace) -> None:
    from gateway.portals import api_keys

    try:
        limit = None if args.limit == "default" else _count(args.limit)
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"gateway: {exc}") from None
    _with_db(lambda db: api_keys.set_rate_limit(db, args.portal, limit))
    _announce(load_settings())  # cached keys carry the old limit
    _print({"portal_id": args.portal, "rate_limit": limit})


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 1_000_000_000:
        raise argparse.ArgumentTypeError(f"not a whole number of requests: {text!r}")
    return int(text)


def _overlap(text: str) -> int:
    seconds = _count(text)
    if seconds > MAX_OVERLAP_SECONDS:
        raise argparse.ArgumentTypeError(f"at most {MAX_OVERLAP_SECONDS} seconds")
    return seconds


def register(portal: Any) -> None:
    """Add the key and rate-limit commands under ``gateway portal``."""
    key = portal.add_parser("key", help="manage a portal's API keys").add_subparsers(dest="key_action", required=True)
    p = key.add_parser("create", help="issue another API key for a portal and print it once")
    p.add_argument("--portal", required=True)
    p.add_argument("--label", default="", type=lambda s: s[:100])
    p.set_defaults(func=_create)
    p = key.add_parser("list", help="list a portal's API keys and their state (never the secrets)")
    p.add_argument("--portal", required=True)
    p.set_defaults(func=_list)
    p = key.add_parser("revoke", help="revoke an API key at once, in every gateway process")
    p.add_argument("key_id")
    p.set_defaults(func=_revoke)
    p = key.add_parser("rotate", help="issue a new key (printed once); the old one is revoked, or after an overlap")
    p.add_argument("key_id")
    p.add_argument("--overlap-seconds", type=_overlap, default=0, help="keep the old key valid this long")
    p.set_defaults(func=_rotate)
    p = portal.add_parser("rate-limit", help="set a portal's requests per window per API key, or 'default'")
    p.add_argument("--portal", required=True)
    p.add_argument("limit", help="requests per window (0: none), or 'default' for the gateway's API_RATE_LIMIT")
    p.set_defaults(func=_rate_limit)
