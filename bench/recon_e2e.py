"""End to end on PostgreSQL: the gateway's settlement run from the raw file on disk to a committed run, against our
payments and refunds in the payments tables (``bench.recon_bench --end-to-end``).

The data is ``recon_bench.generate``'s: N payments of ours (plus 1 % refunds) and the hub's file for them, with one
line in 1,000 of each kind of break. Our records are written into a fresh PostgreSQL database's ``payments`` and
``refunds`` tables (COPY), with the run of the day before, which left the older unsettled records waiting. The
measured step is ``SettlementRuns.run(day, file=…, signature=…)`` in a fresh process: keep the file by its hash,
verify it, stream our records from the payments area through a server-side cursor into the spool, classify, and
record the run with its totals, breaks and waiting records in one transaction. DuckDB classifies the same data from
CSV exports in its own process, as in the engine's bench; both must give the same count in every class.
"""

from __future__ import annotations

import asyncio
import os
import resource
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl

DAY_HOUR = 9
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _agency_spec(code: str) -> Any:
    from gateway.portals import AgencySpec

    return AgencySpec(
        code=code,
        name=f"Ủy ban nhân dân {code}",
        tax_code="0101234567",
        address="Hà Nội",
        treasury_account="3511.0.1054321",
        treasury_bank_code="KBNN-HN",
        treasury_account_name=f"UBND {code}",
    )


async def create_database() -> str:
    import asyncpg

    name = f"gwbench_{secrets.token_hex(5)}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{urlsplit(POSTGRES_URL).netloc}/{name}"


