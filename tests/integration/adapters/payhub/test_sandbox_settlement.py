"""The daily settlement file from the running sandbox: publication time, checksum, rows and test edits."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from adapters.payhub import PayhubClient, RefundOrder
from adapters.payhub.checksum import settlement_body_checksum
from adapters.payhub.messages import build_settlement_params
from adapters.vntime import VN_TZ, business_day
from tests.support.payhub_sandbox import KEY, PARTNER, Hub, init_order, pay

COLUMNS = ["MaGiaoDich", "MaThamChieu", "MaHoSo", "MaDonVi", "SoTien", "PhiGiaoDich", "SoTienQuyetToan",
           "MaNganHang", "ThoiGianThanhToan", "TrangThai", "NgayQuyetToan"]


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=VN_TZ)


async def set_clock(control: httpx.AsyncClient, moment: datetime) -> None:
    (await control.put("/clock", json={"now": moment.isoformat()})).raise_for_status()


async def fetch(hub: Hub, day: date, key: str = KEY, partner: str = PARTNER) -> httpx.Response:
    stamp = f"{day:%Y%m%d}"
    params = build_settlement_params(stamp, partner, datetime.now(UTC), key)
    async with httpx.AsyncClient(base_url=hub.url) as http:
        return await http.get(f"/api/v2/settlements/{stamp}", params=params)


def rows_of(response: httpx.Response) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(response.content.decode("utf-8"), newline=""))
    header = next(reader)
    assert header == COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


@pytest.fixture
def today() -> date:
    return business_day(datetime.now(UTC))


async def test_file_is_published_at_one_the_next_morning(hub: Hub, control: httpx.AsyncClient, today: date) -> None:
    await set_clock(control, at(today + timedelta(days=1), 0, 59, 59))
    early = await fetch(hub, today)
    await set_clock(control, at(today + timedelta(days=1), 1))
    published = await fetch(hub, today)

    assert early.status_code == 404
    assert published.status_code == 200
    assert published.headers["content-type"].startswith("text/csv")
    assert rows_of(published) == []


async def test_file_lists_payments_and_refunds_with_a_checksum_over_the_body(
    hub: Hub, client: PayhubClient, control: httpx.AsyncClient, today: date
) -> None:
    await client.init(init_order("REF-ST-1", 100_000, 50_000))
    paid = await pay(control, "REF-ST-1", bank_code="BIDV")
    await client.init(init_order("REF-ST-UNPAID", 20_000))
    await client.refund(RefundOrder("REF-ST-1", paid["MaGiaoDich"], "RF-ST-1", 40_000, "Thu thừa",
                                    datetime.now(UTC)))
    await set_clock(control, at(today + timedelta(days=1), 2))

    response = await fetch(hub, today)
    payment, refund = rows_of(response)

    assert response.headers["x-maxacthuc"] == settlement_body_checksum(response.content, KEY)
    assert "content-length" not in response.headers  # streamed
    assert payment["MaGiaoDich"] == paid["MaGiaoDich"]
    assert (payment["MaThamChieu"], payment["MaHoSo"], payment["MaDonVi"]) == (
        "REF-ST-1", "000.00.01.H26-261122-0001", "000.00.01.H26")
    assert int(payment["SoTien"]) == 150_000
    assert int(payment["SoTienQuyetToan"]) == 150_000 - int(payment["PhiGiaoDich"])
    assert (payment["MaNganHang"], payment["TrangThai"]) == ("BIDV", "1")
    assert payment["NgayQuyetToan"] == f"{today:%Y%m%d}"
    assert (refund["TrangThai"], int(refund["SoTien"])) == ("5", -40_000)
    assert refund["MaGiaoDich"] not in (paid["MaGiaoDich"], "")


async def test_payment_just_before_midnight_settles_the_next_day(
    hub: Hub, client: PayhubClient, control: httpx.AsyncClient, today: date
) -> None:
    await client.init(init_order("REF-ST-LATE", 30_000))
    await client.init(init_order("REF-ST-EARLY", 30_000))
    await pay(control, "REF-ST-LATE", paid_at=at(today, 23, 59, 58).isoformat())
    await pay(control, "REF-ST-EARLY", paid_at=at(today, 23, 59, 50).isoformat())
    await set_clock(control, at(today + timedelta(days=2), 2))

    same_day = rows_of(await fetch(hub, today))
    next_day = rows_of(await fetch(hub, today + timedelta(days=1)))

    assert [r["MaThamChieu"] for r in same_day] == ["REF-ST-EARLY"]
    assert [r["MaThamChieu"] for r in next_day] == ["REF-ST-LATE"]
    assert next_day[0]["ThoiGianThanhToan"] == f"{today:%Y%m%d}235958"


async def test_rows_can_be_added_dropped_duplicated_and_altered(
    hub: Hub, client: PayhubClient, control: httpx.AsyncClient, today: date
) -> None:
    ids = []
    for reference in ("REF-ED-1", "REF-ED-2", "REF-ED-3"):
        await client.init(init_order(reference, 50_000))
        ids.append((await pay(control, reference))["MaGiaoDich"])
    stamp = f"{today:%Y%m%d}"
    edits = [
        {"action": "drop", "MaGiaoDich": ids[0]},
        {"action": "duplicate", "MaGiaoDich": ids[1]},
        {"action": "alter", "MaGiaoDich": ids[2], "changes": {"SoTien": 49_000}},
        {"action": "add", "row": {"MaGiaoDich": "HUB-FOREIGN-1", "MaThamChieu": "NOT-OURS", "SoTien": 10_000}},
    ]
    for edit in edits:
        (await control.post(f"/settlements/{stamp}/rows", json=edit)).raise_for_status()
    await set_clock(control, at(today + timedelta(days=1), 2))

    response = await fetch(hub, today)
    rows = rows_of(response)

    assert [r["MaGiaoDich"] for r in rows] == [ids[1], ids[1], ids[2], "HUB-FOREIGN-1"]
    assert int(rows[2]["SoTien"]) == 49_000
    assert int(rows[2]["SoTienQuyetToan"]) == 49_000 - int(rows[2]["PhiGiaoDich"])
    assert (rows[3]["SoTienQuyetToan"], rows[3]["NgayQuyetToan"]) == ("10000", stamp)
    assert response.headers["x-maxacthuc"] == settlement_body_checksum(response.content, KEY)


async def test_edit_naming_no_row_is_refused(control: httpx.AsyncClient, today: date) -> None:
    answer = await control.post(f"/settlements/{today:%Y%m%d}/rows", json={"action": "drop", "MaGiaoDich": "X"})

    assert answer.status_code == 400


async def test_request_with_bad_checksum_or_partner_is_refused(
    hub: Hub, control: httpx.AsyncClient, today: date
) -> None:
    await set_clock(control, at(today + timedelta(days=1), 2))

    forged = await fetch(hub, today, key="not-the-key")
    stranger = await fetch(hub, today, partner="DVC-OTHER-99")

    assert forged.status_code == 403
    assert stranger.status_code == 403
    assert forged.json()["MaLoi"] == "01"
