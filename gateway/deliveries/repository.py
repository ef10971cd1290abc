"""All of event delivery's SQL: the webhook endpoints, the attempt log, and the delivery columns of the outbox
(its state, attempts, retry time and the relay's lease). Functions on a connection; the use cases choose the
transactions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.events import COLUMNS, StoredEvent, stored
from gateway.store import dialect, pages
from gateway.store.direct import Direct
from gateway.store.tables import deliveries as dt
from gateway.store.tables import outbox as ot

from .state import DEAD, DELIVERED, PENDING, SKIPPED, Candidate

PORTALS_PER_QUERY = 50  # portals whose due events one statement reads (SQLite allows 500 parts in a UNION)

OB = ot.outbox.c
E = dt.webhook_endpoints.c
A = dt.delivery_attempts.c
STATUS_COLUMNS = (OB.dispatch_state, OB.attempts, OB.next_attempt_at, OB.delivered_at, OB.last_error)
RELEASED: dict[str, Any] = {"claim_token": None, "claimed_until": None}
FRESH: dict[str, Any] = {
    "dispatch_state": PENDING,
    "attempts": 0,
    "next_attempt_at": None,
    **RELEASED,
    "last_error": "",
}


@dataclass(frozen=True)
class Endpoint:
    """A portal's webhook endpoint as stored: its secrets are sealed (``secret_box``)."""

    portal_id: str
    url: str
    enabled: bool
    secret: str
    previous_secret: str | None
    previous_expires_at: datetime | None
    consecutive_failures: int
    circuit_open_until: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AttemptRecord:
    """One line of the delivery log."""

    portal_id: str
    event_id: str
    attempt: int
    url: str
    outcome: str
    status_code: int | None
    latency_ms: int
    error: str
    attempted_at: datetime
    id: int = 0  # given by the database


@dataclass(frozen=True)
class DeliveryState:
    """Where an event is in its delivery."""

    dispatch_state: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class QueuedEvent:
    """A claimed event, with the attempts already made and the end of the claim."""

    event: StoredEvent
    attempts: int
    claimed_until: datetime


# -- endpoints ----------------------------------------------------------------------------------------------------


async def endpoint(conn: AsyncConnection, portal_id: str, *, lock: bool = False) -> Endpoint | None:
    query = select(dt.webhook_endpoints).where(E.portal_id == portal_id)
    if lock:
        query = dialect.locked(conn, query)
    row = (await conn.execute(query)).first()
    return None if row is None else Endpoint(**row._asdict())


async def insert_endpoint(
    conn: AsyncConnection, portal_id: str, url: str, enabled: bool, sealed: str, now: datetime
) -> None:
    values = {"url": url, "enabled": enabled, "secret": sealed, "created_at": now, "updated_at": now}
    await conn.execute(dt.webhook_endpoints.insert().values(portal_id=portal_id, **values))


async def change_endpoint(
    conn: AsyncConnection, portal_id: str, url: str, enabled: bool, now: datetime, *, close_circuit: bool
) -> None:
    values: dict[str, Any] = {"url": url, "enabled": enabled, "updated_at": now}
    if close_circuit:
        values.update(consecutive_failures=0, circuit_open_until=None)
    await conn.execute(dt.webhook_endpoints.update().where(E.portal_id == portal_id).values(**values))


async def set_secrets(
    conn: AsyncConnection,
    portal_id: str,
    sealed: str,
    previous: str | None,
    previous_until: datetime | None,
    now: datetime,
) -> None:
    await conn.execute(
        dt.webhook_endpoints.update()
        .where(E.portal_id == portal_id)
        .values(secret=sealed, previous_secret=previous, previous_expires_at=previous_until, updated_at=now)
    )


async def sealed_secrets(conn: AsyncConnection) -> list[tuple[str, str, str | None]]:
    """Every endpoint's ``(portal id, secret, previous secret)``, sealed."""
    return [(p, s, prev) for p, s, prev in await conn.execute(select(E.portal_id, E.secret, E.previous_secret))]


