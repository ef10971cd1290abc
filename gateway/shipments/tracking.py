"""Recording the post's status events: the one code path for the webhook, the polled feed and getOrder's history.

Each event is recorded once (``state.dedupe_key``), kept on the shipment's timeline whatever it says, and moves
the shipment only forward (``state.moves``). Within a batch, events are applied in the order they happened, so
the outbox announces changes in that order. The feed's cursor is advanced in the same transaction as the events
of its page, and only if nobody moved it meanwhile: a page is recorded entirely, with its cursor, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.postal import PostalClient, StatusEvent
from adapters.vntime import now_utc
from gateway.kernel.collected import COD, OnCollected, ignore
from gateway.store.db import Database
from gateway.store.uow import NeedsLock, UnitOfWork

from . import cod, repository, transitions
from .records import Shipment
from .state import COLLECT, STATUSES, cod_verdict, dedupe_key, moves, occurrence, reports_money

log = logging.getLogger("gateway.shipments")

FEED_CURSOR = "tracking"

# How many times a pushed event reads its shipment when other changes move it in between: each such change moves
# it forward (its status's rank rises), answers its booking or records its COD, so it cannot change more often than
# that; past it, a busy database (the post is answered 503 and pushes again).
MAX_READINGS = len(STATUSES) + 2


@dataclass
class Tally:
    """What a batch of events did."""

    recorded: int = 0  # new on a timeline
    applied: int = 0  # of those, moved their shipment
    duplicates: int = 0  # seen before, by any path
    unknown: int = 0  # for no shipment of ours (or for another order than the one booked)
    cod_collected: int = 0
    cod_held: int = 0  # reported collections held for reconciliation, not taken as received

    def add(self, other: Tally) -> None:
        for name in ("recorded", "applied", "duplicates", "unknown", "cod_collected", "cod_held"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


async def record(
    db: Database,
    events: Sequence[StatusEvent],
    source: str,
    now: datetime | None = None,
    on_collected: OnCollected = ignore,
) -> Tally:
    """Record ``events`` in one unit of work, then announce the collections it recorded.

    One event (the post's push, as a rule) is recorded in a checked unit (``Database.checked``): its shipment and
    whether its key is taken read in one statement without a lock, then the event, the shipment's move and its
    outbox rows written in one statement that applies only if the shipment is still as read and the key still
    free; else it is read again. Several events, and a delivery whose COD is to be collected or held (its rows are
    written at once and read back: a delivery that reports an amount, or one of a shipment booked with COD, known
    once read), are recorded under the shipments' row locks."""
    when = now or now_utc()
    if len(events) == 1 and not (reports_money(events[0]) and events[0].cod_amount):

        async def in_checked_unit(uow: UnitOfWork) -> Tally:
            return await record_in(uow, events, source, when)

        try:
            return await db.checked(in_checked_unit, readings=MAX_READINGS, what=f"shipment of {_ref(events[0])}")
        except NeedsLock:
            pass  # its COD is to be held: recorded under the lock below
    collected: list[str] = []
    async with db.unit() as uow:
        tally = await record_in(uow, events, source, when, collected)
    await announce(collected, on_collected)
    return tally


async def announce(collected: Sequence[str], on_collected: OnCollected) -> None:
    """Tell whoever listens of the collections just committed (the receipt's fast path; never raises)."""
    for collection_id in collected:
        await on_collected(COD, collection_id)


async def record_in(
    uow: UnitOfWork,
    events: Sequence[StatusEvent],
    source: str,
    now: datetime,
    collected: list[str] | None = None,
) -> Tally:
    """Record ``events`` (from ``source``: webhook, feed or order) in the caller's unit of work; the ids of the COD
    collections recorded are added to ``collected``."""
    tally = Tally()
    owners = await _owners(uow.conn, events)
    keyed = sorted(((dedupe_key(event), event) for event in events), key=lambda pair: occurrence(pair[1]))
    shipments, seen = await repository.for_change(uow, owners.values(), (key for key, _ in keyed))
    taken = await _originals_taken(uow.conn, keyed, owners, shipments)
    for key, event in keyed:
        shipment = shipments.get(owners.get(_ref(event), ""))
        if (
            shipment is None
            or shipment.original_id not in (None, event.original_id)
            or taken.setdefault(event.original_id, shipment.id) != shipment.id  # the post's id is another's
        ):
            tally.unknown += 1
            log.warning(
                "postal event for no shipment of ours",
                extra={"original_id": event.original_id, "sale_order_code": event.sale_order_code, "source": source},
            )
            continue
        before = shipment
        verdict = cod_verdict(before.status, before.status_code, before.cod_amount, event)
        if uow.checked and verdict is not None and key not in (seen or ()):  # a repeat does nothing: no lock needed
            raise NeedsLock(f"the COD of {shipment.id} is to be collected or held")
        applied = moves(before.status, event)
        if not await _insert(uow, seen, _event_row(shipment.id, key, event, source, applied, now)):
            tally.duplicates += 1
            continue
        tally.recorded += 1
        if applied:
            moved = await transitions.move(
                uow, shipment, event.state.value, now, values=_values(shipment, event), event=_event_payload(event)
            )
            assert moved is not None  # the row is locked, or the move kept for a commit that checks it
            shipment = shipments[shipment.id] = moved
            tally.applied += 1
        if verdict == COLLECT:
            with_collection = await cod.record(uow, shipment, event, now)
            if with_collection is not None and with_collection.collection is not None:
                shipments[shipment.id] = with_collection  # the page's later events see the collection
                tally.cod_collected += 1
                if collected is not None:
                    collected.append(with_collection.collection.id)
        elif verdict:
            with_held = await cod.hold(uow, shipment, event, verdict, before.status, source, now)
            if with_held is not None:
                shipments[shipment.id] = with_held
                tally.cod_held += 1
    return tally


def _ref(event: StatusEvent) -> str:
    return event.sale_order_code or f"original:{event.original_id}"


async def _owners(tx: AsyncConnection, events: Sequence[StatusEvent]) -> dict[str, str]:
    """Each event's shipment id: its saleOrderCode (our id, known before the post answers), else found by
    originalId. A saleOrderCode that is no shipment of ours simply finds nothing to lock."""
    owners = {e.sale_order_code: e.sale_order_code for e in events if e.sale_order_code}
    originals = {e.original_id for e in events if not e.sale_order_code}
    if originals:
        for shipment_id, original_id in await repository.owners_by_original(tx, originals):
            owners[f"original:{original_id}"] = shipment_id
    return owners


async def _originals_taken(
    tx: AsyncConnection,
    keyed: Sequence[tuple[str, StatusEvent]],
    owners: dict[str, str],
    shipments: dict[str, Shipment],
) -> dict[str, str]:
    """The shipment each post's id belongs to, among the ids of events for shipments whose answer from the post never
    reached us (an event gives them the post's id, which is unique): read only when there are some."""
    unclaimed = set()
    for _, event in keyed:
        shipment = shipments.get(owners.get(_ref(event), ""))
        if shipment is not None and shipment.original_id is None:
            unclaimed.add(event.original_id)
    if not unclaimed:
        return {}
    return {original_id: shipment_id for shipment_id, original_id in await repository.owners_by_original(tx, unclaimed)}


async def _insert(uow: UnitOfWork, seen: set[str] | None, row: dict[str, Any]) -> bool:
    """Keep an event's ``row`` on its shipment's timeline; ``False`` if the event was recorded before. ``seen``: the
    keys a checked unit read as taken (the row is then kept for its commit, which fails if the key was taken
    meanwhile), or ``None`` under the shipments' locks (the row is inserted at once unless its key is taken)."""
    if seen is None:
        return await repository.insert_event(uow.conn, row)
    if row["dedupe_key"] in seen:
        return False
    seen.add(row["dedupe_key"])
    repository.keep_event(uow, row)
    return True


def _event_row(
    shipment_id: str, key: str, event: StatusEvent, source: str, applied: bool, now: datetime
) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "dedupe_key": key,
        "feed_id": event.event_id,
        "raw_code": event.code,
        "raw_text": event.text[:255],
        "state": event.state.value,
        "occurred_at": event.time,
        "location": event.location[:255],
        "note": event.note[:500],
        "cod_amount": event.cod_amount,
        "source": source,
        "applied": applied,
        "received_at": now,
    }


