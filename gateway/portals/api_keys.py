"""An operator's work on a portal's API keys: create, list, revoke and rotate. The secret of a key is returned
once, at its creation; only its hash is kept. Revoking or rotating is announced to every gateway process (see
``revocations``) by the caller, after the change is committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.db import Database

from . import keys, repository
from .repository import StoredKey
from .service import insert_key


class Refused(LookupError):
    """No such portal or key, or a key that cannot be rotated any more."""


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    portal_id: str
    label: str
    state: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewKey:
    key_id: str
    portal_id: str
    api_key: str  # shown once
    label: str


def _info(key: StoredKey, now: datetime) -> KeyInfo:
    return KeyInfo(
        key_id=key.id,
        portal_id=key.portal_id,
        label=key.label,
        state=keys.state(key, now),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
    )


def _new(token: str, portal_id: str, label: str) -> NewKey:
    parsed = keys.parse(token)
    assert parsed is not None  # a token just issued is well formed
    return NewKey(key_id=parsed[0], portal_id=portal_id, api_key=token, label=label)


async def _require_portal(conn: AsyncConnection, portal_id: str) -> None:
    if not await repository.portal_exists(conn, portal_id):
        raise Refused(f"no portal {portal_id!r}")


async def create(db: Database, portal_id: str, label: str, now: datetime) -> NewKey:
    async with db.transaction() as tx:
        await _require_portal(tx, portal_id)
        token = await insert_key(tx, portal_id, label)
    return _new(token, portal_id, label)


async def listing(db: Database, portal_id: str, now: datetime) -> list[KeyInfo]:
    async with db.read() as conn:
        await _require_portal(conn, portal_id)
        found = await repository.keys_of(conn, portal_id)
    return [_info(key, now) for key in found]


async def revoke(db: Database, key_id: str, now: datetime) -> KeyInfo:
    """Revoke a key at once (revoking a revoked key changes nothing)."""
    async with db.transaction() as tx:
        await repository.revoke_key(tx, key_id, now)
        key = await repository.key(tx, key_id)
    if key is None:
        raise Refused(f"no API key {key_id!r}")
    return _info(key, now)


async def rotate(db: Database, key_id: str, overlap: timedelta, now: datetime) -> tuple[NewKey, KeyInfo]:
    """Issue a new key for the same portal and label; the old one is revoked now, or expires after ``overlap``."""
    async with db.transaction() as tx:
        old = await repository.key(tx, key_id)
        if old is None:
            raise Refused(f"no API key {key_id!r}")
        if not keys.usable(old, now):
            raise Refused(f"API key {key_id!r} is {keys.state(old, now)}: create a new key instead")
        token = await insert_key(tx, old.portal_id, old.label)
        if overlap > timedelta(0):
            end = now + overlap
            if old.expires_at is not None:
                end = min(end, old.expires_at)
            await repository.end_key(tx, key_id, revoked_at=None, expires_at=end)
        else:
            await repository.end_key(tx, key_id, revoked_at=now, expires_at=None)
        ended = await repository.key(tx, key_id)
    assert ended is not None
    return _new(token, old.portal_id, old.label), _info(ended, now)


async def set_rate_limit(db: Database, portal_id: str, limit: int | None) -> None:
    async with db.transaction() as tx:
        await _require_portal(tx, portal_id)
        await repository.set_rate_limit(tx, portal_id, limit)
