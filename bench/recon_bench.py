"""The reconciliation engine from the raw settlement file on disk, against DuckDB doing the same classification.

For each size N: N payments of ours (plus 1 % refunds) and the hub's file for them in the real format (checked
byte for byte against the hub sandbox's own writer on a sample), with a sprinkle of every kind of break. Then,
each in its own process so its peak memory is its own: the engine (verify the file, then classify from it, our
records read from their Parquet spool) and DuckDB (the same classes from the same data exported to CSV). The class
counts of both must agree.

    .venv/bin/python -m bench.recon_bench [--sizes 100000,1000000,5000000] [--slice-rows 1000000] [--keep DIR]

With ``--profile OUT``, one more run of the engine (the gateway's run, end to end) is sampled by py-spy, wall clock,
and written as a flame graph (``.svg``) or raw samples (``.txt``) for each size; a sampled run is not timed.

With ``--end-to-end``, the gateway's whole settlement run on PostgreSQL instead of the engine alone
(``bench.recon_e2e``): our records in the payments tables, the raw file on disk, to a committed run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from adapters.payhub import checksum
from adapters.payhub.codes import SETTLEMENT_COLUMNS
from reconciliation.business_days import business_days_after
from reconciliation.records import RECORD_SCHEMA
from reconciliation.settlement_run import SLICE_ROWS

DAY = date(2026, 11, 24)
KEY = "bench-key"
AGENCIES = [f"000.00.{n:02d}.H26" for n in range(1, 21)]
FEE = 1_100
CUTOFF = 2
# one line in SPRINKLE of each kind of break
SPRINKLE = 1_000


def generate(n: int, work: Path) -> dict[str, object]:
    """The file (CSV, real format), our records (Parquet spool) and our records exported to CSV for DuckDB."""
    i = pl.int_range(0, n, dtype=pl.Int64, eager=True).alias("i")
    base = pl.DataFrame(i).with_columns(
        reference=pl.format("PG261124{}", pl.col("i").cast(pl.String).str.zfill(10)),
        transaction_id=pl.format("HUB{}", pl.col("i").cast(pl.String).str.zfill(12)),
        agency=pl.col("i").mod(len(AGENCIES)).replace_strict(dict(enumerate(AGENCIES)), return_dtype=pl.String),
        amount=10_000 + pl.col("i").mul(7919).mod(500) * 1_000,
        k=pl.col("i").mod(SPRINKLE),
    )
    other = (pl.col("i") + 1).mod(len(AGENCIES)).replace_strict(dict(enumerate(AGENCIES)), return_dtype=pl.String)
    hub = base.filter(~pl.col("k").is_in([1, 2])).with_columns(  # 1: dropped (awaiting), 2: dropped (old)
        pl.when(pl.col("k") == 4).then(pl.col("amount") + 500).otherwise(pl.col("amount")).alias("amount"),
        pl.when(pl.col("k") == 9).then(other).otherwise(pl.col("agency")).alias("agency"))  # 9: another agency
    payments = hub.with_columns(fee=pl.lit(FEE, pl.Int64), state=pl.lit("1"))
    payments = payments.with_columns(
        net=pl.when(pl.col("k") == 6).then(pl.col("amount")).otherwise(pl.col("amount") - pl.col("fee")))
    foreign = base.filter(pl.col("k") == 3).with_columns(  # 3: only at the hub
        reference=pl.format("PGX{}", pl.col("i")), transaction_id=pl.format("HUBX{}", pl.col("i")),
        fee=pl.lit(FEE, pl.Int64), state=pl.lit("1")).with_columns(net=pl.col("amount") - pl.col("fee"))
    refunds = base.filter(pl.col("i").mod(100) == 7).with_columns(
        transaction_id=pl.format("RF{}", pl.col("i").cast(pl.String).str.zfill(12)), amount=pl.lit(-5_000, pl.Int64),
        fee=pl.lit(0, pl.Int64), state=pl.lit("5")).with_columns(net=pl.col("amount"))
    twice = payments.filter(pl.col("k") == 5)  # 5: the hub lists it twice
    columns = ["transaction_id", "reference", "agency", "amount", "fee", "net", "state", "i"]
    rows = pl.concat([payments.select(columns), foreign.select(columns), refunds.select(columns),
                      twice.select(columns)]).sort("i", "state")
    file_rows = _file_rows(rows)
    settlement = work / "settlement.csv"
    _write_file(file_rows, settlement)
    ours = _ours(base)
    ours.write_parquet(work / "ours.parquet", compression="lz4")
    ours.write_csv(work / "ours.csv")
    return {"file_rows": file_rows.height, "records": ours.height, "signature": _signature(settlement)}


def _file_rows(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select(
        pl.col("transaction_id").alias("MaGiaoDich"), pl.col("reference").alias("MaThamChieu"),
        pl.format("000.00.01.H26-261124-{}", pl.col("i")).alias("MaHoSo"), pl.col("agency").alias("MaDonVi"),
        pl.col("amount").alias("SoTien"), pl.col("fee").alias("PhiGiaoDich"), pl.col("net").alias("SoTienQuyetToan"),
        pl.lit("VCB").alias("MaNganHang"), pl.lit(f"{DAY:%Y%m%d}093000").alias("ThoiGianThanhToan"),
        pl.col("state").alias("TrangThai"), pl.lit(f"{DAY:%Y%m%d}").alias("NgayQuyetToan"),
    )


def _write_file(rows: pl.DataFrame, path: Path) -> None:
    from adapters.payhub.sandbox.settlement import csv_chunks  # the sandbox's app: only the generator needs it

    rows.write_csv(path, line_terminator="\r\n", quote_style="necessary")
    sample = rows.head(1_500).cast(pl.String).to_dicts()
    with path.open("rb") as stream:
        head = stream.read(len(b"".join(csv_chunks(sample))))
    assert head == b"".join(csv_chunks(sample)), "the bench file is not in the hub's format"
    assert rows.columns == list(SETTLEMENT_COLUMNS)


def _ours(base: pl.DataFrame) -> pl.DataFrame:
    old = DAY - timedelta(days=6)
    payments = base.select(
        pl.format("pay_{}", pl.col("i")).alias("id"), pl.lit("payment").alias("kind"), "reference", "amount",
        pl.when(pl.col("k") == 8).then(pl.lit("pending")).otherwise(pl.lit("paid")).alias("status"),
        pl.when(pl.col("k") == 2).then(pl.lit(old)).otherwise(pl.lit(DAY)).alias("day"), "agency",
        pl.lit("").alias("transaction_id"), pl.lit("").alias("refund_reference"),
    )
    refunds = base.filter(pl.col("i").mod(100) == 7).select(
        pl.format("rf_{}", pl.col("i")).alias("id"), pl.lit("refund").alias("kind"), "reference",
        pl.lit(5_000, pl.Int64).alias("amount"), pl.lit("succeeded").alias("status"), pl.lit(DAY).alias("day"),
        "agency", pl.lit("").alias("transaction_id"), pl.format("RF{}", pl.col("i")).alias("refund_reference"),
    )
    return pl.concat([payments, refunds]).cast(RECORD_SCHEMA)


def _signature(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return checksum.compute([digest.hexdigest()], KEY)


# ---------------------------------------------------------------- the two contenders, each in a child process


def run_engine(work: Path, signature: str, slice_rows: int) -> dict[str, object]:
    from adapters.payhub.settlement import scan_settlement, verify_settlement_file
    from reconciliation.engine import MatchRules, reconcile_settlement

    started = time.perf_counter()
    verified = verify_settlement_file(work / "settlement.csv", DAY, signature, KEY, agencies=AGENCIES)
    checked = time.perf_counter()
    outcome = reconcile_settlement(scan_settlement(verified), pl.scan_parquet(work / "ours.parquet"),
                                   MatchRules(DAY, cutoff_days=CUTOFF), work / "run", rows_hint=verified.rows,
                                   slice_rows=slice_rows)
    breaks = sum(1 for _ in outcome.breaks())
    done = time.perf_counter()
    counts = {code.value: total.lines for code, total in outcome.classes.items()}
    return {"seconds": done - started, "verify_seconds": checked - started, "counts": counts, "breaks": breaks}


def run_duckdb(work: Path) -> dict[str, object]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    waited = {str(d): business_days_after(d, DAY) for d in (DAY, DAY - timedelta(days=6))}
    con.execute("CREATE TABLE waited (day DATE, n INTEGER)")
    con.executemany("INSERT INTO waited VALUES (?, ?)", list(waited.items()))
    sql = (Path(__file__).with_name("recon_duckdb.sql").read_text(encoding="utf-8")
           .replace("{file}", str(work / "settlement.csv")).replace("{ours}", str(work / "ours.csv"))
           .replace("{day}", str(DAY)).replace("{cutoff}", str(CUTOFF)))
    for statement in filter(str.strip, sql.split(";")):
        con.execute(statement)
    counts = dict(con.execute("SELECT class, count(*) FROM lines GROUP BY class").fetchall())
    return {"seconds": time.perf_counter() - started, "counts": counts}


def child(which: str, work: Path, signature: str, slice_rows: int, rows: int) -> None:
    if which == "generate":
        result = generate(rows, work)
    elif which in ("seed", "gateway"):
        result = _gateway_side(which, work, signature)
    else:
        result = run_engine(work, signature, slice_rows) if which == "engine" else run_duckdb(work)
    print(json.dumps(result))


def _gateway_side(which: str, work: Path, signature: str) -> dict[str, object]:
    from bench import recon_e2e  # the gateway's store: only the end-to-end steps load it

    if which == "seed":
        url = (work / "database_url").read_text().strip()
        return asyncio.run(recon_e2e.seed(url, work, DAY, AGENCIES)) or {}
    return recon_e2e.gateway_child(work, signature, KEY, DAY)


def sampled(cmd: list[str], out: Path) -> list[str]:
    """``cmd`` run under py-spy, written to ``out`` (SVG, or raw for ``.txt``): the Python threads' stacks with their
    native frames, waits included. Polars' own threads are not Python's, so its work shows as the time the call that
    runs it waits: a wall-clock picture of the run's phases."""
    from bench.profile import py_spy

    form = "raw" if out.suffix == ".txt" else "flamegraph"
    return [py_spy(), "record", "--native", "--threads", "--idle", "--rate", "200", "--format", form, "--output",
            str(out), "--", *cmd]