async def reseal(
    conn: AsyncConnection, portal_id: str, secret: str, previous: str | None, values: dict[str, str]
) -> bool:
    """Store resealed secrets, only if the endpoint still holds the values that were read."""
    same_previous = E.previous_secret.is_(None) if previous is None else E.previous_secret == previous
    result = await conn.execute(
        update(dt.webhook_endpoints).where(E.portal_id == portal_id, E.secret == secret, same_previous).values(**values)
    )
    return bool(result.rowcount)


async def circuits_closed(conn: AsyncConnection, now: datetime, portal_id: str | None = None) -> list[tuple[str, int]]:
    """``(portal id, consecutive failures)`` of every enabled endpoint whose circuit is not open (of one portal's,
    with ``portal_id``)."""
    query = select(E.portal_id, E.consecutive_failures).where(
        E.enabled.is_(True), or_(E.circuit_open_until.is_(None), E.circuit_open_until <= now)
    )
    if portal_id is not None:
        query = query.where(E.portal_id == portal_id)
    return [(portal_id, failures) for portal_id, failures in await conn.execute(query)]


async def close_circuit(conn: AsyncConnection, portal_id: str) -> None:
    await conn.execute(
        update(dt.webhook_endpoints)
        .where(E.portal_id == portal_id, or_(E.consecutive_failures > 0, E.circuit_open_until.is_not(None)))
        .values(consecutive_failures=0, circuit_open_until=None)
    )


async def count_failure(conn: AsyncConnection, portal_id: str) -> int:
    """One more consecutive failure; returns the count (0 when the endpoint is gone)."""
    failures = (
        await conn.execute(
            update(dt.webhook_endpoints)
            .where(E.portal_id == portal_id)
            .values(consecutive_failures=E.consecutive_failures + 1)
            .returning(E.consecutive_failures)
        )
    ).scalar_one_or_none()
    return failures or 0


async def open_circuit(conn: AsyncConnection, portal_id: str, until: datetime) -> None:
    await conn.execute(update(dt.webhook_endpoints).where(E.portal_id == portal_id).values(circuit_open_until=until))


# -- the attempt log ----------------------------------------------------------------------------------------------


def _attempt_values(record: AttemptRecord) -> dict[str, Any]:
    return {
        "portal_id": record.portal_id,
        "event_id": record.event_id,
        "attempt": record.attempt,
        "url": record.url,
        "outcome": record.outcome,
        "status_code": record.status_code,
        "latency_ms": record.latency_ms,
        "error": record.error,
        "attempted_at": record.attempted_at,
    }


async def record_attempts(conn: AsyncConnection, records: list[AttemptRecord]) -> None:
    if len(records) == 1:
        await conn.execute(dt.delivery_attempts.insert().values(**_attempt_values(records[0])))
    elif records:
        await conn.execute(dt.delivery_attempts.insert(), [_attempt_values(r) for r in records])


async def attempts_page(
    conn: AsyncConnection, portal_id: str, *, event_id: str | None, after: int | None, limit: int
) -> tuple[list[AttemptRecord], str | None]:
    query = select(dt.delivery_attempts).where(A.portal_id == portal_id)
    if event_id:
        query = query.where(A.event_id == event_id)
    rows, next_cursor = await pages.newest_first(conn, query, A.id, after, limit)
    return [AttemptRecord(**row._asdict()) for row in rows], next_cursor


# -- the outbox's delivery columns: reads --------------------------------------------------------------------------


def _with_state(row: Any) -> tuple[StoredEvent, DeliveryState]:
    return stored(row), DeliveryState(*row[len(COLUMNS) :])


async def dead_letters_page(
    conn: AsyncConnection, portal_id: str, *, after: int | None, limit: int
) -> tuple[list[tuple[StoredEvent, DeliveryState]], str | None]:
    query = select(*COLUMNS, *STATUS_COLUMNS).where(OB.portal_id == portal_id, OB.dispatch_state == DEAD)
    rows, next_cursor = await pages.newest_first(conn, query, OB.position, after, limit)
    return [_with_state(row) for row in rows], next_cursor


