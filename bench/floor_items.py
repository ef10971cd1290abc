"""The work of each floor (bench/floors.py), prepared before the clock starts: rows to write, messages signed,
identifiers drawn. Values are taken from rows the gateway wrote itself (a template payment or shipment), so the
floor writes what the gateway writes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pickle
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import msgspec

from adapters.payhub.messages import build_init
from adapters.postal import parse_event
from adapters.vntime import now_utc
from bench.seed import PaymentSeed, asyncpg_dsn
from gateway.ids import new_hub_reference, new_id
from gateway.payments.records import PAYMENT_COLUMNS, FeeLine, Payment
from gateway.payments.service import _init_order
from gateway.payments.transitions import agency_account
from gateway.shipments.state import NAMED_EVENTS, dedupe_key, moves
from tests.support.stack import AGENCY, HASH_KEY, PARTNER

ROOT = Path(__file__).resolve().parents[1]


async def outbox_payload(conn: asyncpg.Connection, resource_id: str) -> str:
    """The newest outbox payload the gateway wrote for a resource: the size and shape the floor writes."""
    found = await conn.fetchval(
        "SELECT payload::text FROM outbox WHERE resource_id = $1 ORDER BY position DESC LIMIT 1", resource_id
    )
    assert found is not None, f"no outbox event for {resource_id}"
    return str(found)


def callback_items(seeds: list[PaymentSeed]) -> list[dict[str, Any]]:
    account = agency_account(AGENCY.code)
    return [
        {
            "reference": seed.reference,
            "transaction_id": f"HUB{secrets.token_hex(7).upper()}",
            "agency_account": account,
            "portal_id": seed.portal_id,
            "dossier_code": seed.dossier_code,
            "resource_id": seed.id,
            "event_ids": [new_id("evt")],
        }
        for seed in seeds
    ]


async def creation_items(conn: asyncpg.Connection, template_id: str, hub_url: str, count: int) -> list[dict[str, Any]]:
    """``count`` payment creations shaped like the template: rows, a signed INIT for the hub, the stored answer."""
    payment = dict(await conn.fetchrow("SELECT * FROM payments WHERE id = $1", template_id))
    lines = [dict(r) for r in await conn.fetch("SELECT * FROM payment_lines WHERE payment_id = $1", template_id)]
    agency = dict(await conn.fetchrow("SELECT * FROM agencies WHERE id = $1", payment["agency_id"]))
    answer = await conn.fetchval("SELECT response_body FROM idempotency_keys WHERE resource_id = $1", template_id)
    columns = list(payment)
    insert_payment = (
        f"INSERT INTO payments ({', '.join(columns)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})"
    )
    line_columns = list(lines[0])
    slots = [
        "(" + ", ".join(f"${n * len(line_columns) + i + 1}" for i in range(len(line_columns))) + ")"
        for n in range(len(lines))
    ]
    insert_lines = f"INSERT INTO payment_lines ({', '.join(line_columns)}) VALUES {', '.join(slots)}"
    tag = secrets.token_hex(3)
    items = []
    for n in range(count):
        now = now_utc()
        row = {
            **payment,
            "id": new_id("pay"),
            "reference": new_hub_reference(),
            "dossier_code": f"000.00.01.H26-F{tag}{n:07d}",
            "status": "created",
            "checkout_url": None,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + timedelta(hours=1),
        }
        record = Payment(
            **{k: row[k] for k in PAYMENT_COLUMNS},
            agency_code=agency["code"],
            lines=tuple(FeeLine(x["kind"], x["code"], x["name"], x["amount"]) for x in lines),
        )
        init = build_init(_init_order(record, SimpleNamespace(**agency), row["client_ip"]), PARTNER, HASH_KEY)
        items.append(
            {
                "portal_id": row["portal_id"],
                "dossier_code": row["dossier_code"],
                "resource_id": row["id"],
                "key": f"floor-{secrets.token_hex(10)}",
                "request_hash": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                "insert_payment": insert_payment,
                "payment_values": [row[c] for c in columns],
                "insert_lines": insert_lines,
                "line_values": [v for x in lines for v in {**x, "payment_id": row["id"]}.values()],
                "hub_url": f"{hub_url}/api/v2/payments/init",
                "init_body": msgspec.json.encode(init).decode(),
                "response_body": bytes(answer),
                "event_ids": [new_id("evt")],
            }
        )
    return items


async def postal_items(conn: asyncpg.Connection, pushes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One floor item per pushed event (the post's feed shape), for shipments cloned beforehand."""
    shipment_ids = sorted({p["saleOrderCode"] for p in pushes})
    query = "SELECT id, portal_id, dossier_code, status FROM shipments WHERE id = ANY($1)"
    rows = {r["id"]: r for r in await conn.fetch(query, shipment_ids)}
    status = {shipment_id: row["status"] for shipment_id, row in rows.items()}
    items = []
    for push in pushes:  # in the order they will be applied: whether each moves its shipment is known now
        event = parse_event(msgspec.json.encode(push))
        row = rows[push["saleOrderCode"]]
        state = event.state.value
        applied = moves(status[row["id"]], event)
        if applied:
            status[row["id"]] = state
        named = [NAMED_EVENTS[state]] if state in NAMED_EVENTS else []
        types = ["shipment.status_changed", *named] if applied else []
        items.append(
            {
                "resource_id": row["id"],
                "portal_id": row["portal_id"],
                "dossier_code": row["dossier_code"],
                "dedupe_key": dedupe_key(event),
                "feed_id": event.event_id,
                "code": event.code,
                "text": event.text[:255],
                "state": state,
                "occurred_at": event.time.isoformat(),
                "location": event.location[:255],
                "note": event.note[:500],
                "applied": applied,
                "types": types,
                "event_ids": [new_id("evt") for _ in types],
            }
        )
    return items


async def run_floor(
    kind: str,
    items: list[dict[str, Any]],
    *,
    url: str,
    connections: int,
    seconds: float,
    payload: str,
    workdir: Path,
    rate: float | None = None,
) -> dict[str, Any]:
    """Run a floor in its own process (so its CPU is its own) and return its figures; with ``rate``, paced."""
    config = {
        "kind": kind,
        "dsn": asyncpg_dsn(url),
        "connections": connections,
        "seconds": seconds,
        "payload": payload,
        "items": items,
        "rate": rate,
    }
    path = workdir / f"floor-{kind}-{secrets.token_hex(3)}.pickle"
    path.write_bytes(pickle.dumps(config))
    process = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bench.floors", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ},
        check=False,
    )
    path.unlink(missing_ok=True)
    if process.returncode != 0:
        raise RuntimeError(f"the {kind} floor failed:\n{process.stderr[-3000:]}")
    return dict(json.loads(process.stdout.strip().splitlines()[-1]))
