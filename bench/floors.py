"""The floor of each HTTP path: the same SQL writes the gateway makes for one request, through raw asyncpg on the
same number of connections (and, for payment creations, the hub's init round trip over a pooled keep-alive HTTP
client), with every message and parameter prepared before the clock starts. No web server, no validation, no
ORM: what this machine allows for the path, which the gateway's figure is divided by.

Each floor runs in its own process (``python -m bench.floors WORK``) so its CPU can be told apart from the
benchmark's: it reads its work from a pickle the benchmark wrote for it, and prints one JSON line of figures.
What each transaction writes is read from the gateway's code:

- callback (gateway/payments/results.py, transitions.py, gateway/store/outbox.py): one transaction that locks
  the payment by reference, moves it to paid, posts two ledger rows, allocates the dossier's next sequence and
  writes the ``payment.paid`` outbox row, and writes the ``hub_results`` audit row;
- callback_together: the callback as the gateway now sends it (a checked unit, gateway/store/uow.py): the payment
  read in autocommit, then its move conditional on the status and last move read, the ledger rows, the audit row
  and the outbox row with its sequence in one statement of data-modifying CTEs that aborts unless the move changed
  the payment: a floor for the gateway's own statements (2 round trips, not 8, and no transaction of its own);
- creation (gateway/http/edge.py ``idempotent``, gateway/payments/service.py): the key claimed (one transaction); the
  payment, its two lines and the key's resource (one transaction); the hub's INIT; the payment locked and moved
  to pending with its checkout page, its ``payment.pending`` outbox row and the key completed (one transaction);
- postal_together: a pushed event as the gateway now sends it (a checked unit): the shipment and whether the
  event's key is taken read in autocommit, then the event, the move conditional on the status and last change
  read, and the outbox rows with their sequence numbers in one statement that aborts unless the move changed the
  shipment (2 round trips, not 6);
- postal (gateway/shipments/tracking.py, transitions.py): one transaction that locks the shipment, records the
  event (``ON CONFLICT DO NOTHING`` on its dedupe key) and, when the event moves it, moves the shipment
  (``RETURNING`` the row) and writes its outbox rows (``shipment.status_changed``, plus the named event for
  pickup, delivery…).

- feed (gateway/events/repository.py ``feed_page``): one read of a page of the portal's settled events after a
  cursor, in the feed's order (``(txid, position)``), the columns an envelope is made of.

The gateway also reads (the catalogue, the payment's lines for its snapshot…) and answers HTTP; the floor does
not: those are the costs the ratio shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.load import database_cpu, database_pids, database_seconds, machine_busy

LOCK_PAYMENT = "SELECT id, portal_id, dossier_code, amount, status FROM payments WHERE reference = $1 FOR UPDATE"
PAY = (
    "UPDATE payments SET status = 'paid', status_reason = '', updated_at = $2, checked_at = $2, paid_amount = $3, "
    "paid_at = $2, hub_transaction_id = $4, bank_code = $5 WHERE id = $1 AND status = 'pending'"
)
LEDGER = (
    "INSERT INTO ledger_entries (entry_group, account, amount, payment_id, refund_id, created_at) "
    "VALUES ($1, 'hub_receivable', $2, $3, NULL, $5), ($1, $4, -$2, $3, NULL, $5)"
)
SEQUENCE = (
    "INSERT INTO dossier_sequences (portal_id, dossier_code, last_sequence) VALUES ($1, $2, 1) "
    "ON CONFLICT (portal_id, dossier_code) DO UPDATE SET last_sequence = dossier_sequences.last_sequence + 1 "
    "RETURNING last_sequence"
)
OUTBOX = (
    "INSERT INTO outbox (id, portal_id, dossier_code, sequence, type, resource_type, resource_id, payload, "
    "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
)
AUDIT = (
    "INSERT INTO hub_results (reference, source, raw_code, outcome, amount, transaction_id, disposition, "
    "received_at) VALUES ($1, 'callback', '00', 'paid', $2, $3, 'applied', $4)"
)
# The callback's writes in one statement, as the gateway sends them (a checked unit's kept writes,
# gateway/store/uow.py): the payment's move as a CTE conditional on what was read, the ledger rows and the audit row
# as data-modifying CTEs, the dossier's sequence allocated in another, read by the outbox row's insert, and the
# guard that divides by zero unless the move changed the payment.
READ_PAYMENT = "SELECT id, portal_id, dossier_code, amount, status, updated_at FROM payments WHERE reference = $1"
PAID_TOGETHER = (
    "WITH moved AS (UPDATE payments SET status = 'paid', status_reason = '', updated_at = $5, checked_at = $5, "
    "paid_amount = $2, paid_at = $5, hub_transaction_id = $7, bank_code = 'VCB' WHERE id = $3 AND status = 'pending' "
    "AND updated_at = $13 RETURNING 1), "
    "ledger AS (INSERT INTO ledger_entries (entry_group, account, amount, payment_id, refund_id, created_at) "
    "VALUES ($1, 'hub_receivable', $2, $3, NULL, $5), ($1, $4, -$2, $3, NULL, $5)), "
    "audit AS (INSERT INTO hub_results (reference, source, raw_code, outcome, amount, transaction_id, disposition, "
    "received_at) VALUES ($6, 'callback', '00', 'paid', $2, $7, 'applied', $5)), "
    "allocated AS (INSERT INTO dossier_sequences (portal_id, dossier_code, last_sequence) VALUES ($8, $9, 1) "
    "ON CONFLICT (portal_id, dossier_code) DO UPDATE SET last_sequence = dossier_sequences.last_sequence + 1 "
    "RETURNING last_sequence), "
    "announced AS (INSERT INTO outbox (id, portal_id, dossier_code, sequence, type, resource_type, resource_id, "
    "payload, created_at) VALUES ($10, $8, $9, (SELECT last_sequence FROM allocated), 'payment.paid', 'payment', $11, "
    "$12, $5)) "
    "SELECT 1 / CASE WHEN count(*) = 1 THEN 1 ELSE 0 END FROM moved"
)
CLAIM_KEY = (
    "INSERT INTO idempotency_keys (portal_id, key, method, path, request_hash, state, resource_id, locked_until, "
    "created_at) VALUES ($1, $2, 'POST', '/v1/payments', $3, 'in_progress', NULL, $4, $5)"
)
KEY_RESOURCE = "UPDATE idempotency_keys SET resource_id = $3 WHERE portal_id = $1 AND key = $2"
LOCK_PAYMENT_BY_ID = "SELECT id, status FROM payments WHERE id = $1 FOR UPDATE"
TO_PENDING = (
    "UPDATE payments SET status = 'pending', status_reason = '', updated_at = $2, checkout_url = $3 "
    "WHERE id = $1 AND status = 'created'"
)
KEY_DONE = (
    "UPDATE idempotency_keys SET state = 'completed', status_code = 201, response_body = $3, resource_id = $4, "
    "locked_until = NULL WHERE portal_id = $1 AND key = $2"
)
LOCK_SHIPMENT = (
    "SELECT shipments.*, agencies.code AS agency_code FROM shipments JOIN agencies ON agencies.id = "
    "shipments.agency_id WHERE shipments.id = $1 FOR UPDATE OF shipments"
)
EVENT = (
    "INSERT INTO shipment_events (shipment_id, dedupe_key, feed_id, raw_code, raw_text, state, occurred_at, "
    "location, note, cod_amount, source, applied, received_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'webhook', $11, $10) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
)
MOVE_SHIPMENT = (
    "UPDATE shipments SET status = $2, updated_at = $3, status_code = $4, status_text = $5, status_at = $6 "
    "WHERE id = $1 AND status = $7 RETURNING *"
)


def now() -> datetime:
    return datetime.now(UTC)


async def outbox_row(conn: asyncpg.Connection, item: dict[str, Any], type_: str, resource: str, at: datetime) -> None:
    sequence = await conn.fetchval(SEQUENCE, item["portal_id"], item["dossier_code"])
    await conn.execute(
        OUTBOX,
        item["event_ids"].pop(),
        item["portal_id"],
        item["dossier_code"],
        sequence,
        type_,
        resource,
        item["resource_id"],
        item["payload"],
        at,
    )


async def callback(conn: asyncpg.Connection, item: dict[str, Any], _http: Any) -> None:
    at = now()
    async with conn.transaction():
        row = await conn.fetchrow(LOCK_PAYMENT, item["reference"])
        await conn.execute(PAY, row["id"], at, row["amount"], item["transaction_id"], "VCB")
        await conn.execute(LEDGER, f"collection:{row['id']}", row["amount"], row["id"], item["agency_account"], at)
        await outbox_row(conn, item, "payment.paid", "payment", at)
        await conn.execute(AUDIT, item["reference"], row["amount"], item["transaction_id"], at)


async def callback_together(conn: asyncpg.Connection, item: dict[str, Any], _http: Any) -> None:
    """``callback`` as the gateway's checked unit sends it: 2 round trips instead of 8, no transaction of its own."""
    at = now()
    row = await conn.fetchrow(READ_PAYMENT, item["reference"])
    await conn.execute(
        PAID_TOGETHER,
        f"collection:{row['id']}",
        row["amount"],
        row["id"],
        item["agency_account"],
        at,
        item["reference"],
        item["transaction_id"],
        item["portal_id"],
        item["dossier_code"],
        item["event_ids"].pop(),
        item["resource_id"],
        item["payload"],
        row["updated_at"],
    )


