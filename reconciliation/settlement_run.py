"""Reconcile one day's settlement file against our records: the engine's public entry point.

Memory stays bounded whatever the file's size: above ``SLICE_ROWS`` rows both sides are first cut into slices by
a hash of the payment reference (one streaming pass each, to Arrow IPC), and each slice is matched on its own. The
caller gets the totals per class and per agency, and reads the breaks back as a stream. The classified lines go to
Parquet parts, all but the plain matches (``LineClass.MATCHED``, most of a file) unless asked to keep them: they
are counted in the totals, the raw file they come from is kept, and a matched line's record moved on the file's
own day, so no earlier day's break waits for it (the gateway keeps them only when a later day's run exists, which
may have settled the same payments again).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from .reasons import BREAKS, LABELS, LineClass
from .settlement_match import LINE_SCHEMA, MatchRules, agency_partials, classify

SLICE_ROWS = 250_000  # measured end to end: a slice of this many adds about 0.2 GiB while it is matched
# A slice's rows are written in files of at most this many as they stream in: the partitioned writer holds a
# slice's rows until its file is written, so without a bound it held the whole file (measured: 0.95 GiB at 5M rows,
# 0.55 with this bound).
STAGE_FILE_ROWS = 20_000
HASH_SEED = 20_261_122
# Rows of the same transaction id are compared on everything, so the one kept never depends on the file's order.
CANONICAL_ORDER = [
    "transaction_id",
    "reference",
    "amount",
    "fee",
    "net",
    "agency",
    "kind",
    "hub_time",
    "dossier",
    "line",
]


class ClassTotal(msgspec.Struct, frozen=True):
    line_class: LineClass
    label: str
    lines: int
    hub_amount: int  # signed, as the hub wrote it
    hub_fee: int
    hub_net: int
    our_amount: int  # as recorded, positive


class AgencyDay(msgspec.Struct, frozen=True):
    """An agency's day, summed from the raw inputs; ``unexplained`` is money no line accounts for."""

    agency: str
    day: date
    hub_rows: int
    hub_amount: int
    hub_fee: int
    hub_net: int
    our_amount: int
    explained: int
    unexplained: int


class Break(msgspec.Struct, frozen=True):
    """One break and the facts of its line, as stored and shown to finance staff."""

    code: LineClass
    label: str
    kind: str | None
    reference: str | None
    agency: str | None
    line: int | None = None
    transaction_id: str | None = None
    hub_amount: int | None = None
    hub_fee: int | None = None
    hub_net: int | None = None
    hub_time: str | None = None
    dossier: str | None = None
    our_id: str | None = None
    our_amount: int | None = None
    our_status: str | None = None
    our_day: date | None = None
    our_agency: str | None = None
    our_transaction_id: str | None = None
    our_refund_reference: str | None = None
    waited_days: int | None = None
    unexplained: int | None = None


@dataclass(frozen=True)
class SettlementOutcome:
    day: date
    classes: dict[LineClass, ClassTotal]
    agencies: list[AgencyDay]
    lines_dir: Path

    @property
    def break_count(self) -> int:
        return sum(total.lines for code, total in self.classes.items() if code in BREAKS)

    def scan_lines(self) -> pl.LazyFrame:
        """The classified lines kept (every one when the match was asked to keep the matched ones), and the
        aggregate breaks, lazily."""
        return pl.scan_parquet(self.lines_dir / "*.parquet", schema=LINE_SCHEMA)

    def breaks(self, batch_rows: int = 10_000) -> Iterator[Break]:
        frame = self.scan_lines().filter(pl.col("class").is_in([code.value for code in BREAKS])).collect()
        for batch in frame.iter_slices(batch_rows):
            for row in batch.iter_rows(named=True):
                yield as_break(row)


def as_break(row: dict[str, Any]) -> Break:
    """A classified line (a row of ``scan_lines``) with its facts, as a break of its class is stored."""
    facts = dict(row)
    code = LineClass(facts.pop("class"))
    return msgspec.convert({**facts, "code": code, "label": LABELS[code]}, Break)


def reconcile_settlement(
    hub: pl.LazyFrame,
    ours: pl.LazyFrame,
    rules: MatchRules,
    out_dir: Path,
    rows_hint: int = 0,
    slice_rows: int = SLICE_ROWS,
    keep_matched: bool = False,
) -> SettlementOutcome:
    """Match ``hub`` (``adapters.payhub.settlement.scan_settlement``) against ``ours`` (``RecordSpool.scan()``);
    ``keep_matched`` writes the plain matches' lines too."""
    lines_dir = out_dir / "lines"
    shutil.rmtree(lines_dir, ignore_errors=True)
    lines_dir.mkdir(parents=True)
    slices = max(1, math.ceil(rows_hint / slice_rows))
    staged = _stage(hub, ours, slices, out_dir / "stage")
    repeated = _repeated_lines(staged.hub)
    summaries, partials = [], []
    for number, (hub_slice, our_slice) in enumerate(staged.slices()):
        lines = classify(hub_slice, our_slice, rules, repeated)
        kept = lines if keep_matched else lines.filter(pl.col("class") != LineClass.MATCHED.value)
        kept.write_parquet(lines_dir / f"slice-{number:04d}.parquet", compression="lz4", statistics=False)
        summaries.append(_class_partial(lines))
        partials.append(agency_partials(hub_slice, our_slice, lines))
    shutil.rmtree(out_dir / "stage", ignore_errors=True)
    agencies = _agency_days(pl.concat(partials, how="diagonal_relaxed"), rules.day)
    _write_aggregate_breaks(agencies, lines_dir)
    return SettlementOutcome(rules.day, _class_totals(summaries, agencies), agencies, lines_dir)