def measure(which: str, work: Path, signature: str, slice_rows: int, rows: int = 0,
            profile: Path | None = None) -> dict[str, object]:
    """Run one step in a fresh process; its wall time and its own peak RSS. The data is generated in a child too:
    Linux carries a parent's peak RSS into the children it forks, so the parent must stay small."""
    cmd = [sys.executable, "-m", "bench.recon_bench", "--child", which, "--work", str(work), "--signature", signature,
           "--slice-rows", str(slice_rows), "--rows", str(rows)]
    if profile is not None:
        cmd = sampled(cmd, profile)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{which} failed with {proc.returncode}")
    answer = next((line for line in reversed(out.splitlines()) if line.startswith("{")), None)
    if answer is None:  # py-spy, when sampling, writes lines of its own before and after the child's
        raise SystemExit(f"{which} gave no figures: {out[-2000:]}")
    result: dict[str, object] = json.loads(answer)
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def _named(out: Path, rows: int, sizes: list[int]) -> Path:
    """One profile a size: with several sizes, ``out`` with the size before its suffix."""
    return out if len(sizes) == 1 else out.with_name(f"{out.stem}-{rows}{out.suffix}")


def in_turns(work: Path, signature: str, slice_rows: int, repeat: int) -> tuple[dict[str, object], dict[str, object]]:
    """DuckDB and the gateway's run in turns, ``repeat`` times; the fastest of each (the machine is shared: the
    slower runs measure its other users)."""
    duck, gateway = [], []
    for _ in range(repeat):
        duck.append(measure("duckdb", work, signature, slice_rows))
        gateway.append(measure("gateway", work, signature, slice_rows))
    return (min(duck, key=lambda run: float(run["seconds"])),  # type: ignore[arg-type]
            min(gateway, key=lambda run: float(run["seconds"])))  # type: ignore[arg-type]