async def event_with_state(
    conn: AsyncConnection, portal_id: str, event_id: str
) -> tuple[StoredEvent, DeliveryState] | None:
    query = select(*COLUMNS, *STATUS_COLUMNS).where(OB.portal_id == portal_id, OB.id == event_id)
    row = (await conn.execute(query)).first()
    return None if row is None else _with_state(row)


def _due(now: datetime) -> list[Any]:
    return [
        OB.dispatch_state == PENDING,
        or_(OB.next_attempt_at.is_(None), OB.next_attempt_at <= now),
        or_(OB.claimed_until.is_(None), OB.claimed_until < now),
    ]


def _unaddressed() -> list[Any]:
    has_webhook = exists().where(E.portal_id == OB.portal_id, E.enabled.is_(True))
    return [OB.dispatch_state == PENDING, ~has_webhook]


async def any_unaddressed(conn: AsyncConnection) -> bool:
    """Whether any pending event's portal has no enabled webhook."""
    return (await conn.execute(select(OB.position).where(*_unaddressed()).limit(1))).first() is not None


async def take_claim_turn(conn: AsyncConnection) -> None:
    """Wait for any other claim of due events to end, and hold the turn until this transaction ends (PostgreSQL: a
    transaction-level advisory lock; SQLite's writers already take turns)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("outbox:claims"))))


async def held_rows(
    conn: AsyncConnection, now: datetime, portal_id: str | None = None
) -> list[tuple[str, str, int, datetime | None]]:
    """``(portal, dossier, sequence, claimed until)`` of pending events that are leased or waiting for a retry (of
    one portal's, with ``portal_id``)."""
    query = select(OB.portal_id, OB.dossier_code, OB.sequence, OB.claimed_until).where(
        OB.dispatch_state == PENDING, or_(OB.attempts > 0, OB.claimed_until >= now)
    )
    if portal_id is not None:
        query = query.where(OB.portal_id == portal_id)
    return [(p, d, s, c) for p, d, s, c in await conn.execute(query)]


async def oldest_due(conn: AsyncConnection, windows: dict[str, int], now: datetime) -> dict[str, list[Candidate]]:
    """Each portal's oldest due events, up to its window: one indexed range per portal, several per statement."""
    found: dict[str, list[Candidate]] = defaultdict(list)
    portals = sorted(windows)
    for start in range(0, len(portals), PORTALS_PER_QUERY):
        parts = [
            select(OB.position, OB.portal_id, OB.dossier_code, OB.sequence)
            .where(OB.portal_id == portal_id, *_due(now))
            .order_by(OB.position)
            .limit(windows[portal_id])
            .subquery()
            for portal_id in portals[start : start + PORTALS_PER_QUERY]
        ]
        query = union_all(*(select(part) for part in parts)) if len(parts) > 1 else select(parts[0])
        for position, portal_id, dossier_code, sequence in await conn.execute(query):
            found[portal_id].append(Candidate(position, dossier_code, sequence))
    return found


async def claimed(conn: AsyncConnection, token: str, positions: list[int]) -> list[QueuedEvent]:
    """The events of ``positions`` that still carry the lease ``token``, in order."""
    query = select(*COLUMNS, OB.attempts, OB.claimed_until).where(_mine(token, positions)).order_by(OB.position)
    return [QueuedEvent(stored(row), row.attempts, row.claimed_until) for row in await conn.execute(query)]


# -- the outbox's delivery columns: writes -------------------------------------------------------------------------


def _mine(token: str, positions: list[int]) -> Any:
    return and_(OB.position.in_(positions), OB.claim_token == token, OB.dispatch_state == PENDING)


async def skip_unaddressed(conn: AsyncConnection) -> int:
    """Events of portals with no enabled webhook are not pushed (they stay in the feed, and can be replayed)."""
    result = await conn.execute(update(ot.outbox).where(*_unaddressed()).values(dispatch_state=SKIPPED))
    return result.rowcount or 0


async def lease(
    conn: AsyncConnection, positions: list[int], token: str, now: datetime, until: datetime
) -> list[tuple[int, str, str]]:
    """Lease the positions still due to ``token``; returns ``(position, portal, dossier)`` of those leased."""
    rows = await conn.execute(
        update(ot.outbox)
        .where(OB.position.in_(positions), *_due(now))
        .values(claim_token=token, claimed_until=until)
        .returning(OB.position, OB.portal_id, OB.dossier_code)
    )
    return [(position, portal_id, dossier_code) for position, portal_id, dossier_code in rows]


async def skip_claimed(conn: AsyncConnection, token: str, positions: list[int]) -> int:
    result = await conn.execute(
        update(ot.outbox).where(_mine(token, positions)).values(dispatch_state=SKIPPED, **RELEASED)
    )
    return result.rowcount or 0


async def release(conn: AsyncConnection, token: str, positions: list[int]) -> int:
    result = await conn.execute(update(ot.outbox).where(_mine(token, positions)).values(**RELEASED))
    return result.rowcount or 0


_MARK_DELIVERED = Direct(
    update(ot.outbox)
    .where(
        OB.position == bindparam("delivered_position"),
        OB.claim_token == bindparam("token"),
        OB.dispatch_state == PENDING,
    )
    .values(
        dispatch_state=DELIVERED,
        delivered_at=bindparam("delivered_at_"),
        attempts=OB.attempts + 1,
        next_attempt_at=None,
        last_error="",
        **RELEASED,
    )
)


async def mark_delivered(conn: AsyncConnection, token: str, delivered: Sequence[tuple[int, datetime]]) -> None:
    """The positions still leased to ``token`` delivered, each at its time: one round trip for them all."""
    rows = [{"delivered_position": p, "token": token, "delivered_at_": at} for p, at in delivered]
    await _MARK_DELIVERED.change_many(conn, rows)


async def mark_failed(
    conn: AsyncConnection, token: str, position: int, attempts: int, retry_at: datetime | None, error: str
) -> None:
    """Back to pending until ``retry_at``, or dead when there is no retry."""
    await conn.execute(
        update(ot.outbox)
        .where(_mine(token, [position]))
        .values(
            dispatch_state=PENDING if retry_at else DEAD,
            attempts=attempts,
            next_attempt_at=retry_at,
            last_error=error,
            **RELEASED,
        )
    )


async def give_up_older(conn: AsyncConnection, portal_id: str, before: datetime, now: datetime, reason: str) -> None:
    """Dead-letter the portal's pending, unleased events created before ``before``."""
    await conn.execute(
        update(ot.outbox)
        .where(
            OB.portal_id == portal_id,
            OB.dispatch_state == PENDING,
            OB.created_at < before,
            or_(OB.claimed_until.is_(None), OB.claimed_until < now),
        )
        .values(dispatch_state=DEAD, last_error=reason)
    )


async def replay_one(conn: AsyncConnection, portal_id: str, event_id: str) -> bool:
    """Queue the event again unless it is already waiting to be sent; False if the portal has no such event."""
    ours = (OB.portal_id == portal_id, OB.id == event_id)
    result = await conn.execute(update(ot.outbox).where(*ours, OB.dispatch_state != PENDING).values(**FRESH))
    if result.rowcount:
        return True
    return (await conn.execute(select(OB.position).where(*ours))).first() is not None


async def replay_dead_since(conn: AsyncConnection, portal_id: str, since: datetime) -> int:
    result = await conn.execute(
        update(ot.outbox)
        .where(OB.portal_id == portal_id, OB.dispatch_state == DEAD, OB.created_at >= since)
        .values(**FRESH)
    )
    return result.rowcount or 0