@dataclass
class _Staged:
    """Both sides, in memory when small, else cut into slices on disk by a hash of the reference."""

    hub: pl.LazyFrame
    ours: pl.LazyFrame
    count: int
    stage: Path

    def slices(self) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        if self.count == 1:
            yield self.hub.collect(), self.ours.collect()
            return
        hub_schema, our_schema = self.hub.collect_schema(), self.ours.collect_schema()
        for number in range(self.count):
            yield (
                _read_slice(self.stage / "hub", number, hub_schema),
                _read_slice(self.stage / "ours", number, our_schema),
            )


def _stage(hub: pl.LazyFrame, ours: pl.LazyFrame, slices: int, stage: Path) -> _Staged:
    """One streaming pass over each side to Parquet, each row written to its slice's own directory; the raw file is
    parsed here and nowhere else. Each slice is then read back alone, so the work per slice does not grow with the
    number of slices."""
    if slices == 1:
        return _Staged(hub.collect(engine="streaming").lazy(), ours.collect(engine="streaming").lazy(), 1, stage)
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    which = (pl.col("reference").hash(seed=HASH_SEED) % slices).cast(pl.UInt16).alias(SLICE)
    for name, frame in (("hub", hub), ("ours", ours)):
        frame.with_columns(which).sink_ipc(
            pl.PartitionBy(stage / name, key=SLICE, include_key=False, max_rows_per_file=STAGE_FILE_ROWS),
            compression="uncompressed",
            mkdir=True,
        )
    return _Staged(_scan_stage(stage / "hub", hub), _scan_stage(stage / "ours", ours), slices, stage)


SLICE = "slice"


def _scan_stage(directory: Path, source: pl.LazyFrame) -> pl.LazyFrame:
    schema = source.collect_schema()
    if not any(directory.glob(f"{SLICE}=*/*.ipc")):
        return pl.LazyFrame(schema=schema)
    return pl.scan_ipc(directory / f"{SLICE}=*" / "*.ipc", hive_partitioning=False)


def _read_slice(directory: Path, number: int, schema: pl.Schema) -> pl.DataFrame:
    """One slice's rows (none when the hash sent no row there)."""
    part = directory / f"{SLICE}={number}"
    if not part.is_dir():
        return pl.DataFrame(schema=schema)
    return pl.scan_ipc(part / "*.ipc", hive_partitioning=False).collect()


def _repeated_lines(hub: pl.LazyFrame) -> pl.Series:
    """Lines that repeat a transaction id already in the file: found by a 64-bit hash first (sorted, so only the
    hashes are held: a hash table over millions of ids took three times the memory), then compared exactly."""
    key = pl.col("transaction_id").hash(seed=HASH_SEED)
    hashes = hub.select(key.alias("key")).collect(engine="streaming")["key"].sort()
    repeated = hashes.filter(hashes == hashes.shift(1)).unique()
    del hashes
    if repeated.is_empty():
        return pl.Series("line", [], dtype=pl.Int64)
    rows = hub.filter(key.is_in(repeated.implode())).collect(engine="streaming")
    rows = rows.filter(pl.col("transaction_id").is_duplicated()).sort(CANONICAL_ORDER)
    return rows.filter(~pl.col("transaction_id").is_first_distinct())["line"].cast(pl.Int64)


def _class_partial(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.group_by("class").agg(
        lines=pl.len(),
        hub_amount=pl.col("hub_amount").sum(),
        hub_fee=pl.col("hub_fee").sum(),
        hub_net=pl.col("hub_net").sum(),
        our_amount=pl.col("our_amount").sum(),
    )


def _class_totals(summaries: list[pl.DataFrame], agencies: list[AgencyDay]) -> dict[LineClass, ClassTotal]:
    summed = pl.concat(summaries).group_by("class").sum() if summaries else pl.DataFrame()
    totals = {
        LineClass(row["class"]): ClassTotal(
            LineClass(row["class"]),
            LABELS[LineClass(row["class"])],
            row["lines"],
            row["hub_amount"],
            row["hub_fee"],
            row["hub_net"],
            row["our_amount"],
        )
        for row in summed.iter_rows(named=True)
    }
    off = [agency for agency in agencies if agency.unexplained]
    if off:
        code = LineClass.AGGREGATE_MISMATCH
        totals[code] = ClassTotal(
            code, LABELS[code], len(off), sum(a.hub_amount for a in off), 0, 0, sum(a.our_amount for a in off)
        )
    return totals


def _agency_days(partials: pl.DataFrame, day: date) -> list[AgencyDay]:
    columns = ["hub_rows", "hub_amount", "hub_fee", "hub_net", "our_amount", "explained"]
    summed = partials.group_by("agency").agg(pl.col(name).sum() for name in columns).sort("agency")
    return [
        AgencyDay(day=day, unexplained=(row["hub_amount"] - row["our_amount"]) - row["explained"], **row)
        for row in summed.iter_rows(named=True)
    ]


def _write_aggregate_breaks(agencies: list[AgencyDay], lines_dir: Path) -> None:
    off = [agency for agency in agencies if agency.unexplained]
    frame = pl.DataFrame(
        [
            {
                "class": LineClass.AGGREGATE_MISMATCH.value,
                "agency": a.agency,
                "hub_amount": a.hub_amount,
                "hub_fee": a.hub_fee,
                "hub_net": a.hub_net,
                "our_amount": a.our_amount,
                "unexplained": a.unexplained,
            }
            for a in off
        ],
        schema=LINE_SCHEMA,
    )
    frame.write_parquet(lines_dir / "aggregate.parquet")