def end_to_end(sizes: list[int], keep: Path | None, slice_rows: int, repeat: int = 1,
               profile: Path | None = None) -> None:
    """The gateway's run on PostgreSQL, from the raw file to a committed run, against DuckDB on CSV exports; each
    the fastest of ``repeat`` runs, taken in turns."""
    from bench import recon_e2e

    print(f"{'rows':>9} {'run s':>9} {'peak MiB':>9} {'duckdb s':>9} {'duck MiB':>9} {'ratio':>6} {'µs/row':>7} "
          f"{'seed s':>7} breaks")
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=keep) as tmp:
            work = Path(tmp)
            made = measure("generate", work, "", slice_rows, n)
            url = asyncio.run(recon_e2e.create_database())
            (work / "database_url").write_text(url)
            try:
                seeded = time.perf_counter()
                measure("seed", work, "", slice_rows)
                seeded = time.perf_counter() - seeded
                duck, run = in_turns(work, str(made["signature"]), slice_rows, repeat)
                if profile is not None:
                    measure("gateway", work, str(made["signature"]), slice_rows, profile=_named(profile, n, sizes))
            finally:
                asyncio.run(recon_e2e.drop_database(url))
            assert run["status"] == "completed" and run["counts"] == duck["counts"], (run, duck["counts"])
            rows, g, d = int(made["file_rows"]), float(run["seconds"]), float(duck["seconds"])  # type: ignore[arg-type]
            print(f"{rows:>9} {g:>9.2f} {float(run['peak_mib']):>9.0f} {d:>9.2f} {float(duck['peak_mib']):>9.0f} "  # type: ignore[arg-type]
                  f"{g / d:>6.2f} {g / rows * 1e6:>7.2f} {seeded:>7.1f} {run['breaks']} {run['phases']} "
                  f"peak by phase {run['peak_by_phase_mib']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--end-to-end", action="store_true", help="the gateway's run on PostgreSQL")
    parser.add_argument("--repeat", type=int, default=1, help="end to end: the fastest of this many runs of each")
    parser.add_argument("--sizes", default="100000,1000000,5000000")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--child")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--signature", default="")
    parser.add_argument("--slice-rows", type=int, default=SLICE_ROWS)
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--profile", type=Path, help="py-spy on one more run of the engine (or the gateway's run)")
    args = parser.parse_args()
    if args.profile is not None:
        from bench.profile import py_spy

        py_spy()  # says how to install it before the data is made, not after
    if args.child:
        child(args.child, args.work, args.signature, args.slice_rows, args.rows)
        return
    if args.end_to_end:
        end_to_end([int(s) for s in args.sizes.split(",")], args.keep, args.slice_rows, args.repeat,
                   args.profile)
        return
    print(f"{'rows':>9} {'engine s':>9} {'verify s':>9} {'peak MiB':>9} {'duckdb s':>9} {'duck MiB':>9} "
          f"{'ratio':>6} {'µs/row':>7} breaks")
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
            work = Path(tmp)
            made = measure("generate", work, "", args.slice_rows, n)
            duck = measure("duckdb", work, str(made["signature"]), args.slice_rows)
            engine = measure("engine", work, str(made["signature"]), args.slice_rows)
            assert engine["counts"] == duck["counts"], (engine["counts"], duck["counts"])
            if args.profile is not None:
                measure("engine", work, str(made["signature"]), args.slice_rows, profile=_named(args.profile, n, sizes))
            rows = int(made["file_rows"])  # type: ignore[arg-type]
            e, d = float(engine["seconds"]), float(duck["seconds"])  # type: ignore[arg-type]
            print(f"{rows:>9} {e:>9.2f} {float(engine['verify_seconds']):>9.2f} {float(engine['peak_mib']):>9.0f} "  # type: ignore[arg-type]
                  f"{d:>9.2f} {float(duck['peak_mib']):>9.0f} {e / d:>6.2f} {e / rows * 1e6:>7.2f} {engine['breaks']}",  # type: ignore[arg-type]
                  flush=True)


if __name__ == "__main__":
    main()