async def creation(conn: asyncpg.Connection, item: dict[str, Any], http: Any) -> None:
    at = now()
    portal_id, key = item["portal_id"], item["key"]
    async with conn.transaction():
        await conn.execute(CLAIM_KEY, portal_id, key, item["request_hash"], at + timedelta(seconds=60), at)
    async with conn.transaction():
        await conn.execute(item["insert_payment"], *item["payment_values"])
        await conn.execute(item["insert_lines"], *item["line_values"])
        await conn.execute(KEY_RESOURCE, portal_id, key, item["resource_id"])
    async with http.post(item["hub_url"], data=item["init_body"], headers={"Content-Type": "application/json"}) as r:
        reply = await r.json(content_type=None)
    if reply.get("MaLoi") != "00":
        raise RuntimeError(f"the hub refused init: {reply}")
    at = now()
    async with conn.transaction():
        await conn.fetchrow(LOCK_PAYMENT_BY_ID, item["resource_id"])
        await conn.execute(TO_PENDING, item["resource_id"], at, reply["UrlThanhToan"])
        await outbox_row(conn, item, "payment.pending", "payment", at)
        await conn.execute(KEY_DONE, portal_id, key, item["response_body"], item["resource_id"])


async def postal(conn: asyncpg.Connection, item: dict[str, Any], _http: Any) -> None:
    at = now()
    async with conn.transaction():
        if await _record_and_move(conn, item, at):
            for type_ in item["types"]:
                await outbox_row(conn, item, type_, "shipment", at)


