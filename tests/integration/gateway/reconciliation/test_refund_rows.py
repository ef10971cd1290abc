"""Refund rows of the hub's settlement file on PostgreSQL and SQLite: a refund made through the gateway's refund path
is in the day's file the hub sandbox publishes and reconciles as a refund matched; a refund row the gateway does not
know is missing in ours; a refund row of another amount than ours is an amount break."""

from __future__ import annotations

from adapters.payhub.codes import SETTLEMENT_ROW_REFUND

from .conftest import AGENCY, World, vn


async def test_a_refund_made_through_the_gateway_reconciles_as_matched(world: World) -> None:
    payment, _ = await world.paid(vn(world.today, 8))
    refund, refund_tx = await world.refunded(payment, 50_000)
    rows = (await world.control.get(f"/control/settlements/{world.today:%Y%m%d}")).json()
    [row] = [r for r in rows if r["MaGiaoDich"] == refund_tx]
    assert (row["MaThamChieu"], row["SoTien"], row["TrangThai"]) == (payment.reference, "-50000", SETTLEMENT_ROW_REFUND)

    run = (await world.run(world.today)).run

    assert (run.classes["refund"]["lines"], run.classes["matched"]["lines"], run.breaks) == (1, 1, 0)
    assert run.classes["refund"]["hub_amount"] == -50_000 and run.classes["refund"]["our_amount"] == refund.amount
    assert await world.breaks() == []
    totals = await world.totals()
    assert [(t.agency_code, t.collected, t.refunded, t.settled, t.unexplained) for t in totals] == [
        (AGENCY.code, 150_000, 50_000, 150_000 - 50_000, 0)
    ]


async def test_a_refund_row_the_gateway_does_not_know_is_missing_in_ours(world: World) -> None:
    payment, _ = await world.paid(vn(world.today, 8))
    await world.edit(
        world.today,
        action="add",
        row={
            "MaGiaoDich": "HUB-RF-STRANGER",
            "MaThamChieu": payment.reference,
            "MaDonVi": AGENCY.code,
            "SoTien": -30_000,
            "TrangThai": SETTLEMENT_ROW_REFUND,
            "ThoiGianThanhToan": f"{world.today:%Y%m%d}100000",
        },
    )

    run = (await world.run(world.today)).run

    [found] = await world.breaks()
    assert (found["code"], found["key"], found["hub_amount"], found["our_amount"]) == (
        "missing_in_ours", "missing_in_ours:HUB-RF-STRANGER", -30_000, None
    )  # fmt: skip
    assert (found["facts"]["kind"], found["reference"]) == ("refund", payment.reference)
    assert found["agency_code"] == found["our_agency_code"] == AGENCY.code, "the row names the payment's agency"
    assert run.classes["matched"]["lines"] == 1 and run.breaks == 1
    [total] = await world.totals()
    assert (total.refunded, total.settled, total.unexplained) == (0, 150_000 - 30_000, 0), "the break explains it"


async def test_a_refund_row_of_another_amount_is_an_amount_break(world: World) -> None:
    payment, _ = await world.paid(vn(world.today, 8))
    refund, refund_tx = await world.refunded(payment, 50_000)
    await world.edit(world.today, action="alter", MaGiaoDich=refund_tx, changes={"SoTien": -40_000})

    run = (await world.run(world.today)).run

    [found] = await world.breaks()
    assert (found["code"], found["key"], found["hub_amount"], found["our_amount"]) == (
        "amount_mismatch", f"amount_mismatch:{refund_tx}", -40_000, 50_000
    )  # fmt: skip
    assert (found["our_id"], found["facts"]["kind"], found["facts"]["our_refund_reference"]) == (
        refund.id, "refund", refund.reference
    )  # fmt: skip
    assert "refund" not in run.classes and run.breaks == 1
    [total] = await world.totals()
    assert (total.refunded, total.settled, total.unexplained) == (50_000, 150_000 - 40_000, 0)
