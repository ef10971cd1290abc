"""Reading stored receipts and showing them: the one JSON representation for the API and the outbox."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.fees import KIND_NAMES
from gateway.logs import mask_id_number
from gateway.store import dialect, pages
from gateway.store.tables.receipts import receipts
from receipts import ReceiptData, amount_in_words

from .schemas import CollectorOut, ReceiptLineOut, ReceiptOut, ReceiptPayerOut

R = receipts.c
ISSUED = "issued"
CANCELLED = "cancelled"


def data_of(row: Row[Any]) -> ReceiptData:
    """The receipt's content as issued (stored beside the signed XML for rendering)."""
    return msgspec.convert(row.data, ReceiptData)


def view(row: Row[Any], data: ReceiptData | None = None) -> ReceiptOut:
    """``data`` is the row's content when the caller has it in hand (just issued), saving a re-read."""
    data = data or data_of(row)
    return ReceiptOut(
        id=row.id,
        status=row.status,
        source_type=row.source_type,
        source_id=row.source_id,
        dossier_code=row.dossier_code,
        template=row.template,
        series=row.series,
        number=row.number,
        issued_at=row.issued_at,
        lookup_code=row.lookup_code,
        lookup_url=data.lookup_url,
        payment_method=data.payment_method,
        collector=CollectorOut(
            name=data.collector.name,
            tax_code=data.collector.tax_code,
            address=data.collector.address,
            treasury_account=data.collector.treasury_account,
        ),
        payer=ReceiptPayerOut(
            name=data.payer.name,
            id_number=mask_id_number(data.payer.id_number),
            tax_code=data.payer.tax_code,
            address=data.payer.address,
        ),
        lines=[
            ReceiptLineOut(kind=KIND_NAMES[x.kind], code=x.code, name=x.name, amount=x.amount)  # type: ignore[arg-type]
            for x in data.lines
        ],
        total=row.total,
        total_in_words=amount_in_words(row.total),
        replaces_id=row.replaces_id,
        replaced_by_id=row.replaced_by_id,
        cancel_reason=row.cancel_reason,
        cancelled_at=row.cancelled_at,
        xml_url=f"/v1/receipts/{row.id}.xml",
        pdf_url=f"/v1/receipts/{row.id}.pdf",
    )


def payload(row: Row[Any], data: ReceiptData | None = None) -> dict[str, Any]:
    """The receipt as an outbox event carries it."""
    return msgspec.to_builtins(view(row, data))  # type: ignore[no-any-return]


async def load(conn: AsyncConnection, receipt_id: str, portal_id: str | None = None) -> Row[Any] | None:
    query = select(receipts).where(R.id == receipt_id)
    if portal_id is not None:
        query = query.where(R.portal_id == portal_id)
    return (await conn.execute(query)).first()


async def lock(tx: AsyncConnection, receipt_id: str, portal_id: str) -> Row[Any] | None:
    """Load a receipt for change: PostgreSQL takes the row lock; SQLite already holds the write lock."""
    query = select(receipts).where(R.id == receipt_id, R.portal_id == portal_id)
    return (await tx.execute(dialect.locked(tx, query))).first()


async def by_lookup_code(conn: AsyncConnection, lookup_code: str) -> Row[Any] | None:
    return (await conn.execute(select(receipts).where(R.lookup_code == lookup_code))).first()


async def original_of(conn: AsyncConnection, source_type: str, source_id: str) -> Row[Any] | None:
    query = select(receipts).where(R.source_type == source_type, R.source_id == source_id, R.revision == 0)
    return (await conn.execute(query)).first()


async def of_source(conn: AsyncConnection, source_type: str, source_id: str, portal_id: str) -> list[Row[Any]]:
    query = (
        select(receipts)
        .where(R.source_type == source_type, R.source_id == source_id, R.portal_id == portal_id)
        .order_by(R.revision)
    )
    return list((await conn.execute(query)).all())


async def list_page(
    conn: AsyncConnection, portal_id: str, *, dossier_code: str | None, cursor: str | None, limit: int
) -> tuple[list[Row[Any]], str | None]:
    """Newest first; the cursor is the id of the last receipt of the previous page (ids sort by creation)."""
    query = select(receipts).where(R.portal_id == portal_id)
    if dossier_code:
        query = query.where(R.dossier_code == dossier_code)
    return await pages.newest_first(conn, query, R.id, cursor or None, limit)
