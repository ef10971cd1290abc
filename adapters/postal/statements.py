"""The post's COD statement: what it collected from citizens on one day and remits in one transfer (pure).

A statement is refused (``PostalProtocolError``) when it is malformed: not JSON of the shape in §7, another day's,
an item listed twice, or totals of its items that do not add up. A remittance that is not ``totalCod − totalFee``
is not malformed: it is what the post says it transfers, and reconciliation names the difference
(``cod_batch_mismatch``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import msgspec

from .errors import PostalProtocolError
from .wire import decode, item_code, parse_amount, parse_time


def build_cod_statement_params(day: date) -> dict[str, str]:
    return {"date": day.strftime("%Y%m%d")}


class _CodItemWire(msgspec.Struct):
    itemCode: str
    codAmount: int | str
    collectedAt: str
    fee: int | str
    saleOrderCode: str = ""


class _CodWire(msgspec.Struct):
    batchId: str
    date: str
    totalCod: int | str
    totalFee: int | str
    totalRemitted: int | str
    items: list[_CodItemWire]


@dataclass(frozen=True)
class CodLine:
    item_code: str
    sale_order_code: str
    cod_amount: int
    fee: int
    collected_at: datetime


@dataclass(frozen=True)
class CodStatement:
    """What the post collected on ``day`` and remits in one transfer (many items, one remittance)."""

    batch_id: str
    day: date
    total_cod: int
    total_fee: int
    total_remitted: int
    lines: tuple[CodLine, ...]


def parse_cod_statement(body: bytes, day: date) -> CodStatement:
    wire = decode(body, _CodWire)
    try:
        stated_day = datetime.strptime(wire.date, "%Y%m%d").date()
    except ValueError as exc:
        raise PostalProtocolError(f"statement date is not yyyyMMdd: {wire.date!r}") from exc
    if stated_day != day:
        raise PostalProtocolError(f"statement of {stated_day} when {day} was asked for")
    lines = tuple(
        CodLine(
            item_code=item_code(i.itemCode),
            sale_order_code=i.saleOrderCode,
            cod_amount=parse_amount(i.codAmount, "codAmount"),
            fee=parse_amount(i.fee, "fee"),
            collected_at=parse_time(i.collectedAt, "collectedAt"),
        )
        for i in wire.items
    )
    if len({line.item_code for line in lines}) != len(lines):
        raise PostalProtocolError("statement lists an item twice")
    statement = CodStatement(
        batch_id=wire.batchId,
        day=stated_day,
        total_cod=parse_amount(wire.totalCod, "totalCod"),
        total_fee=parse_amount(wire.totalFee, "totalFee"),
        total_remitted=parse_amount(wire.totalRemitted, "totalRemitted"),
        lines=lines,
    )
    if not statement.batch_id:
        raise PostalProtocolError("statement without batchId")
    if statement.total_cod != sum(line.cod_amount for line in lines):
        raise PostalProtocolError("totalCod is not the sum of its items")
    if statement.total_fee != sum(line.fee for line in lines):
        raise PostalProtocolError("totalFee is not the sum of its items")
    return statement
