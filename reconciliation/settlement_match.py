"""Line matching of the hub's settled rows against our payments and refunds, for one slice of references.

Pure: two frames in, one frame of classified lines out. Every hub row becomes exactly one line, and so does every
record of ours whose money moved; a record whose money did not move appears only if the hub settled it. The
driver (``settlement_run``) hands it slices that hold every row of a reference, so slices never interact.

A line's ``agency`` is the one the hub's row names; ``our_agency`` is the agency of our record with the line's
reference, whenever we hold one (also for a row we could not pair, such as a duplicate). A row paired with a record
of another agency than it names is an ``agency_mismatch``, never a match: the money is nobody's until staff of both
agencies have looked at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from .business_days import VN_DAYS_OFF, business_days_after
from .reasons import HUB_UNEXPLAINED, OURS_UNEXPLAINED, LineClass
from .records import MONEY_MOVED, RecordKind

PAYMENT, REFUND = RecordKind.PAYMENT.value, RecordKind.REFUND.value
MOVED = [status.value for status in MONEY_MOVED]

LINE_SCHEMA: dict[str, Any] = {
    "class": pl.String,
    "line": pl.Int64,
    "kind": pl.String,
    "reference": pl.String,
    "transaction_id": pl.String,
    "agency": pl.String,
    "hub_amount": pl.Int64,
    "hub_fee": pl.Int64,
    "hub_net": pl.Int64,
    "hub_time": pl.String,
    "dossier": pl.String,
    "our_id": pl.String,
    "our_amount": pl.Int64,
    "our_status": pl.String,
    "our_day": pl.Date,
    "our_agency": pl.String,
    "our_transaction_id": pl.String,
    "our_refund_reference": pl.String,
    "waited_days": pl.Int32,
    "unexplained": pl.Int64,  # only on an aggregate break
}


@dataclass(frozen=True)
class MatchRules:
    """The file's day, and how many Vietnam business days a record may wait for a file before it is a break."""

    day: date
    cutoff_days: int = 2
    days_off: frozenset[date] = field(default=VN_DAYS_OFF)


def classify(hub: pl.DataFrame, ours: pl.DataFrame, rules: MatchRules, duplicate_lines: pl.Series) -> pl.DataFrame:
    """Classified lines of one slice; ``duplicate_lines`` are the hub lines that repeat a transaction id."""
    mine = ours.select(pl.all().name.prefix("our_"))
    hub = hub.with_columns(duplicate=pl.col("line").is_in(duplicate_lines.implode()))
    is_payment = pl.col("kind") == PAYMENT
    frames = [
        hub.filter("duplicate").with_columns(**{"class": pl.lit(LineClass.DUPLICATE.value)}),
        *_payments(hub.filter(is_payment & ~pl.col("duplicate")), mine.filter(pl.col("our_kind") == PAYMENT), rules),
        *_refunds(hub.filter(~is_payment & ~pl.col("duplicate")), mine.filter(pl.col("our_kind") == REFUND), rules),
    ]
    lines = pl.concat([frame for frame in frames if frame.width], how="diagonal_relaxed")
    classified = (
        lines.select(
            pl.col("class"),
            *(_column(lines, name) for name in ("line", "transaction_id", "hub_time", "dossier")),
            pl.coalesce(_column(lines, "kind"), _column(lines, "our_kind")).alias("kind"),
            pl.coalesce(_column(lines, "reference"), _column(lines, "our_reference")).alias("reference"),
            pl.coalesce(_column(lines, "agency"), _column(lines, "our_agency")).alias("agency"),
            _column(lines, "amount").alias("hub_amount"),
            _column(lines, "fee").alias("hub_fee"),
            _column(lines, "net").alias("hub_net"),
            *(_column(lines, f"our_{name}") for name in ("id", "amount", "status", "day", "agency", "transaction_id")),
            _column(lines, "our_refund_reference"),
            _column(lines, "waited_days"),
            _column(lines, "unexplained"),
        )
        .cast(LINE_SCHEMA)
        .select(list(LINE_SCHEMA))
    )
    return _with_owners(classified, ours)