async def drop_database(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def _our_tables(ours: pl.DataFrame, agency_ids: dict[str, str], portal_id: str, day: Any) -> dict[str, pl.DataFrame]:
    """``recon_bench``'s records of ours as the payments area stores them."""
    from adapters.vntime import VN_TZ

    def at(days_before: int, hour: int) -> datetime:
        moment = datetime.combine(day - timedelta(days=days_before), datetime.min.time(), tzinfo=VN_TZ)
        return (moment + timedelta(hours=hour)).astimezone(UTC)

    paid_at = pl.when(pl.col("day") < day).then(pl.lit(at(6, DAY_HOUR))).otherwise(pl.lit(at(0, 10)))
    payments = ours.filter(pl.col("kind") == "payment").with_columns(
        paid_at=pl.when(pl.col("status") == "paid").then(paid_at).otherwise(pl.lit(None, pl.Datetime("us", "UTC")))
    )
    created = pl.lit(at(6, 8))
    payment_rows = payments.select(
        "id",
        pl.lit(portal_id).alias("portal_id"),
        pl.col("agency").replace_strict(agency_ids).alias("agency_id"),
        "reference",
        pl.format("HS-{}", pl.col("id")).alias("dossier_code"),
        pl.lit("1.001193").alias("procedure_code"),
        pl.lit("Thủ tục").alias("procedure_name"),
        pl.lit("DVC").alias("service_code"),
        pl.lit("Dịch vụ").alias("service_name"),
        "amount",
        pl.lit("VND").alias("currency"),
        pl.lit("Nop le phi").alias("description"),
        "status",
        pl.lit("Nguyễn Văn An").alias("payer_name"),
        pl.lit("https://dvc.example/ok").alias("return_url"),
        pl.col("amount").alias("paid_amount"),
        pl.lit(at(-7, 0)).alias("expires_at"),
        "paid_at",
        created.alias("created_at"),
        created.alias("updated_at"),
    )
    first_payment = payments.select("reference", pl.col("id").alias("payment_id"))
    refund_rows = (
        ours.filter(pl.col("kind") == "refund")
        .join(first_payment, on="reference")
        .select(
            "id",
            "payment_id",
            pl.col("refund_reference").alias("reference"),
            "amount",
            pl.lit("Hoàn phí").alias("reason"),
            "status",
            created.alias("created_at"),
            created.alias("updated_at"),
            pl.lit(at(0, 11)).alias("completed_at"),
        )
    )
    return {"payments": payment_rows, "refunds": refund_rows}


async def _copy(url: str, tables: dict[str, pl.DataFrame], work: Path) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        for name, frame in tables.items():
            path = work / f"{name}.copy.csv"
            frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.f%z", null_value="")
            await conn.copy_to_table(name, source=path, columns=frame.columns, format="csv", header=True, null="")
            await conn.execute(f"ANALYZE {name}")
            path.unlink()
    finally:
        await conn.close()


async def _yesterdays_run(db: Any, ours: pl.DataFrame, day: Any) -> None:
    """The day before's completed run, which left our older unsettled records waiting."""
    from gateway.store.tables import reconciliation as rt

    before, now = day - timedelta(days=1), datetime.now(UTC)
    run = {
        "id": "rcr_bench_yesterday",
        "kind": "settlement",
        "day": before,
        "status": "completed",
        "trigger": "schedule",
        "classes": {},
        "started_at": now,
        "finished_at": now,
    }
    waiting = [
        {"run_id": run["id"], "our_id": r["id"], "day": r["day"], "code": "awaiting_hub"}
        for r in ours.filter((pl.col("day") < day) & (pl.col("status") == "paid")).iter_rows(named=True)
    ]
    async with db.transaction() as conn:
        await conn.execute(rt.reconciliation_runs.insert().values(**run))
        await conn.execute(
            rt.reconciliation_days.insert().values(
                kind="settlement", day=before, current_run_id=run["id"], updated_at=now
            )
        )
        if waiting:
            await conn.execute(rt.reconciliation_waiting.insert(), waiting)


async def seed(url: str, work: Path, day: Any, agencies: list[str]) -> None:
    """Migrate, add the agencies and a portal, and write our records into the payments tables."""
    from gateway import portals
    from gateway.store.db import Database
    from gateway.store.migrate import upgrade_async

    await upgrade_async(url)
    db = Database.from_url(url)
    try:
        agency_ids = {code: await portals.upsert_agency(db, _agency_spec(code)) for code in agencies}
        portal_id, _ = await portals.create_portal(db, "Cổng đo", agencies)
        ours = pl.read_parquet(work / "ours.parquet")
        await _copy(url, _our_tables(ours, agency_ids, portal_id, day), work)
        await _yesterdays_run(db, ours, day)
    finally:
        await db.dispose()


async def run_gateway(url: str, work: Path, day: Any, signature: str, key: str) -> dict[str, Any]:
    """The measured step: the raw file on disk to a committed run."""
    from adapters.payhub import PayhubClient, PayhubConfig
    from gateway.reconciliation import SettlementRuns, Trigger
    from gateway.settings import load
    from gateway.store.db import Database

    settings = load({"PAYHUB_HASH_KEY": key, "DATABASE_URL": url, "RECONCILIATION_DATA_DIR": str(work / "data")})
    db = Database.from_url(url)
    hub = PayhubClient(PayhubConfig("http://127.0.0.1:9", settings.payhub_partner_code, key))
    marks: list[tuple[str, float, int]] = []

    def mark(phase: Any) -> None:
        marks.append((phase.value, time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))

    try:
        started = time.perf_counter()
        recorded = await SettlementRuns(db, hub, settings).run(
            day,
            file=work / "settlement.csv",
            signature=signature,
            trigger=Trigger.MANUAL,
            progress=mark,
        )
        seconds = time.perf_counter() - started
        peak_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        await hub.aclose()
        await db.dispose()
    run = recorded.run
    counts = {code: total["lines"] for code, total in run.classes.items() if total["lines"]}
    ends = [*(at for _, at, _ in marks[1:]), started + seconds]
    phases = {name: round(end - at, 2) for (name, at, _), end in zip(marks, ends, strict=True)}
    # the process's peak RSS by the end of each phase, in MiB (a peak only grows, so each is the highest so far)
    peaks = [*(rss for _, _, rss in marks[1:]), peak_end]
    peak_by = {name: round(rss / 1024) for (name, _, _), rss in zip(marks, peaks, strict=True)}
    return {
        "seconds": seconds,
        "status": run.status,
        "counts": counts,
        "breaks": run.breaks,
        "our_rows": run.our_rows,
        "file_rows": run.file_rows,
        "phases": phases,
        "peak_by_phase_mib": peak_by,
    }


async def reset(url: str, work: Path) -> None:
    """Back to the seeded state, so the run can be measured again: only the day before's run stays."""
    import shutil

    from sqlalchemy import delete, update

    from gateway.store.db import Database
    from gateway.store.tables import reconciliation as rt

    keep = "rcr_bench_yesterday"
    db = Database.from_url(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(delete(rt.reconciliation_breaks))
            await conn.execute(delete(rt.reconciliation_totals))
            await conn.execute(delete(rt.reconciliation_waiting).where(rt.reconciliation_waiting.c.run_id != keep))
            await conn.execute(
                update(rt.reconciliation_days)
                .values(current_run_id=None)
                .where(rt.reconciliation_days.c.current_run_id != keep)
            )
            await conn.execute(delete(rt.reconciliation_runs).where(rt.reconciliation_runs.c.id != keep))
    finally:
        await db.dispose()
    shutil.rmtree(work / "data", ignore_errors=True)


def gateway_child(work: Path, signature: str, key: str, day: Any) -> dict[str, Any]:
    url = (work / "database_url").read_text().strip()
    asyncio.run(reset(url, work))
    return asyncio.run(run_gateway(url, work, day, signature, key))
