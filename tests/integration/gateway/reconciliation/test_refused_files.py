"""A refused settlement file is a failed run with its reason in words staff understand; nothing is matched from
it and nothing else changes (PostgreSQL and SQLite)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.payhub import checksum
from adapters.payhub.settlement import REFUSAL_TEXT, Refusal
from gateway.store.tables import reconciliation as rt

from .conftest import KEY, World, vn


def signed(body: bytes) -> str:
    """The ``X-MaXacThuc`` the hub would send with these bytes: only the check under test fails."""
    return checksum.compute([hashlib.sha256(body).hexdigest()], KEY)


async def day_file(world: World, tmp_path: Path) -> tuple[bytes, str]:
    await world.paid(vn(world.today, 9))
    await world.paid(vn(world.today, 10))
    tomorrow = vn(world.today + timedelta(days=1), 2).isoformat()
    (await world.control.put("/control/clock", json={"now": tomorrow})).raise_for_status()
    download = await world.client.settlement_file(world.today, tmp_path / "hub.csv")
    (await world.control.delete("/control/clock")).raise_for_status()
    assert download.signature
    return download.path.read_bytes(), download.signature


def wrong_header(body: bytes) -> bytes:
    return body.replace(b"MaGiaoDich", b"TransactionId", 1)


def latin1(body: bytes) -> bytes:
    head, rest = body.split(b"\r\n", 1)
    return head + b"\r\n" + rest.replace(b",VCB,", b",V\xe9B,", 1)


def truncated(body: bytes) -> bytes:
    return body[:-7]


CASES: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "header": ("bad_header", wrong_header),
    "encoding": ("not_utf8", latin1),
    "truncated": ("truncated", truncated),
}


async def assert_failed_and_nothing_else(world: World, run: object, code: str) -> None:
    assert run.status == "failed" and run.refusal_code == code  # type: ignore[attr-defined]
    words = REFUSAL_TEXT[Refusal(code)].split("{")[0]  # the adapter's words for staff, up to the first detail
    assert words and run.refusal_message.startswith(words)  # type: ignore[attr-defined]
    assert (run.matched, run.breaks, run.file_rows) == (0, 0, 0)  # type: ignore[attr-defined]
    for table in (rt.reconciliation_breaks, rt.reconciliation_totals, rt.reconciliation_waiting):
        assert await world.count(table) == 0
    days = rt.reconciliation_days.c
    assert await world.count(rt.reconciliation_days, days.current_run_id.is_not(None)) == 0
    runs = Path(world.settings.reconciliation_data_dir) / "runs"
    assert not (runs.exists() and any(runs.iterdir())), "a refused file leaves no working files"


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_malformed_file_is_a_failed_run(world: World, tmp_path: Path, case: str) -> None:
    code, spoil = CASES[case]
    body, _ = await day_file(world, tmp_path)
    spoiled = spoil(body)
    (tmp_path / "spoiled.csv").write_bytes(spoiled)

    recorded = await world.runs.run(world.today, file=tmp_path / "spoiled.csv", signature=signed(spoiled))

    await assert_failed_and_nothing_else(world, recorded.run, code)


async def test_a_file_whose_checksum_does_not_match_is_a_failed_run(world: World, tmp_path: Path) -> None:
    body, signature = await day_file(world, tmp_path)
    (tmp_path / "altered.csv").write_bytes(body.replace(b"150000", b"15000", 1))

    recorded = await world.runs.run(world.today, file=tmp_path / "altered.csv", signature=signature)

    await assert_failed_and_nothing_else(world, recorded.run, "checksum_mismatch")
    before = await world.footprint()
    again = await world.runs.run(world.today, file=tmp_path / "altered.csv", signature=signature)
    assert not again.new and again.run.id == recorded.run.id and await world.footprint() == before


@pytest.mark.parametrize(
    ("code", "edit"),
    [
        (
            "other_partner",
            {
                "action": "add",
                "row": {
                    "MaGiaoDich": "HUB-OTHER-1",
                    "MaThamChieu": "PGOTHER00001",
                    "MaDonVi": "999.99.99.H99",
                    "SoTien": 10_000,
                    "ThoiGianThanhToan": "20200101120000",
                },
            },
        ),
        ("other_day", {"action": "alter", "changes": {"NgayQuyetToan": "20200101"}}),
    ],
)
async def test_another_partners_or_days_data_is_a_failed_run(world: World, code: str, edit: dict[str, object]) -> None:
    _, transaction = await world.paid(vn(world.today, 9))
    if edit["action"] == "alter":
        edit = {**edit, "MaGiaoDich": transaction}
    await world.edit(world.today, **edit)

    recorded = await world.run(world.today)

    await assert_failed_and_nothing_else(world, recorded.run, code)


async def test_a_file_refused_for_its_checksum_is_taken_with_the_right_one(world: World, tmp_path: Path) -> None:
    body, signature = await day_file(world, tmp_path)
    (tmp_path / "day.csv").write_bytes(body)

    refused = await world.runs.run(world.today, file=tmp_path / "day.csv", signature="0" * 64)
    taken = await world.runs.run(world.today, file=tmp_path / "day.csv", signature=signature)

    assert refused.run.status == "failed" and taken.new and taken.run.status == "completed"
    assert taken.run.file_sha256 == refused.run.file_sha256 and taken.run.matched == 2
