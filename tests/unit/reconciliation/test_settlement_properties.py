"""Properties of the settlement match: order never matters, every đồng is accounted for, and the per-agency check
catches money that a faulty line match would hide."""

from __future__ import annotations

import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciliation import settlement_match
from reconciliation.engine import LineClass, MatchRules, reconcile_settlement
from reconciliation.reasons import SETTLED
from reconciliation.records import MONEY_MOVED, RECORD_SCHEMA, RecordStatus

DAY = date(2026, 11, 24)
AGENCIES = ["A1", "A2"]
HUB_SCHEMA = {"line": pl.Int64, "transaction_id": pl.String, "reference": pl.String, "dossier": pl.String,
              "agency": pl.String, "kind": pl.String, "amount": pl.Int64, "fee": pl.Int64, "net": pl.Int64,
              "bank": pl.String, "hub_time": pl.String}

payment = st.fixed_dictionaries({
    "amount": st.integers(1, 9).map(lambda n: n * 10_000),
    "agency": st.sampled_from(AGENCIES),
    "status": st.sampled_from([RecordStatus.PAID, RecordStatus.PAID, RecordStatus.PENDING, RecordStatus.REFUNDED]),
    "age": st.integers(0, 6),
    "at_hub": st.sampled_from(["same", "same", "absent", "priced", "twice", "netted"]),
    "ours": st.sampled_from([True, True, True, False]),
    "refund": st.sampled_from([None, None, "both", "hub", "ours", "priced"]),
    "named": st.sampled_from(["own", "own", "own", "other"]),  # the agency the hub's rows name
})