def _values(shipment: Shipment, event: StatusEvent) -> dict[str, Any]:
    values: dict[str, Any] = {"status_code": event.code, "status_text": event.text[:255], "status_at": event.time}
    if shipment.original_id is None:  # the post booked it but its answer never reached us
        values.update(original_id=event.original_id, item_code=event.item_code)
    return values


def _event_payload(event: StatusEvent) -> dict[str, Any]:
    return {
        "code": event.code,
        "text": event.text,
        "state": event.state.value,
        "occurred_at": event.time.isoformat(),
        "location": event.location,
        "note": event.note,
    }


# ---------------------------------------------------------------- the polled feed


class CursorMoved(Exception):
    """Another poller advanced the feed cursor first: this page is left to it."""


@dataclass
class PollReport:
    pages: int = 0
    cursor: int = 0
    tally: Tally = field(default_factory=Tally)


async def read_cursor(conn: AsyncConnection) -> int:
    return await repository.read_cursor(conn, FEED_CURSOR)


async def _advance_cursor(tx: AsyncConnection, seen: int, last_id: int, now: datetime) -> None:
    if last_id != seen and not await repository.move_cursor(tx, FEED_CURSOR, seen, last_id, now):
        raise CursorMoved(f"the feed cursor is no longer {seen}")


async def poll(
    db: Database, client: PostalClient, *, page_size: int, max_pages: int, on_collected: OnCollected = ignore
) -> PollReport:
    """Read the feed from the durable cursor, page by page, each page recorded with its cursor in one transaction.

    The post's errors propagate (``PostalUnavailable``, ``PostalProtocolError`` for a malformed page): nothing of
    that page is recorded and the cursor stays where it is, so the next poll asks for the same events again.
    The COD collections of each page are announced once the page is committed.
    """
    report = PollReport()
    async with db.read() as conn:
        report.cursor = await read_cursor(conn)
    for _ in range(max_pages):
        page = await client.tracking(report.cursor, page_size)
        now = now_utc()
        collected: list[str] = []
        async with db.unit() as uow:
            tally = await record_in(uow, page.events, "feed", now, collected)
            await _advance_cursor(uow.conn, report.cursor, page.last_id, now)
        await announce(collected, on_collected)
        report.pages += 1
        report.cursor = page.last_id
        report.tally.add(tally)
        if len(page.events) < page_size:
            break
    return report


class PostalTracking:
    """Recording the post's events with the hook that hears of the money the post collected."""

    def __init__(self, db: Database, on_collected: OnCollected = ignore) -> None:
        self.db = db
        self.on_collected = on_collected

    async def record(self, events: Sequence[StatusEvent], source: str, now: datetime | None = None) -> Tally:
        return await record(self.db, events, source, now, self.on_collected)

    async def poll(self, client: PostalClient, *, page_size: int, max_pages: int) -> PollReport:
        return await poll(self.db, client, page_size=page_size, max_pages=max_pages, on_collected=self.on_collected)
