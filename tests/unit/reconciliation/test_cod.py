"""COD statements against our collections: one remittance for many items, sums that do not add up, and
collections the post never remitted."""

from __future__ import annotations

import json
from datetime import date

from adapters.postal.s10 import make as make_item_code
from adapters.postal.statements import parse_cod_statement
from reconciliation.cod import CodRules, OurCollection, reconcile_cod
from reconciliation.reasons import LineClass

DAY = date(2026, 11, 24)


def statement(batch: str, items: list[tuple[str, int, int]], remitted_delta: int = 0):  # type: ignore[no-untyped-def]
    body = {
        "batchId": batch, "date": f"{DAY:%Y%m%d}",
        "totalCod": sum(a for _, a, _ in items), "totalFee": sum(f for _, _, f in items),
        "totalRemitted": sum(a - f for _, a, f in items) + remitted_delta,
        "items": [{"itemCode": c, "saleOrderCode": f"S-{c}", "codAmount": a, "collectedAt": "2026-11-24T10:00:00",
                   "fee": f} for c, a, f in items],
    }
    return body


def parsed(body):  # type: ignore[no-untyped-def]
    return parse_cod_statement(json.dumps(body).encode(), DAY)


def mine(code: str, amount: int, day: date = DAY) -> OurCollection:
    return OurCollection(shipment_id=f"shp-{code}", item_code=code, amount=amount, day=day, agency="A1")


def test_one_remittance_for_many_items_and_every_kind_of_break() -> None:
    codes = [make_item_code("EB", n) for n in range(1, 7)]
    body = statement("B1", [(codes[0], 50_000, 2_000), (codes[1], 30_000, 2_000), (codes[2], 41_000, 2_000),
                            (codes[3], 10_000, 1_000)])
    ours = [mine(codes[0], 50_000), mine(codes[1], 30_000), mine(codes[2], 40_000),
            mine(codes[4], 20_000), mine(codes[5], 25_000, day=date(2026, 11, 18))]

    lines = reconcile_cod([parsed(body)], ours, CodRules(DAY))

    got = sorted((line.code.value, line.item_code) for line in lines)
    assert got == sorted([
        ("cod_matched", codes[0]), ("cod_matched", codes[1]), ("cod_amount_mismatch", codes[2]),
        ("cod_unknown_item", codes[3]), ("cod_awaiting", codes[4]), ("cod_not_remitted", codes[5]),
        ("cod_batch_mismatch", ""),
    ])
    batch = next(line for line in lines if line.code == LineClass.COD_BATCH_MISMATCH)
    assert batch.difference == (131_000 - 7_000) - (120_000 - 7_000)


def test_remittance_that_adds_up_raises_no_batch_break() -> None:
    codes = [make_item_code("EB", n) for n in range(1, 3)]
    body = statement("B2", [(codes[0], 50_000, 2_000), (codes[1], 30_000, 2_000)])

    lines = reconcile_cod([parsed(body)], [mine(codes[0], 50_000), mine(codes[1], 30_000)], CodRules(DAY))

    assert [line.code for line in lines] == [LineClass.COD_MATCHED, LineClass.COD_MATCHED]