def build(specs: list[dict[str, object]]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    hub: list[dict[str, object]] = []
    ours: list[dict[str, object]] = []
    for n, spec in enumerate(specs):
        ref, amount, agency = f"R{n}", int(spec["amount"]), str(spec["agency"])  # type: ignore[call-overload]
        named = agency if spec["named"] == "own" else next(a for a in AGENCIES if a != agency)
        row = {"transaction_id": f"T{n}", "reference": ref, "dossier": "", "agency": named, "kind": "payment",
               "amount": amount, "fee": 1_100, "net": amount - 1_100, "bank": "VCB", "hub_time": "20261124090000"}
        if spec["at_hub"] != "absent":
            hub.append({**row, "amount": amount + 1_000 if spec["at_hub"] == "priced" else amount,
                        "net": amount if spec["at_hub"] == "netted" else row["net"]})
            if spec["at_hub"] == "twice":
                hub.append(dict(hub[-1]))
        if spec["ours"]:
            ours.append({"id": f"p{n}", "kind": "payment", "reference": ref, "amount": amount,
                         "status": str(spec["status"]), "day": DAY - timedelta(days=int(spec["age"])),  # type: ignore[call-overload]
                         "agency": agency, "transaction_id": "", "refund_reference": ""})
        refund = spec["refund"]
        if refund in ("both", "hub", "priced"):
            hub.append({**row, "transaction_id": f"F{n}", "kind": "refund", "amount": -5_000 - (refund == "priced"),
                        "fee": 0, "net": -5_000 - (refund == "priced")})
        if refund in ("both", "ours", "priced"):
            ours.append({"id": f"f{n}", "kind": "refund", "reference": ref, "amount": 5_000, "status": "succeeded",
                         "day": DAY, "agency": agency, "transaction_id": "", "refund_reference": f"RF{n}"})
    return hub, ours


def run(hub: list[dict[str, object]], ours: list[dict[str, object]], slice_rows: int = 1_000_000) -> pl.DataFrame:
    rows = [{**row, "line": i + 2} for i, row in enumerate(hub)]
    with tempfile.TemporaryDirectory() as tmp:
        outcome = reconcile_settlement(
            pl.LazyFrame(rows, schema=HUB_SCHEMA), pl.LazyFrame(ours, schema=RECORD_SCHEMA), MatchRules(DAY),
            Path(tmp), rows_hint=len(rows), slice_rows=slice_rows, keep_matched=True)
        lines = outcome.scan_lines().collect()
    return lines


def key_of(lines: pl.DataFrame) -> list[tuple[object, ...]]:
    """Lines without their file position: what a permutation must leave alone."""
    return sorted(lines.select("class", "transaction_id", "our_id", "hub_amount", "our_amount").rows(),
                  key=repr)


cases = st.lists(payment, max_size=25)
slow = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@slow
@given(cases, st.randoms(use_true_random=False))
def test_permuting_rows_and_records_changes_nothing(specs: list[dict[str, object]], rnd: random.Random) -> None:
    hub, ours = build(specs)
    shuffled_hub, shuffled_ours = hub[:], ours[:]
    rnd.shuffle(shuffled_hub)
    rnd.shuffle(shuffled_ours)

    assert key_of(run(hub, ours)) == key_of(run(shuffled_hub, shuffled_ours))
    assert key_of(run(hub, ours)) == key_of(run(shuffled_hub, shuffled_ours, slice_rows=4))


@slow
@given(cases)
def test_every_dong_is_accounted_for(specs: list[dict[str, object]]) -> None:
    hub, ours = build(specs)

    lines = run(hub, ours)
    from_file = lines.filter(pl.col("line").is_not_null())

    assert sorted(from_file["line"].to_list()) == list(range(2, len(hub) + 2))
    assert from_file["hub_amount"].sum() == sum(int(row["amount"]) for row in hub)  # type: ignore[call-overload]
    moved = {str(r["id"]) for r in ours if r["status"] in MONEY_MOVED}
    listed = lines.filter(pl.col("our_id").is_not_null())["our_id"].to_list()
    assert len(listed) == len(set(listed))
    assert moved <= set(listed)
    assert lines.filter(pl.col("class") == LineClass.AGGREGATE_MISMATCH).is_empty()
    settled = [c.value for c in SETTLED]
    assert lines.filter(pl.col("class").is_in(settled) & (pl.col("agency") != pl.col("our_agency"))).is_empty()
    crossed = {f"R{n}" for n, spec in enumerate(specs) if spec["named"] == "other" and spec["ours"]}
    named_other = lines.filter(pl.col("line").is_not_null() & pl.col("reference").is_in(list(crossed)))
    assert (named_other["agency"] != named_other["our_agency"]).all(), "each is also shown to our record's agency"


@slow
@given(cases.filter(lambda specs: any(s["at_hub"] == "priced" and s["ours"] and s["named"] == "own" for s in specs)))
def test_agency_check_catches_a_line_match_that_hides_money(specs: list[dict[str, object]]) -> None:
    hub, ours = build(specs)
    honest = settlement_match._payments

    def blind(*args, **kwargs):  # type: ignore[no-untyped-def]
        """A faulty match that calls a mispriced payment matched."""
        frames = honest(*args, **kwargs)
        priced = pl.col("class") == LineClass.AMOUNT_MISMATCH.value
        return [f.with_columns(pl.when(priced).then(pl.lit("matched")).otherwise(pl.col("class")).alias("class"))
                if "class" in f.columns else f for f in frames]

    settlement_match._payments = blind
    try:
        lines = run(hub, ours)
    finally:
        settlement_match._payments = honest

    hidden = lines.filter((pl.col("class") == "matched") & (pl.col("hub_amount") != pl.col("our_amount")))
    caught = lines.filter(pl.col("class") == LineClass.AGGREGATE_MISMATCH)
    ours_held = pl.when(pl.col("our_status").is_in([s.value for s in MONEY_MOVED])).then(pl.col("our_amount"))
    per_agency = hidden.group_by("agency").agg((pl.col("hub_amount") - ours_held.fill_null(0)).sum().alias("d"))
    expected = {row["agency"]: row["d"] for row in per_agency.iter_rows(named=True) if row["d"]}
    assert {row["agency"]: row["unexplained"] for row in caught.iter_rows(named=True)} == expected
    assert not hidden.is_empty()
