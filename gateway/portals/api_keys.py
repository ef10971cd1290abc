"""An operator's work on a portal's API keys: create, list, revoke and rotate. The secret of a key is returned
once, at its creation; only its hash is kept. Revoking or rotating is announced to every gateway process (see
``revocations``) by the caller, after the change is committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.db import Database
from gateway.store.tables import portals as ct

from . import keys
from .service import insert_key

K = ct.api_keys.c


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


def _info(row: Row[Any], now: datetime) -> KeyInfo:
    return KeyInfo(
        key_id=row.id,
        portal_id=row.portal_id,
        label=row.label,
        state=keys.state(row, now),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def _require_portal(conn: AsyncConnection, portal_id: str) -> None:
    found = await conn.execute(select(ct.portals.c.id).where(ct.portals.c.id == portal_id))
    if found.first() is None:
        raise Refused(f"no portal {portal_id!r}")


async def create(db: Database, portal_id: str, label: str, now: datetime) -> NewKey:
    async with db.transaction() as tx:
        await _require_portal(tx, portal_id)
        token = await insert_key(tx, portal_id, label)
    key_id = keys.parse(token)[0]  # type: ignore[index]
    return NewKey(key_id=key_id, portal_id=portal_id, api_key=token, label=label)


async def listing(db: Database, portal_id: str, now: datetime) -> list[KeyInfo]:
    async with db.read() as conn:
        await _require_portal(conn, portal_id)
        rows = (await conn.execute(select(ct.api_keys).where(K.portal_id == portal_id).order_by(K.id))).all()
    return [_info(row, now) for row in rows]


async def revoke(db: Database, key_id: str, now: datetime) -> KeyInfo:
    """Revoke a key at once (revoking a revoked key changes nothing)."""
    async with db.transaction() as tx:
        await tx.execute(ct.api_keys.update().where(K.id == key_id, K.revoked_at.is_(None)).values(revoked_at=now))
        row = (await tx.execute(select(ct.api_keys).where(K.id == key_id))).first()
    if row is None:
        raise Refused(f"no API key {key_id!r}")
    return _info(row, now)


async def rotate(db: Database, key_id: str, overlap: timedelta, now: datetime) -> tuple[NewKey, KeyInfo]:
    """Issue a new key for the same portal and label; the old one is revoked now, or expires after ``overlap``."""
    async with db.transaction() as tx:
        old = (await tx.execute(select(ct.api_keys).where(K.id == key_id))).first()
        if old is None:
            raise Refused(f"no API key {key_id!r}")
        if not keys.usable(old, now):
            raise Refused(f"API key {key_id!r} is {keys.state(old, now)}: create a new key instead")
        token = await insert_key(tx, old.portal_id, old.label)
        if overlap > timedelta(0):
            end = now + overlap
            if old.expires_at is not None:
                end = min(end, old.expires_at)
            await tx.execute(ct.api_keys.update().where(K.id == key_id).values(expires_at=end))
        else:
            await tx.execute(ct.api_keys.update().where(K.id == key_id).values(revoked_at=now))
        row = (await tx.execute(select(ct.api_keys).where(K.id == key_id))).first()
    new = NewKey(key_id=keys.parse(token)[0], portal_id=old.portal_id, api_key=token, label=old.label)  # type: ignore[index]
    return new, _info(row, now)


async def set_rate_limit(db: Database, portal_id: str, limit: int | None) -> None:
    async with db.transaction() as tx:
        await _require_portal(tx, portal_id)
        await tx.execute(ct.portals.update().where(ct.portals.c.id == portal_id).values(rate_limit=limit))