def _event_arguments(item: dict[str, Any], at: datetime) -> list[Any]:
    """The event row's values, $1–$11 of ``EVENT`` and ``KEEP_EVENT``."""
    occurred = datetime.fromisoformat(item["occurred_at"])
    return [
        item["resource_id"],
        item["dedupe_key"],
        item["feed_id"],
        item["code"],
        item["text"],
        item["state"],
        occurred,
        item["location"],
        item["note"],
        at,
        item["applied"],
    ]


async def _record_and_move(conn: asyncpg.Connection, item: dict[str, Any], at: datetime) -> bool:
    """A postal event's lock, insert and move; whether it moved the shipment (and so has outbox rows to write)."""
    occurred = datetime.fromisoformat(item["occurred_at"])
    row = await conn.fetchrow(LOCK_SHIPMENT, item["resource_id"])
    recorded = await conn.fetchval(EVENT, *_event_arguments(item, at))
    if recorded is None:
        raise RuntimeError(f"event {item['dedupe_key']} was recorded before")
    if not item["applied"]:  # kept on the timeline, moves nothing (gateway.shipments.state.moves)
        return False
    await conn.fetchrow(
        MOVE_SHIPMENT, item["resource_id"], item["state"], at, item["code"], item["text"], occurred, row["status"]
    )
    return True


