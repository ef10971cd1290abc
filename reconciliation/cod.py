"""The post's COD statements against our cash-on-delivery collections (pure; statements are small).

One statement is one remittance covering many items. Each item is matched to our collection by its S10 item
code; each collection no statement lists waits until the cut-off in Vietnam business days, then is a break; and
each statement's remittance is checked against what we expect it to carry, so partial sums that do not add up
are named even when every item looks right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import msgspec

from adapters.postal.statements import CodStatement

from .business_days import VN_DAYS_OFF, business_days_after
from .reasons import LABELS, LineClass


class OurCollection(msgspec.Struct, frozen=True, kw_only=True):
    """A COD amount we expect the post to collect on delivery of one shipment."""

    shipment_id: str
    item_code: str
    amount: int
    day: date  # the Vietnam business day the post collected it (delivered)
    agency: str


class CodLine(msgspec.Struct, frozen=True, kw_only=True):
    code: LineClass
    label: str
    item_code: str
    batch_id: str = ""
    stated_amount: int | None = None
    our_amount: int | None = None
    shipment_id: str = ""
    agency: str = ""
    waited_days: int | None = None
    difference: int | None = None


@dataclass(frozen=True)
class CodRules:
    day: date  # the day of the run
    cutoff_days: int = 3
    days_off: frozenset[date] = VN_DAYS_OFF


def _line(code: LineClass, item_code: str, **facts: object) -> CodLine:
    return CodLine(code=code, label=LABELS[code], item_code=item_code, **facts)  # type: ignore[arg-type]


def reconcile_cod(statements: Iterable[CodStatement], ours: Iterable[OurCollection], rules: CodRules) -> list[CodLine]:
    """Every statement item, every collection of ours and every remittance that does not add up, classified."""
    pending = {collection.item_code: collection for collection in ours}
    lines: list[CodLine] = []
    for statement in statements:
        expected = 0
        for item in statement.lines:
            mine = pending.pop(item.item_code, None)
            facts = {"batch_id": statement.batch_id, "stated_amount": item.cod_amount}
            if mine is None:
                lines.append(_line(LineClass.COD_UNKNOWN_ITEM, item.item_code, **facts))
                continue
            expected += mine.amount
            facts.update(our_amount=mine.amount, shipment_id=mine.shipment_id, agency=mine.agency)
            same = mine.amount == item.cod_amount
            lines.append(_line(LineClass.COD_MATCHED if same else LineClass.COD_AMOUNT_MISMATCH, item.item_code,
                               **facts))
        remitted_for_ours = expected - statement.total_fee
        if statement.total_remitted != remitted_for_ours:
            lines.append(_line(LineClass.COD_BATCH_MISMATCH, "", batch_id=statement.batch_id,
                               stated_amount=statement.total_remitted, our_amount=remitted_for_ours,
                               difference=statement.total_remitted - remitted_for_ours))
    for mine in pending.values():
        waited = business_days_after(mine.day, rules.day, rules.days_off)
        code = LineClass.COD_NOT_REMITTED if waited >= rules.cutoff_days else LineClass.COD_AWAITING
        lines.append(_line(code, mine.item_code, our_amount=mine.amount, shipment_id=mine.shipment_id,
                           agency=mine.agency, waited_days=waited))
    return lines
