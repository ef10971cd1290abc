"""A bounded soak on loopback: the real stack (hub and postal sandboxes, gateway, worker, PostgreSQL, Redis) under
N minutes of mixed load, with hub and post faults injected through the sandboxes' control APIs, then a settling
check that nothing was lost or doubled. It prints a table per interval: operations done, errors, and the resident
memory of the gateway and the worker; and exits non-zero when there was any error or memory kept growing.

    .venv/bin/python -m bench.soak [--minutes 30] [--interval 60] [--payers 4] [--shippers 2] [--fault-seconds 20]

It makes a PostgreSQL database of its own (at TEST_POSTGRES_URL) and uses a queue of its own on the Redis at
TEST_REDIS_URL; it stops nothing shared. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.soak_load import Soak
from gateway.store.tables import outbox as ot
from gateway.store.tables import receipts as rt
from tests.support.services import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.stack import Stack
from tests.support.webhook_receiver import Receiver

GROWTH_ALLOWED = 0.10  # memory is flat when the second half's mean is within 10 % (or 10 MB) of the first's
SHOWN = ("payments paid", "refunds", "receipt lookups", "shipments delivered", "webhooks received", "retries")


# The webhook retry schedule (about a day) runs in about 14 minutes here: long beside a fault phase, as a day is
# beside a portal's bad hour. The test stack's own scale (17 seconds) would dead-letter any event whose receiver
# stalled for a few seconds on a loaded machine, which says nothing about the gateway.
DELIVERY_TIME_SCALE = 0.01
SETTLE_SECONDS = 300  # the longest scaled retry delay (216 s) and the breaker's, with room


class SoakStack(Stack):
    def gateway_env(self) -> dict[str, str]:
        return {
            **super().gateway_env(),
            "LOG_LEVEL": "WARNING",
            "AUTH_CACHE_SECONDS": "10",
            "DELIVERY_TIME_SCALE": str(DELIVERY_TIME_SCALE),
        }


@dataclass
class Row:
    minute: float
    counts: Counter[str]
    errors: int
    gateway_mb: float
    worker_mb: float
    faults: str


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def sample(soak: Soak, receiver: Receiver, stop: asyncio.Event, interval: float, rows: list[Row]) -> None:
    started, last = time.monotonic(), Counter[str]()
    processes = soak.stack.processes
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
        now = Counter(soak.counts)
        now["webhooks received"] = len(receiver.unique())
        pids = [processes[name].process.pid for name in ("gateway", "worker")]  # type: ignore[union-attr]
        faults = ", ".join(dict.fromkeys([*soak.phases_seen, soak.phase] if soak.phase != "calm" else soak.phases_seen))
        soak.phases_seen.clear()
        rows.append(Row((time.monotonic() - started) / 60, now - last, len(soak.errors), *map(rss_mb, pids), faults))
        last = now


async def settle(soak: Soak, receiver: Receiver, portal_id: str) -> list[str]:
    """Once the faults are off: every event reaches the webhook, every paid payment has one receipt, one
    ``payment.paid`` event, and receipt numbers have no gap. Returns what does not hold."""
    db = soak.stack.db
    assert db is not None
    paid = [p["id"] for p in soak.paid]
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        async with db.read() as conn:
            events = set(
                (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.portal_id == portal_id))).scalars()
            )
            receipted = Counter(
                (
                    await conn.execute(
                        select(rt.receipts.c.source_id).where(
                            rt.receipts.c.source_id.in_(paid), rt.receipts.c.replaces_id.is_(None)
                        )
                    )
                ).scalars()
            )
        missing = events - set(receiver.unique())
        if (not missing and set(receipted) >= set(paid)) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    problems = [f"{len(missing)} events never reached the webhook"] if missing else []
    problems += [f"payment {p}: {receipted[p]} original receipts" for p in paid if receipted[p] != 1]
    async with db.read() as conn:
        paid_events = Counter(
            (
                await conn.execute(
                    select(ot.outbox.c.resource_id).where(
                        ot.outbox.c.type == "payment.paid", ot.outbox.c.resource_id.in_(paid)
                    )
                )
            ).scalars()
        )
        problems += [f"payment {p}: {paid_events[p]} payment.paid events" for p in paid if paid_events[p] != 1]
        for series in (await conn.execute(select(rt.receipt_series))).all():
            numbers = sorted(
                (
                    await conn.execute(
                        select(rt.receipts.c.number).where(
                            rt.receipts.c.tax_code == series.tax_code,
                            rt.receipts.c.template == series.template,
                            rt.receipts.c.series == series.series,
                        )
                    )
                ).scalars()
            )
            if numbers != list(range(1, series.last_number + 1)):
                problems.append(f"receipt series {series.series}: numbers have a gap or a repeat")
        pending = (
            await conn.execute(select(func.count()).select_from(ot.outbox).where(ot.outbox.c.dispatch_state == "dead"))
        ).scalar_one()
    if pending:
        problems.append(f"{pending} events in the dead letters")
    return problems


def flatness(rows: list[Row], attribute: str) -> tuple[float, float, bool]:
    """(first half's mean, second half's mean, flat?) after the first interval, which is warm-up."""
    values = [getattr(r, attribute) for r in rows[1:]] or [getattr(r, attribute) for r in rows]
    half = max(1, len(values) // 2)
    first, second = sum(values[:half]) / half, sum(values[half:] or values) / len(values[half:] or values)
    return first, second, second - first <= max(first * GROWTH_ALLOWED, 10.0)


def report(rows: list[Row], soak: Soak, problems: list[str], minutes: float) -> bool:
    print(f"\nSoak of {minutes:g} minutes on loopback (PostgreSQL, Redis, hub and postal sandboxes, gateway, worker);")
    print("operations done in each interval, errors so far, resident memory at the interval's end:")
    header = ["minute", *SHOWN, "errors (total)", "gateway RSS MB", "worker RSS MB", "faults injected"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * (len(header) - 1) + "---|")
    for r in rows:
        cells = [f"{r.minute:.1f}", *(str(r.counts[k]) for k in SHOWN), str(r.errors)]
        print("| " + " | ".join([*cells, f"{r.gateway_mb:.0f}", f"{r.worker_mb:.0f}", r.faults or "none"]) + " |")
    totals = sum((r.counts for r in rows), Counter[str]())
    print("\nTotals: " + ", ".join(f"{k} {totals[k]}" for k in (*SHOWN, "payments created", "shipments booked")))
    print(f"Fault phases: {soak.counts['fault phases']}; errors: {len(soak.errors)}")
    for line in soak.errors[:20]:
        print("  error:", line)
    ok = not soak.errors and not problems
    for name in ("gateway_mb", "worker_mb"):
        first, second, flat = flatness(rows, name)
        print(f"{name.split('_')[0]} memory: {first:.0f} MB → {second:.0f} MB ({'flat' if flat else 'GROWING'})")
        ok = ok and flat
    print("Settled: " + ("nothing lost or doubled" if not problems else "; ".join(problems)))
    print("RESULT: " + ("pass" if ok else "FAIL"))
    return ok


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per row of the table")
    parser.add_argument("--payers", type=int, default=4)
    parser.add_argument("--shippers", type=int, default=2)
    parser.add_argument("--fault-seconds", type=float, default=20.0, help="length of each fault and calm phase")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gwsoak-"))
    url = await create_pg_database()
    stack = SoakStack(backend="postgres", database_url=url, redis_url=REDIS_URL, workdir=workdir)
    receiver = await Receiver().start()
    passed = False
    try:
        await stack.start()
        portal_id, stack.api_key = await _portal(stack)
        async with stack.client() as api:
            pointed = await api.put("/v1/webhook", json={"url": receiver.url})
            receiver.secrets.append(pointed.json()["secret"])
        soak, stop, rows = Soak(stack), asyncio.Event(), []
        actors = [
            *(soak.payer(stop, i) for i in range(args.payers)),
            *(soak.shipper(stop) for _ in range(args.shippers)),
            soak.reader(stop),
            soak.faults(stop, args.fault_seconds),
            sample(soak, receiver, stop, args.interval, rows),
        ]
        tasks = [asyncio.create_task(a) for a in actors]
        await asyncio.sleep(args.minutes * 60)  # the soak's length: the load runs meanwhile
        stop.set()
        await asyncio.gather(*tasks)
        problems = await settle(soak, receiver, portal_id)
        passed = report(rows, soak, problems, args.minutes)
        print(f"Processes' logs: {workdir}" if not passed else "")
        return 0 if passed else 1
    finally:
        await receiver.stop()
        await stack.stop()
        await drop_pg_database(url)
        if passed:
            shutil.rmtree(workdir, ignore_errors=True)


async def _portal(stack: Stack) -> tuple[str, str]:
    from gateway import portals
    from tests.support.stack import AGENCY

    assert stack.db is not None
    portal_id, api_key = await portals.create_portal(stack.db, "Cổng thử tải dài", [AGENCY.code])
    # the operator's consent for the loopback receiver, a private address (as the test portals have)
    assert await portals.set_private_webhooks(stack.db, portal_id, True)
    return portal_id, api_key


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
