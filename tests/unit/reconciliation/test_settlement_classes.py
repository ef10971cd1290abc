"""A seeded file with every kind of line gives exactly those classes and breaks, and no others."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from adapters.payhub.sandbox.settlement import Edit
from adapters.payhub.settlement import scan_settlement, verify_settlement_file
from reconciliation.engine import (
    LineClass,
    MatchRules,
    OurRecord,
    RecordKind,
    RecordStatus,
    SettlementOutcome,
    reconcile_settlement,
    records_frame,
)
from tests.support.settlement_files import AGENCY, KEY, OTHER_AGENCY, Paid, ledger_of, rows_of, vn, write_file

DAY = date(2026, 11, 24)  # a Tuesday
PAYMENT, REFUND = RecordKind.PAYMENT, RecordKind.REFUND
PAID, PENDING, FAILED, SUCCEEDED = RecordStatus.PAID, RecordStatus.PENDING, RecordStatus.FAILED, RecordStatus.SUCCEEDED


def ours(reference: str, amount: int, status: RecordStatus = PAID, day: date = DAY, agency: str = AGENCY,
         kind: RecordKind = PAYMENT, refund_reference: str = "") -> OurRecord:
    return OurRecord(id=f"our-{refund_reference or reference}", kind=kind, reference=reference, amount=amount,
                     status=status, day=day, agency=agency, refund_reference=refund_reference)


def seeded(tmp_path: Path, slice_rows: int = 1_000_000, keep_matched: bool = False
           ) -> tuple[SettlementOutcome, dict[str, str]]:
    ledger = ledger_of([
        Paid("MATCHED", 100_000, vn(DAY, 9), refunds=(("RF-OK", 20_000, vn(DAY, 10)), ("RF-HUB", 5_000, vn(DAY, 11)))),
        Paid("LATE", 40_000, vn(DAY - timedelta(days=1), 23, 59, 58)),
        Paid("DROPPED", 30_000, vn(DAY, 9)),
        Paid("UNKNOWN", 25_000, vn(DAY, 9)),
        Paid("PENDING", 60_000, vn(DAY, 12), agency=OTHER_AGENCY),
        Paid("PRICED", 70_000, vn(DAY, 13)),
        Paid("TWICE", 80_000, vn(DAY, 14)),
        Paid("NETTED", 90_000, vn(DAY, 15)),
    ])
    tid = {ref: order.transaction_id for ref, order in ledger.orders.items()}
    edits = [
        Edit("drop", MaGiaoDich=tid["DROPPED"]),
        Edit("alter", MaGiaoDich=tid["PRICED"], changes={"SoTien": 75_000}),
        Edit("duplicate", MaGiaoDich=tid["TWICE"]),
        Edit("alter", MaGiaoDich=tid["NETTED"], changes={"SoTienQuyetToan": 90_000}),
    ]
    path = tmp_path / "settlement.csv"
    signature = write_file(rows_of(ledger, DAY, edits), path)
    records = [
        ours("MATCHED", 100_000), ours("MATCHED", 20_000, SUCCEEDED, kind=REFUND, refund_reference="RF-OK"),
        ours("LATE", 40_000, day=DAY - timedelta(days=1)),
        ours("DROPPED", 30_000),
        ours("OLD", 45_000, day=DAY - timedelta(days=5)),  # Thursday: 3 business days before
        ours("PENDING", 60_000, PENDING, agency=OTHER_AGENCY),
        ours("PRICED", 70_000), ours("TWICE", 80_000), ours("NETTED", 90_000),
        ours("NEVER", 10_000, FAILED),
    ]
    verified = verify_settlement_file(path, DAY, signature, KEY, agencies={AGENCY, OTHER_AGENCY})
    outcome = reconcile_settlement(scan_settlement(verified), records_frame(records).lazy(), MatchRules(DAY),
                                   tmp_path / "run", rows_hint=verified.rows, slice_rows=slice_rows,
                                   keep_matched=keep_matched)
    return outcome, tid


@pytest.mark.parametrize("slice_rows", [1_000_000, 3])
def test_every_kind_of_line_is_classified_and_nothing_else(tmp_path: Path, slice_rows: int) -> None:
    outcome, _ = seeded(tmp_path, slice_rows, keep_matched=True)

    lines = outcome.scan_lines().collect()
    by_class = {(row["class"], row["reference"]) for row in lines.iter_rows(named=True)}

    assert sorted(by_class) == sorted({
        ("matched", "MATCHED"), ("refund", "MATCHED"), ("missing_in_ours", "MATCHED"),
        ("late_settlement", "LATE"), ("awaiting_hub", "DROPPED"), ("missing_at_hub", "OLD"),
        ("missing_in_ours", "UNKNOWN"), ("status_mismatch", "PENDING"), ("amount_mismatch", "PRICED"),
        ("matched", "TWICE"), ("duplicate", "TWICE"), ("net_mismatch", "NETTED"),
    })
    assert lines.height == 12
    assert {c: t.lines for c, t in outcome.classes.items()} == {
        LineClass.MATCHED: 2, LineClass.REFUND: 1, LineClass.LATE_SETTLEMENT: 1, LineClass.AWAITING_HUB: 1,
        LineClass.MISSING_AT_HUB: 1, LineClass.MISSING_IN_OURS: 2, LineClass.STATUS_MISMATCH: 1,
        LineClass.AMOUNT_MISMATCH: 1, LineClass.DUPLICATE: 1, LineClass.NET_MISMATCH: 1,
    }
    assert outcome.break_count == 7


@pytest.mark.parametrize("slice_rows", [1_000_000, 3])
def test_the_plain_matches_are_counted_but_not_kept(tmp_path: Path, slice_rows: int) -> None:
    (tmp_path / "all").mkdir()
    (tmp_path / "kept").mkdir()
    everything = seeded(tmp_path / "all", slice_rows, keep_matched=True)[0].scan_lines().collect()
    outcome, _ = seeded(tmp_path / "kept", slice_rows)

    kept = outcome.scan_lines().collect()

    assert outcome.classes[LineClass.MATCHED].lines == 2
    assert outcome.classes[LineClass.MATCHED].our_amount == 180_000
    assert "matched" not in kept["class"].to_list()
    key = ["class", "reference", "kind", "our_id", "hub_amount", "our_amount", "agency", "our_agency"]
    assert kept.select(key).sort(key).equals(everything.filter(pl.col("class") != "matched").select(key).sort(key))


def test_breaks_carry_the_facts_of_their_line(tmp_path: Path) -> None:
    outcome, tid = seeded(tmp_path)

    breaks = {(b.code, b.reference): b for b in outcome.breaks()}

    priced = breaks[(LineClass.AMOUNT_MISMATCH, "PRICED")]
    assert (priced.hub_amount, priced.our_amount, priced.transaction_id) == (75_000, 70_000, tid["PRICED"])
    assert priced.label == "Lệch số tiền"
    old = breaks[(LineClass.MISSING_AT_HUB, "OLD")]
    assert (old.our_id, old.waited_days, old.line) == ("our-OLD", 3, None)
    refund = breaks[(LineClass.MISSING_IN_OURS, "MATCHED")]
    assert (refund.kind, refund.hub_amount, refund.hub_fee) == ("refund", -5_000, 0)
    assert breaks[(LineClass.STATUS_MISMATCH, "PENDING")].agency == OTHER_AGENCY
    assert breaks[(LineClass.NET_MISMATCH, "NETTED")].hub_net == 90_000
    assert LineClass.AWAITING_HUB not in {code for code, _ in breaks}


def test_agency_totals_carry_fees_and_net_and_are_all_explained(tmp_path: Path) -> None:
    outcome, _ = seeded(tmp_path)

    main, other = outcome.agencies

    assert (main.agency, other.agency) == (AGENCY, OTHER_AGENCY)
    assert main.hub_amount == 100_000 - 20_000 - 5_000 + 40_000 + 25_000 + 75_000 + 2 * 80_000 + 90_000
    assert main.hub_fee == 7 * 1_100
    assert main.hub_net == main.hub_amount - main.hub_fee + 1_100  # NETTED claims no fee was kept
    assert main.our_amount == 100_000 - 20_000 + 40_000 + 30_000 + 45_000 + 70_000 + 80_000 + 90_000
    assert (other.hub_amount, other.our_amount) == (60_000, 0)  # the pending payment is not money we hold yet
    assert [a.unexplained for a in outcome.agencies] == [0, 0]
    assert LineClass.AGGREGATE_MISMATCH not in outcome.classes


def test_awaiting_becomes_missing_at_the_cut_off_in_business_days(tmp_path: Path) -> None:
    friday = date(2026, 11, 20)
    record = ours("WAIT", 10_000, day=friday)
    empty = tmp_path / "empty.csv"

    def classify_on(day: date) -> LineClass:
        verified = verify_settlement_file(empty, day, write_file([], empty), KEY)
        outcome = reconcile_settlement(scan_settlement(verified), records_frame([record]).lazy(),
                                       MatchRules(day, cutoff_days=2), tmp_path / "run")
        (code,) = outcome.classes
        return code

    assert classify_on(date(2026, 11, 22)) == LineClass.AWAITING_HUB  # Sunday: no business day has passed
    assert classify_on(date(2026, 11, 23)) == LineClass.AWAITING_HUB  # Monday: one
    assert classify_on(date(2026, 11, 24)) == LineClass.MISSING_AT_HUB  # Tuesday: two


def test_a_line_naming_another_agency_than_our_record_is_an_agency_mismatch_seen_by_both(tmp_path: Path) -> None:
    ledger = ledger_of([
        Paid("CROSSED", 100_000, vn(DAY, 9), refunds=(("RF-X", 20_000, vn(DAY, 10)),)),
        Paid("CROSSED-PRICED", 50_000, vn(DAY, 11)),
        Paid("CROSSED-TWICE", 80_000, vn(DAY, 12)),
    ])  # the hub's rows all name AGENCY; every record of ours is OTHER_AGENCY's
    tid = {ref: order.transaction_id for ref, order in ledger.orders.items()}
    edits = [
        Edit("alter", MaGiaoDich=tid["CROSSED-PRICED"], changes={"SoTien": 55_000}),
        Edit("duplicate", MaGiaoDich=tid["CROSSED-TWICE"]),
    ]
    path = tmp_path / "settlement.csv"
    signature = write_file(rows_of(ledger, DAY, edits), path)
    records = [
        ours("CROSSED", 100_000, agency=OTHER_AGENCY),
        ours("CROSSED", 20_000, SUCCEEDED, agency=OTHER_AGENCY, kind=REFUND, refund_reference="RF-X"),
        ours("CROSSED-PRICED", 50_000, agency=OTHER_AGENCY),
        ours("CROSSED-TWICE", 80_000, agency=OTHER_AGENCY),
    ]
    verified = verify_settlement_file(path, DAY, signature, KEY, agencies={AGENCY, OTHER_AGENCY})

    outcome = reconcile_settlement(scan_settlement(verified), records_frame(records).lazy(), MatchRules(DAY),
                                   tmp_path / "run", rows_hint=verified.rows)

    found = sorted((b.code, b.kind, b.reference, b.agency, b.our_agency) for b in outcome.breaks())
    assert found == [
        (LineClass.AGENCY_MISMATCH, "payment", "CROSSED", AGENCY, OTHER_AGENCY),
        (LineClass.AGENCY_MISMATCH, "payment", "CROSSED-PRICED", AGENCY, OTHER_AGENCY),  # before its amount
        (LineClass.AGENCY_MISMATCH, "payment", "CROSSED-TWICE", AGENCY, OTHER_AGENCY),
        (LineClass.AGENCY_MISMATCH, "refund", "CROSSED", AGENCY, OTHER_AGENCY),
        (LineClass.DUPLICATE, "payment", "CROSSED-TWICE", AGENCY, OTHER_AGENCY),  # unpaired, still theirs too
    ]
    assert not {LineClass.MATCHED, LineClass.REFUND} & set(outcome.classes), "no agency's money is taken as settled"
    mine, theirs = outcome.agencies
    assert (mine.agency, mine.hub_amount, mine.our_amount) == (AGENCY, 100_000 - 20_000 + 55_000 + 2 * 80_000, 0)
    assert (theirs.agency, theirs.hub_amount, theirs.our_amount) == (OTHER_AGENCY, 0, 100_000 - 20_000 + 130_000)
    assert [a.unexplained for a in outcome.agencies] == [0, 0], "every đồng of both is explained by the breaks"
    assert LineClass.AGGREGATE_MISMATCH not in outcome.classes