# A pushed event as the gateway's checked unit sends it (gateway/shipments/tracking.py ``record``): the shipment and
# whether the event's key is taken, read in autocommit in one statement; then, in one statement, the event's insert
# and, when it moves the shipment, the move conditional on the status and the last change read, the outbox rows
# with their sequence numbers, and the guard that divides by zero unless the move changed the shipment.
READ_SHIPMENT = (
    "SELECT shipments.*, agencies.code AS agency_code, EXISTS (SELECT 1 FROM shipment_events WHERE dedupe_key = $2) "
    "AS seen FROM shipments JOIN agencies ON agencies.id = shipments.agency_id WHERE shipments.id = $1"
)
KEEP_EVENT = (
    "INSERT INTO shipment_events (shipment_id, dedupe_key, feed_id, raw_code, raw_text, state, occurred_at, "
    "location, note, cod_amount, source, applied, received_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'webhook', $11, $10)"
)


def moved_together(count: int) -> str:
    """The event, the move, ``count`` outbox rows and the guard in one statement ($1–$11 the event's as in
    ``KEEP_EVENT``, $12 the status read, $13 its last change, $14 the portal, $15 the dossier, $16 the payload; then
    per row its id and type)."""
    rows = ", ".join(
        f"(${17 + 2 * k}, $14, $15, (SELECT last_sequence FROM allocated) - {count - 1 - k}, ${18 + 2 * k}, "
        "'shipment', $1, $16, $10)"
        for k in range(count)
    )
    return (
        f"WITH recorded AS ({KEEP_EVENT}), "
        "kept_change AS (UPDATE shipments SET status = $6, updated_at = $10, status_code = $4, status_text = $5, "
        "status_at = $7 WHERE id = $1 AND status = $12 AND updated_at = $13 RETURNING 1), "
        "allocated AS (INSERT INTO dossier_sequences (portal_id, dossier_code, last_sequence) "
        f"VALUES ($14, $15, {count}) ON CONFLICT (portal_id, dossier_code) DO UPDATE SET last_sequence = "
        "dossier_sequences.last_sequence + EXCLUDED.last_sequence RETURNING last_sequence), "
        "announced AS (INSERT INTO outbox (id, portal_id, dossier_code, sequence, type, resource_type, resource_id, "
        f"payload, created_at) VALUES {rows}) "
        "SELECT 1 / CASE WHEN count(*) = 1 THEN 1 ELSE 0 END FROM kept_change"
    )


async def postal_together(conn: asyncpg.Connection, item: dict[str, Any], _http: Any) -> None:
    """``postal`` as the gateway's checked unit sends it: 2 round trips instead of 6, no transaction of its own."""
    at = now()
    row = await conn.fetchrow(READ_SHIPMENT, item["resource_id"], item["dedupe_key"])
    if row["seen"]:
        raise RuntimeError(f"event {item['dedupe_key']} was recorded before")
    event = _event_arguments(item, at)
    if not item["applied"]:  # kept on the timeline, moves nothing (gateway.shipments.state.moves)
        await conn.execute(KEEP_EVENT, *event)
        return
    per_row = [value for type_ in item["types"] for value in (item["event_ids"].pop(), type_)]
    moved = [row["status"], row["updated_at"], item["portal_id"], item["dossier_code"], item["payload"], *per_row]
    await conn.execute(moved_together(len(item["types"])), *event, *moved)


