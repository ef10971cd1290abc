"""Receipts issued per second by one worker process (source read, XML built, validated against the XSD and signed
in the signing threads, numbers taken, stored in PostgreSQL with its outbox event, committed), as a ratio to raw
RSA-2048 signatures per second on one core, measured in the same run.

The process is pinned to one core, or with ``--all-cores`` may use every core (its signing threads do);
PostgreSQL runs in its own processes; the issuer runs on uvloop's event loop, as the worker does. Three ways of
issuing are measured:
the sweeper's batches (``issue_pending``), the per-payment job one at a time, and the per-payment job with 16 in
flight as the worker runs them (arq ``max_jobs``).

    .venv/bin/python -m bench.receipts_issue_bench [--receipts 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from datetime import timedelta

import uvloop
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import text

from adapters.vntime import now_utc
from bench.receipts_bench import rate
from gateway.ids import new_hub_reference, new_id
from gateway.kernel.collected import PAYMENT
from gateway.payments import PaymentCollections
from gateway.portals import service as portals
from gateway.receipts import AgencyKeys, ReceiptIssuer
from gateway.settings import load
from gateway.shipments import CodCollections
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from gateway.store.tables import payments as pt
from receipts import SigningKey, generate_demo
from tests.support.services import create_pg_database, drop_pg_database
from tests.support.stack import AGENCY

CONCURRENCY = 16


async def seed_paid(db: Database, portal_id: str, agency_id: str, count: int) -> list[str]:
    """``count`` paid payments of two lines each, inserted directly: the benchmark measures issuing, not paying."""
    now = now_utc() - timedelta(minutes=1)  # paid before the sweeper's grace, as a backlog is
    ids = [new_id("pay") for _ in range(count)]
    payments = [
        {
            "id": payment_id,
            "portal_id": portal_id,
            "agency_id": agency_id,
            "reference": new_hub_reference(),
            "dossier_code": f"000.00.01.H26-BENCH-{secrets.token_hex(4)}",
            "procedure_code": "1.004227",
            "procedure_name": "Cấp giấy chứng nhận đăng ký hộ kinh doanh",
            "service_code": "DVC-KD-01",
            "service_name": "Đăng ký kinh doanh",
            "amount": 150_000,
            "currency": "VND",
            "description": "Nộp phí, lệ phí",
            "status": "paid",
            "payer_name": "Nguyễn Thị Hồng Nhung",
            "payer_id_number": "001203004567",
            "payer_address": "12 Hàng Bạc, Hà Nội",
            "return_url": "https://dichvucong.example.vn/ket-qua",
            "hub_transaction_id": f"HUB{secrets.token_hex(6)}",
            "paid_amount": 150_000,
            "expires_at": now + timedelta(hours=1),
            "paid_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for payment_id in ids
    ]
    lines = [
        row
        for payment_id in ids
        for row in (
            {
                "payment_id": payment_id,
                "position": 0,
                "kind": 2,
                "code": "LP-KD-01",
                "name": "Lệ phí",
                "amount": 100_000,
            },
            {"payment_id": payment_id, "position": 1, "kind": 1, "code": "PHI-KD-02", "name": "Phí", "amount": 50_000},
        )
    ]
    async with db.transaction() as tx:
        await tx.execute(pt.payments.insert(), payments)
        await tx.execute(pt.payment_lines.insert(), lines)
    async with db.engine.connect() as conn:  # fresh statistics, as autovacuum keeps them on a live database
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    return ids


async def timed(label: str, count: int, work: object) -> float:
    """Receipts a second, printed with the CPU a receipt cost the event loop's thread and the whole process (the
    loop and the signing threads)."""
    start, loop, process = time.perf_counter(), time.thread_time(), time.process_time()
    await work  # type: ignore[misc]
    per_second = count / (time.perf_counter() - start)
    loop_ms = (time.thread_time() - loop) * 1000 / count
    process_ms = (time.process_time() - process) * 1000 / count
    print(f"  {label:<44} {per_second:8,.0f}/s   CPU a receipt: loop {loop_ms:.3f} ms, process {process_ms:.3f} ms")
    return per_second


async def prepared(db: Database, url: str) -> tuple[ReceiptIssuer, SigningKey, str, str]:
    """A migrated database with the agency and a portal, and an issuer holding a fresh signing key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    await upgrade_async(url)
    agency_id = await portals.upsert_agency(db, AGENCY)
    portal_id, _ = await portals.create_portal(db, "Benchmark", [AGENCY.code])
    key_pem, cert_pem = generate_demo("Benchmark", AGENCY.name)
    key = SigningKey(serialization.load_pem_private_key(key_pem, None), x509.load_pem_x509_certificate(cert_pem))
    settings = load({"PAYHUB_HASH_KEY": "bench", "DATABASE_URL": url, "RECEIPT_BATCH": "100"})
    sources = (PaymentCollections(), CodCollections())
    return ReceiptIssuer(db, AgencyKeys({AGENCY.code: key}), settings, sources), key, portal_id, agency_id