def _with_owners(lines: pl.DataFrame, ours: pl.DataFrame) -> pl.DataFrame:
    """``our_agency`` of every line whose reference names a record of ours, paired with it or not: the agency whose
    money the hub's row is about, which must see the break as well as the agency the row names. Only the hub's rows
    left unpaired (few) are looked up; a paired line already has its record's agency."""
    unpaired = pl.col("our_agency").is_null()
    lookup = lines.filter(unpaired)
    if lookup.is_empty():
        return lines
    owners = (
        ours.join(lookup.select("reference").unique(), on="reference", how="semi")
        .group_by("reference")
        .agg(owner=pl.col("agency").min())
    )
    found = lookup.join(owners, on="reference", how="left", maintain_order="left")
    found = found.with_columns(our_agency=pl.col("owner")).select(list(LINE_SCHEMA))
    return pl.concat([lines.filter(~unpaired), found])


def _column(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None).alias(name)


def _payments(hub: pl.DataFrame, mine: pl.DataFrame, rules: MatchRules) -> list[pl.DataFrame]:
    """One settled row per reference is its settlement; further rows of the same reference paid it again."""
    again = _settled_again(hub, mine)
    kept = hub.filter(~pl.col("line").is_in(again["line"].implode()))
    joined = kept.join(mine, left_on="reference", right_on="our_reference", how="left", coalesce=False)
    verdict = (
        pl.when(pl.col("our_id").is_null())
        .then(pl.lit(LineClass.MISSING_IN_OURS.value))
        .when(_other_agency())
        .then(pl.lit(LineClass.AGENCY_MISMATCH.value))
        .when(pl.col("amount") != pl.col("our_amount"))
        .then(pl.lit(LineClass.AMOUNT_MISMATCH.value))
        .when(~pl.col("our_status").is_in(MOVED))
        .then(pl.lit(LineClass.STATUS_MISMATCH.value))
        .when(pl.col("net") != pl.col("amount") - pl.col("fee"))
        .then(pl.lit(LineClass.NET_MISMATCH.value))
        .when(pl.col("our_day") < rules.day)
        .then(pl.lit(LineClass.LATE_SETTLEMENT.value))
        .otherwise(pl.lit(LineClass.MATCHED.value))
    )
    unsettled = mine.join(kept, left_on="our_reference", right_on="reference", how="anti")
    return [
        again.with_columns(**{"class": pl.lit(LineClass.DUPLICATE.value)}),
        joined.with_columns(verdict.alias("class")),
        _waiting(unsettled, rules),
    ]


def _settled_again(hub: pl.DataFrame, mine: pl.DataFrame) -> pl.DataFrame:
    """Rows beyond the first for a reference: the one with our transaction id stays, else the lowest id."""
    several = hub.filter(pl.col("reference").hash().is_duplicated())  # by hash first: cheap on millions
    several = several.filter(pl.col("reference").is_duplicated())
    if several.is_empty():
        return several
    ranked = several.join(
        mine.select("our_reference", "our_transaction_id"), left_on="reference", right_on="our_reference", how="left"
    )
    ours_first = (pl.col("transaction_id") != pl.col("our_transaction_id")).fill_null(True)
    ranked = ranked.sort(["reference", ours_first, "transaction_id", "line"])
    return ranked.filter(~pl.col("reference").is_first_distinct()).drop("our_transaction_id")


