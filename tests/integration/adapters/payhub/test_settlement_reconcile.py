"""A day's settlement file downloaded from the running hub sandbox over HTTP, with edits made through its control
API, verified and reconciled by the engine."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest

from adapters.payhub import PayhubClient, SettlementNotPublished
from adapters.payhub.settlement import FileRefused, Refusal, scan_settlement, verify_settlement_file
from adapters.vntime import VN_TZ, business_day
from reconciliation.engine import (
    LineClass,
    MatchRules,
    OurRecord,
    RecordKind,
    RecordStatus,
    reconcile_settlement,
    records_frame,
)
from tests.support.payhub_sandbox import KEY, Hub, init_order, pay

AGENCY = "000.00.01.H26"


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VN_TZ)


def ours(reference: str, amount: int, day: date) -> OurRecord:
    return OurRecord(id=f"pay-{reference}", kind=RecordKind.PAYMENT, reference=reference, amount=amount,
                     status=RecordStatus.PAID, day=day, agency=AGENCY)


@pytest.fixture
def today() -> date:
    return business_day(datetime.now(UTC))


async def test_file_is_not_published_before_one_the_next_morning(
    hub: Hub, client: PayhubClient, control: httpx.AsyncClient, today: date, tmp_path: Path
) -> None:
    (await control.put("/clock", json={"now": at(today, 23).isoformat()})).raise_for_status()

    with pytest.raises(SettlementNotPublished):
        await client.settlement_file(today, tmp_path / "f.csv")

    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "f.csv.part").exists()


async def test_downloaded_file_with_edits_is_verified_and_classified(
    hub: Hub, client: PayhubClient, control: httpx.AsyncClient, today: date, tmp_path: Path
) -> None:
    ids = {}
    for reference, amount in (("RC-OK", 50_000), ("RC-PRICED", 70_000), ("RC-TWICE", 30_000)):
        await client.init(init_order(reference, amount))
        ids[reference] = (await pay(control, reference))["MaGiaoDich"]
    stamp = f"{today:%Y%m%d}"
    for edit in (
        {"action": "alter", "MaGiaoDich": ids["RC-PRICED"], "changes": {"SoTien": 69_000}},
        {"action": "duplicate", "MaGiaoDich": ids["RC-TWICE"]},
        {"action": "add", "row": {"MaGiaoDich": "HUB-ONLY-1", "MaThamChieu": "RC-STRANGER", "MaDonVi": AGENCY,
                                  "SoTien": 10_000, "PhiGiaoDich": 1_100,
                                  "ThoiGianThanhToan": f"{stamp}120000"}},
    ):
        (await control.post(f"/settlements/{stamp}/rows", json=edit)).raise_for_status()
    (await control.put("/clock", json={"now": at(today + timedelta(days=1), 2).isoformat()})).raise_for_status()

    download = await client.settlement_file(today, tmp_path / "f.csv")
    verified = verify_settlement_file(download.path, today, download.signature, KEY, agencies={AGENCY})
    records = [ours("RC-OK", 50_000, today), ours("RC-PRICED", 70_000, today), ours("RC-TWICE", 30_000, today),
               ours("RC-LOST", 20_000, today - timedelta(days=10))]
    outcome = reconcile_settlement(scan_settlement(verified), records_frame(records).lazy(), MatchRules(today),
                                   tmp_path / "run", rows_hint=verified.rows)

    assert verified.rows == 5
    assert sorted((b.code.value, b.reference) for b in outcome.breaks()) == [
        ("amount_mismatch", "RC-PRICED"), ("duplicate", "RC-TWICE"), ("missing_at_hub", "RC-LOST"),
        ("missing_in_ours", "RC-STRANGER"),
    ]
    assert outcome.classes[LineClass.MATCHED].lines == 2
    assert [a.unexplained for a in outcome.agencies] == [0]
    assert outcome.agencies[0].hub_fee == 5 * 1_100


async def test_file_altered_after_download_is_refused(
    hub: Hub, client: PayhubClient, control: httpx.AsyncClient, today: date, tmp_path: Path
) -> None:
    await client.init(init_order("RC-ALTERED", 50_000))
    await pay(control, "RC-ALTERED")
    (await control.put("/clock", json={"now": at(today + timedelta(days=1), 2).isoformat()})).raise_for_status()
    download = await client.settlement_file(today, tmp_path / "f.csv")
    download.path.write_bytes(download.path.read_bytes().replace(b"50000", b"5000"))

    with pytest.raises(FileRefused) as refused:
        verify_settlement_file(download.path, today, download.signature, KEY, agencies={AGENCY})

    assert refused.value.reason == Refusal.CHECKSUM