class Ways:
    """The three ways receipts are issued: sweeper batches, queued jobs one at a time, and jobs in flight."""

    def __init__(self, issuer: ReceiptIssuer) -> None:
        self.issuer = issuer

    async def batches(self, count: int) -> None:
        left = count
        while left > 0:
            left -= await self.issuer.issue_pending(limit=min(100, left))

    async def one_by_one(self, ids: list[str]) -> None:
        for payment_id in ids:
            await self.issuer.issue(PAYMENT, payment_id)

    async def in_flight(self, ids: list[str]) -> None:
        queue = iter(ids)

        async def job_runner() -> None:
            for payment_id in queue:
                await self.issuer.issue(PAYMENT, payment_id)

        await asyncio.gather(*(job_runner() for _ in range(CONCURRENCY)))


def report(figures: dict[str, list[float]], runs: int, cores: str) -> None:
    raw_rate = statistics.median(figures["raw"])
    print(f"\nPostgreSQL, {cores}, median of {runs} runs (raw RSA always on one thread)")
    print(f"raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures/s: {raw_rate:8,.0f}")
    for name, label in (
        ("batch", "receipts/s, sweeper batches of 100"),
        ("single", "receipts/s, jobs one at a time"),
        ("concurrent", f"receipts/s, jobs {CONCURRENCY} in flight"),
    ):
        value = statistics.median(figures[name])
        print(f"{label:<46} {value:8,.0f}   ratio {value / raw_rate:.3f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=2000, help="receipts per batch run")
    parser.add_argument("--singles", type=int, default=500, help="receipts per one-by-one run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--all-cores", action="store_true", help="let the process use every core (signing threads) instead of one"
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and not args.all_cores:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    url = await create_pg_database()
    db = Database.from_url(url)
    try:
        issuer, key, portal_id, agency_id = await prepared(db, url)
        ways = Ways(issuer)
        message = b"x" * 1_000

        def raw(_: int) -> object:
            return key.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())

        await seed_paid(db, portal_id, agency_id, 200)
        await ways.batches(200)  # warm up: connections, compiled statements, schema
        figures: dict[str, list[float]] = {"raw": [], "batch": [], "single": [], "concurrent": []}
        for run in range(args.runs):
            print(f"run {run + 1}")
            figures["raw"].append(rate(raw, 2.0))
            print(f"  {'raw RSA-2048 signatures':<44} {figures['raw'][-1]:8,.0f}/s")
            await seed_paid(db, portal_id, agency_id, args.receipts)
            figures["batch"].append(await timed("sweeper batches of 100", args.receipts, ways.batches(args.receipts)))
            ids = await seed_paid(db, portal_id, agency_id, args.singles)
            figures["single"].append(await timed("jobs one at a time", args.singles, ways.one_by_one(ids)))
            ids = await seed_paid(db, portal_id, agency_id, args.singles)
            figures["concurrent"].append(
                await timed(f"jobs, {CONCURRENCY} in flight", args.singles, ways.in_flight(ids))
            )
        report(figures, args.runs, "every core" if args.all_cores else "one core")
    finally:
        await db.dispose()
        await drop_pg_database(url)


if __name__ == "__main__":
    uvloop.run(main())
