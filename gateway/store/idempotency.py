"""``Idempotency-Key`` records: the first answer to a POST is stored and replayed; the same key with another body
is refused. An attempt whose outcome is not known yet (the hub did not answer) leaves its key ``retryable`` with the
resource it made bound to it, so a retry with the same key resumes that resource instead of making another."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.store.tables import idempotency as it

from .db import Database
from .direct import Direct

_KEY = re.compile(r"[\x21-\x7e]{1,255}")
LOCK_SECONDS = 60

IN_PROGRESS = "in_progress"
COMPLETED = "completed"
RETRYABLE = "retryable"

K = it.idempotency_keys.c

# Every idempotent POST claims and completes its key: both statements are built once and run straight on asyncpg on
# PostgreSQL (``Direct``).
_CLAIM = Direct(it.idempotency_keys.insert())
_COMPLETE = Direct(it.idempotency_keys.update().where(K.portal_id == bindparam("b_owner"), K.key == bindparam("b_key")))


@dataclass(frozen=True)
class Replay:
    """The stored answer of a completed attempt."""

    status_code: int
    body: bytes


@dataclass(frozen=True)
class Request:
    """What identifies an idempotent request: its owner's key and a digest of what it asked."""

    owner: str
    key: str
    method: str
    path: str
    digest: str


def require_key(header: str | None) -> str:
    if header is None:
        raise Refused("idempotency_key_required", field="Idempotency-Key")
    if not _KEY.fullmatch(header):
        raise Refused("idempotency_key_invalid", "1-255 visible ASCII characters", field="Idempotency-Key")
    return header


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


async def claim(db: Database, request: Request, now: datetime, lock_seconds: int = LOCK_SECONDS) -> Attempt | Replay:
    """The right to act on the key (an ``Attempt``), or the answer a completed attempt stored (``Replay``)."""
    row = {
        "portal_id": request.owner,
        "key": request.key,
        "method": request.method,
        "path": request.path,
        "request_hash": request.digest,
        "state": IN_PROGRESS,
        "resource_id": None,
        "locked_until": now + timedelta(seconds=lock_seconds),
        "created_at": now,
    }
    try:
        async with db.single_statement() as conn:
            await _CLAIM.change(conn, row)
        return Attempt(request.owner, request.key)
    except IntegrityError:
        return await _resolve_conflict(db, request, now, lock_seconds)


async def _resolve_conflict(db: Database, request: Request, now: datetime, lock_seconds: int) -> Attempt | Replay:
    """The key exists: replay its answer, refuse a different request, or claim it back to resume (a request cut
    short, by a crash or a database outage, leaves its key locked until ``lock_seconds`` after it began)."""
    mine = and_(K.portal_id == request.owner, K.key == request.key)
    async with db.transaction() as tx:
        row = (await tx.execute(select(it.idempotency_keys).where(mine))).first()
        if row is None:  # expired and purged between our insert and this read: the caller may simply retry
            raise Refused("idempotency_in_progress", "retry the request")
        if row.request_hash != request.digest:
            raise Refused("idempotency_key_reused", field="Idempotency-Key")
        if row.state == COMPLETED:
            return Replay(row.status_code, row.response_body)
        claimed = await tx.execute(
            it.idempotency_keys.update()
            .where(mine, or_(K.state == RETRYABLE, and_(K.state == IN_PROGRESS, K.locked_until < now)))
            .values(state=IN_PROGRESS, locked_until=now + timedelta(seconds=lock_seconds))
        )
        if claimed.rowcount != 1:
            raise Refused("idempotency_in_progress", retry_after=1)
        return Attempt(request.owner, request.key, row.resource_id)


async def bind(conn: AsyncConnection, attempt: Attempt, resource_id: str) -> None:
    """Tie what the attempt made to its key, in the transaction that makes it."""
    await conn.execute(
        it.idempotency_keys.update()
        .where(K.portal_id == attempt.owner, K.key == attempt.key)
        .values(resource_id=resource_id)
    )


async def complete(db: Database, attempt: Attempt, status_code: int, body: bytes) -> None:
    async with db.single_statement() as conn:
        values = {"state": COMPLETED, "status_code": status_code, "response_body": body, "locked_until": None}
        await _COMPLETE.change(conn, {**values, "b_owner": attempt.owner, "b_key": attempt.key})


async def abandon(db: Database, attempt: Attempt) -> None:
    """An attempt that made nothing leaves no key; one that made a resource leaves it for a retry to resume."""
    mine = and_(K.portal_id == attempt.owner, K.key == attempt.key, K.state == IN_PROGRESS)
    async with db.transaction() as tx:
        await tx.execute(it.idempotency_keys.delete().where(mine, K.resource_id.is_(None)))
        await tx.execute(it.idempotency_keys.update().where(mine).values(state=RETRYABLE, locked_until=None))


async def purge(db: Database, older_than: datetime) -> int:
    async with db.transaction() as tx:
        result = await tx.execute(it.idempotency_keys.delete().where(it.idempotency_keys.c.created_at < older_than))
        return result.rowcount or 0
