"""Cash the post collected on delivery (COD) as a receipt source: the same receipt, paid ``Thu hộ qua bưu chính``.

The post collects one amount for the dossier's fees. When the procedure's catalogue has fixed fees that add up to
that amount, the receipt lists them; otherwise it carries one line for the fees collected by the post, so its total
is always what the citizen paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel import receipt_parts
from gateway.kernel.collected import COD
from gateway.store.tables import portals as ct
from gateway.store.tables import shipments as st
from receipts import PAYMENT_COD, Line, ReceiptError

from .sources import (
    AGENCY_COLUMNS,
    Loaded,
    ReceiptSource,
    SourceKind,
    collector_of,
    register,
    unissued,
    without_receipt,
)
from .unissued import not_held

C = st.cod_collections.c
S = st.shipments.c


def collection_source(row: Any, lines: Sequence[Line]) -> ReceiptSource:
    """The receipt source of a collection row joined with its shipment's citizen and its agency."""
    return ReceiptSource(
        type=COD,
        id=row.id,
        portal_id=row.portal_id,
        agency_id=row.agency_id,
        agency_code=row.agency_code,
        dossier_code=row.dossier_code,
        collector=collector_of(row),
        payer=receipt_parts.cod_payer(
            row.citizen_name, row.citizen_street, row.citizen_commune_name, row.citizen_province_name
        ),
        lines=tuple(lines),
        payment_method=PAYMENT_COD,
        procedure_code=row.procedure_code,
        transaction_id=row.shipment_id,
    )


async def load_collections(conn: AsyncConnection, collection_ids: list[str]) -> list[Loaded]:
    found = (
        await conn.execute(
            select(
                *st.cod_collections.c,
                S.citizen_name,
                S.citizen_street,
                S.citizen_commune_name,
                S.citizen_province_name,
                *AGENCY_COLUMNS,
            )
            .join(st.shipments, S.id == C.shipment_id)
            .join(ct.agencies, ct.agencies.c.id == C.agency_id)
            .where(C.id.in_(collection_ids))
        )
    ).all()
    order = {collection_id: i for i, collection_id in enumerate(collection_ids)}
    loaded: list[Loaded] = []
    for row in sorted(found, key=lambda r: order[r.id]):
        try:
            loaded.append(collection_source(row, await _lines(conn, row)))
        except ReceiptError as error:
            loaded.append(unissued(COD, row, error))
    return loaded


async def _lines(conn: AsyncConnection, row: Any) -> tuple[Line, ...]:
    fees = (
        await conn.execute(
            select(ct.procedure_fees)
            .join(ct.procedures, ct.procedures.c.id == ct.procedure_fees.c.procedure_id)
            .where(ct.procedures.c.agency_id == row.agency_id, ct.procedures.c.code == row.procedure_code)
            .order_by(ct.procedure_fees.c.code)
        )
    ).all()
    if fees and all(f.amount is not None for f in fees) and sum(f.amount for f in fees) == row.amount:
        return tuple(receipt_parts.line(f.kind, f.code, f.name, f.amount) for f in fees)
    return (receipt_parts.cod_line(row.dossier_code, row.amount),)


async def unreceipted_collections(conn: AsyncConnection, limit: int, now: datetime) -> list[str]:
    query = (
        select(C.id)
        .where(without_receipt(COD, C.id), not_held(COD, C.id, now))
        .order_by(C.collected_at, C.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).scalars())


async def link_receipts(tx: AsyncConnection, issued: Sequence[tuple[str, str]]) -> None:
    """Point each collection at its receipt, so the shipment shows it."""
    for collection_id, receipt_id in issued:
        await tx.execute(update(st.cod_collections).where(C.id == collection_id).values(receipt_id=receipt_id))


register(COD, SourceKind(load=load_collections, unreceipted=unreceipted_collections, on_issued=link_receipts))