def _refunds(hub: pl.DataFrame, mine: pl.DataFrame, rules: MatchRules) -> list[pl.DataFrame]:
    """Refund rows carry the hub's own id, not ours: match by payment reference and amount, in a stable order."""
    hub = hub.with_columns(size=-pl.col("amount"))
    hub = hub.with_columns(n=pl.int_range(pl.len()).over(["reference", "size"], order_by=["transaction_id", "line"]))
    mine = mine.with_columns(
        n=pl.int_range(pl.len()).over(["our_reference", "our_amount"], order_by=["our_refund_reference", "our_id"])
    )
    exact = hub.join(
        mine,
        left_on=["reference", "size", "n"],
        right_on=["our_reference", "our_amount", "n"],
        how="inner",
        coalesce=False,
    )
    hub_left = hub.join(exact.select("line"), on="line", how="anti")
    mine_left = mine.join(exact.select("our_id"), on="our_id", how="anti")
    hub_left = hub_left.with_columns(n=pl.int_range(pl.len()).over("reference", order_by=["size", "transaction_id"]))
    mine_left = mine_left.with_columns(
        n=pl.int_range(pl.len()).over("our_reference", order_by=["our_amount", "our_refund_reference", "our_id"])
    )
    differ = hub_left.join(
        mine_left, left_on=["reference", "n"], right_on=["our_reference", "n"], how="inner", coalesce=False
    )
    verdict = (
        pl.when(_other_agency())
        .then(pl.lit(LineClass.AGENCY_MISMATCH.value))
        .when(~pl.col("our_status").is_in(MOVED))
        .then(pl.lit(LineClass.STATUS_MISMATCH.value))
        .when(pl.col("net") != pl.col("amount") - pl.col("fee"))
        .then(pl.lit(LineClass.NET_MISMATCH.value))
        .otherwise(pl.lit(LineClass.REFUND.value))
    )
    priced = (
        pl.when(_other_agency())
        .then(pl.lit(LineClass.AGENCY_MISMATCH.value))
        .otherwise(pl.lit(LineClass.AMOUNT_MISMATCH.value))
    )
    return [
        exact.with_columns(verdict.alias("class")),
        differ.with_columns(priced.alias("class")),
        hub_left.join(differ.select("line"), on="line", how="anti").with_columns(
            **{"class": pl.lit(LineClass.MISSING_IN_OURS.value)}
        ),
        _waiting(mine_left.join(differ.select("our_id"), on="our_id", how="anti"), rules),
    ]


def _other_agency() -> pl.Expr:
    """A hub row paired with a record of ours of another agency than the row names."""
    return pl.col("agency") != pl.col("our_agency")


def _waiting(unsettled: pl.DataFrame, rules: MatchRules) -> pl.DataFrame:
    """Records whose money moved but no file has listed: waiting until the cut-off, then missing at the hub."""
    moved = unsettled.filter(pl.col("our_status").is_in(MOVED))
    waited = {day: business_days_after(day, rules.day, rules.days_off) for day in moved["our_day"].unique()}
    moved = moved.with_columns(
        waited_days=pl.col("our_day").replace_strict(waited, return_dtype=pl.Int32) if waited else pl.lit(0)
    )
    late = pl.col("waited_days") >= rules.cutoff_days
    verdict = pl.when(late).then(pl.lit(LineClass.MISSING_AT_HUB.value)).otherwise(pl.lit(LineClass.AWAITING_HUB.value))
    return moved.with_columns(verdict.alias("class"))


# ---------------------------------------------------------------- per-agency totals of one slice


def signed_ours() -> pl.Expr:
    """Our amount as money flow: a refund takes money out."""
    return pl.when(pl.col("kind") == REFUND).then(-pl.col("amount")).otherwise(pl.col("amount"))


def agency_partials(hub: pl.DataFrame, ours: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Theirs and ours from the raw inputs, and what the lines explain of the difference, per agency.

    Theirs and ours are summed from the inputs, not from the lines, so a line lost or mis-priced by the matching
    shows up as money the lines do not explain.
    """
    theirs = hub.group_by("agency").agg(
        hub_rows=pl.len(), hub_amount=pl.col("amount").sum(), hub_fee=pl.col("fee").sum(), hub_net=pl.col("net").sum()
    )
    mine = ours.filter(pl.col("status").is_in(MOVED)).group_by("agency").agg(our_amount=signed_ours().sum())
    our_signed = pl.when(pl.col("kind") == REFUND).then(-pl.col("our_amount")).otherwise(pl.col("our_amount"))
    from_hub = (
        lines.filter(pl.col("class").is_in(list(HUB_UNEXPLAINED)))
        .group_by("agency")
        .agg(explained=pl.col("hub_amount").sum())
    )
    from_ours = (
        lines.filter(pl.col("class").is_in(list(OURS_UNEXPLAINED)) & pl.col("our_status").is_in(MOVED))
        .group_by(pl.col("our_agency").alias("agency"))
        .agg(explained=-our_signed.sum())
    )
    return pl.concat([theirs, mine, from_hub, from_ours], how="diagonal_relaxed")
