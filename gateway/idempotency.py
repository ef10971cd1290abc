"""``Idempotency-Key``: the first response to a POST is stored and replayed; the same key with another body is
refused. A request whose outcome was unknown (the hub did not answer) leaves its key ``retryable``, so a retry
with the same key resumes the same resource instead of creating another."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Problem
from gateway.store import tables as t
from gateway.store.db import Database

_KEY = re.compile(r"[\x21-\x7e]{1,255}")
LOCK_SECONDS = 60

IN_PROGRESS = "in_progress"
COMPLETED = "completed"
RETRYABLE = "retryable"


@dataclass(frozen=True)
class Claim:
    """The right to act on a key: ``resource_id`` is set when a previous attempt left a resource to resume."""

    portal_id: str
    key: str
    resource_id: str | None = None


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: bytes


def require_key(header: str | None) -> str:
    if header is None:
        raise Problem(400, "idempotency_key_required", field="Idempotency-Key")
    if not _KEY.fullmatch(header):
        raise Problem(400, "idempotency_key_invalid", "1-255 visible ASCII characters", field="Idempotency-Key")
    return header


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


def new_row(
    portal_id: str, key: str, method: str, path: str, digest: str, now: datetime, resource_id: str | None
) -> dict:
    return {
        "portal_id": portal_id,
        "key": key,
        "method": method,
        "path": path,
        "request_hash": digest,
        "state": IN_PROGRESS,
        "resource_id": resource_id,
        "locked_until": now + timedelta(seconds=LOCK_SECONDS),
        "created_at": now,
    }


async def insert(tx: AsyncConnection, row: dict) -> None:
    await tx.execute(t.idempotency_keys.insert().values(**row))


async def resolve_conflict(db: Database, portal_id: str, key: str, digest: str, now: datetime) -> Claim | Replay:
    """The key exists: replay its response, refuse a different request, or claim it back to resume."""
    k = t.idempotency_keys.c
    async with db.transaction() as tx:
        row = (await tx.execute(select(t.idempotency_keys).where(k.portal_id == portal_id, k.key == key))).first()
        if row is None:  # expired and purged between our insert and this read: the caller may simply retry
            raise Problem(409, "idempotency_in_progress", "retry the request")
        if row.request_hash != digest:
            raise Problem(409, "idempotency_key_reused", field="Idempotency-Key")
        if row.state == COMPLETED:
            return Replay(row.status_code, row.response_body)
        claimed = await tx.execute(
            t.idempotency_keys.update()
            .where(
                k.portal_id == portal_id,
                k.key == key,
                k.state != COMPLETED,
                or_(k.state == RETRYABLE, and_(k.state == IN_PROGRESS, k.locked_until < now)),
            )
            .values(state=IN_PROGRESS, locked_until=now + timedelta(seconds=LOCK_SECONDS))
        )
        if claimed.rowcount != 1:
            raise Problem(409, "idempotency_in_progress", headers={"Retry-After": "1"})
        return Claim(portal_id, key, row.resource_id)


async def complete(tx: AsyncConnection, claim: Claim, status_code: int, body: bytes, resource_id: str | None) -> None:
    k = t.idempotency_keys.c
    await tx.execute(
        t.idempotency_keys.update()
        .where(k.portal_id == claim.portal_id, k.key == claim.key)
        .values(
            state=COMPLETED, status_code=status_code, response_body=body, resource_id=resource_id, locked_until=None
        )
    )


async def release(db: Database, claim: Claim, resource_id: str | None) -> None:
    """Leave the key for a retry to resume (the outcome is not known yet)."""
    k = t.idempotency_keys.c
    async with db.transaction() as tx:
        await tx.execute(
            t.idempotency_keys.update()
            .where(k.portal_id == claim.portal_id, k.key == claim.key)
            .values(state=RETRYABLE, resource_id=resource_id, locked_until=None)
        )


async def purge(db: Database, older_than: datetime) -> int:
    async with db.transaction() as tx:
        result = await tx.execute(t.idempotency_keys.delete().where(t.idempotency_keys.c.created_at < older_than))
        return result.rowcount or 0


def is_key_conflict(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "idempotency_keys" in text or "pk_idempotency_keys" in text