FEED_PAGE = (
    "SELECT position, txid, id, portal_id, dossier_code, sequence, type, payload, created_at FROM outbox "
    "WHERE portal_id = $1 AND (txid, position) > ($2, $3) "
    "AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint ORDER BY txid, position LIMIT $4"
)


async def feed(conn: asyncpg.Connection, item: dict[str, Any], _http: Any) -> None:
    await conn.fetch(FEED_PAGE, item["portal_id"], item["txid"], item["position"], item["limit"])


KINDS: dict[str, Callable[[asyncpg.Connection, dict[str, Any], Any], Awaitable[None]]] = {
    "feed": feed,
    "callback": callback,
    "callback_together": callback_together,
    "creation": creation,
    "postal": postal,
    "postal_together": postal_together,
}


class Schedule:
    """When the next item is sent: at once, or with a ``rate`` the n-th n ÷ rate seconds after ``start``, as
    requests.lua paces wrk."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.start = time.perf_counter()
        self.taken = 0

    async def turn(self) -> None:
        if not self.rate:
            return
        due = self.start + self.taken / self.rate
        self.taken += 1
        if due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())


async def measure(config: dict[str, Any]) -> dict[str, Any]:
    """Run the config's items through its kind's transaction on ``connections`` connections for ``seconds``, as
    fast as they go or, with a ``rate``, on a fixed schedule of that many a second."""
    work = KINDS[config["kind"]]
    items: list[dict[str, Any]] = config["items"]
    for item in items:
        item.setdefault("payload", config.get("payload"))
    connections = int(config["connections"])
    conns = [await asyncpg.connect(config["dsn"]) for _ in range(connections)]
    http = await _http_pool(connections) if config["kind"] == "creation" else None
    queue = iter(items)
    latencies: list[float] = []
    warm_up = [next(queue) for _ in range(min(len(items) // 10, connections * 4))]

    async def warm(conn: asyncpg.Connection, mine: list[dict[str, Any]]) -> None:
        for item in mine:
            await work(conn, item, http)

    await asyncio.gather(*(warm(conn, warm_up[i::connections]) for i, conn in enumerate(conns)))
    cpu_before, database_before, busy_before = _cpu(), database_cpu(await database_pids(conns[0])), machine_busy()
    deadline = time.perf_counter() + float(config["seconds"])
    exhausted = False
    schedule = Schedule(config.get("rate"))

    async def loop(conn: asyncpg.Connection) -> None:
        nonlocal exhausted
        while time.perf_counter() < deadline:
            item = next(queue, None)
            if item is None:
                exhausted = True
                return
            await schedule.turn()
            start = time.perf_counter()  # from the actual send, as wrk measures
            await work(conn, item, http)
            latencies.append(time.perf_counter() - start)

    started = schedule.start = time.perf_counter()
    try:
        await asyncio.gather(*(loop(conn) for conn in conns))
        elapsed = time.perf_counter() - started
        cpu = _cpu() - cpu_before
        database = database_seconds(database_before, await database_pids(conns[0]))
        busy_after = machine_busy()
    finally:
        if http is not None:
            await http.close()
        for conn in conns:
            await conn.close()
    ordered = sorted(latencies)
    spent = busy_after[1] - busy_before[1]
    return {
        "count": len(ordered),
        "seconds": elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000 if ordered else 0.0,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else 0.0,
        "exhausted": exhausted,
        "cores": cpu / elapsed if elapsed else 0.0,
        "database_cores": database / elapsed if elapsed else 0.0,
        "machine_cores": (busy_after[0] - busy_before[0]) / spent * (os.cpu_count() or 1) if spent else 0.0,
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _http_pool(connections: int) -> Any:
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=60))


def main() -> None:
    with open(sys.argv[1], "rb") as handle:
        config = pickle.load(handle)  # written by bench/floor_items.py for this run
    import uvloop  # the gateway runs on uvloop (uvicorn[standard]); so does its floor

    print(json.dumps(uvloop.run(measure(config))))


if __name__ == "__main__":
    main()
