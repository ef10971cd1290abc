"""Reading payments and showing them: the one representation used by the API, the outbox and the pages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.fees import KIND_NAMES
from gateway.logs import mask_id_number
from gateway.store import pages
from gateway.store.tables import payments as pt
from gateway.store.tables import portals as ct

from .schemas import FeeLineOut, PayerOut, PaymentOut, RefundOut

P = pt.payments.c


@dataclass(frozen=True)
class PaymentRecord:
    row: Any  # a Row of payments joined with the agency code, or the same columns after an update
    agency_code: str
    lines: list[Row[Any]]
    refunds: list[Row[Any]]

    def updated(self, **values: Any) -> PaymentRecord:
        """The record as it is after an UPDATE that set ``values``: saves reading back what we just wrote."""
        fields = self.row._asdict() if hasattr(self.row, "_asdict") else vars(self.row)
        return replace(self, row=SimpleNamespace(**{**fields, **values}))


def _payment_query() -> Any:
    return select(pt.payments, ct.agencies.c.code.label("agency_code")).join(
        ct.agencies, ct.agencies.c.id == P.agency_id
    )


async def load(conn: AsyncConnection, payment_id: str, portal_id: str | None = None) -> PaymentRecord | None:
    query = _payment_query().where(P.id == payment_id)
    if portal_id is not None:
        query = query.where(P.portal_id == portal_id)
    row = (await conn.execute(query)).first()
    return None if row is None else await _complete(conn, row)


async def belongs(conn: AsyncConnection, payment_id: str, portal_id: str) -> bool:
    """Whether the payment exists and is the portal's."""
    found = await conn.execute(select(P.id).where(P.id == payment_id, P.portal_id == portal_id))
    return found.first() is not None


async def load_by_reference(conn: AsyncConnection, reference: str) -> PaymentRecord | None:
    row = (await conn.execute(_payment_query().where(P.reference == reference))).first()
    return None if row is None else await _complete(conn, row)


async def _complete(conn: AsyncConnection, row: Row[Any]) -> PaymentRecord:
    lines = (
        await conn.execute(
            select(pt.payment_lines)
            .where(pt.payment_lines.c.payment_id == row.id)
            .order_by(pt.payment_lines.c.position)
        )
    ).all()
    refunds = (
        await conn.execute(
            select(pt.refunds)
            .where(pt.refunds.c.payment_id == row.id)
            .order_by(pt.refunds.c.created_at, pt.refunds.c.id)
        )
    ).all()
    return PaymentRecord(row=row, agency_code=row.agency_code, lines=list(lines), refunds=list(refunds))


async def list_page(
    conn: AsyncConnection,
    portal_id: str,
    *,
    dossier_code: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[PaymentRecord], str | None]:
    query = _payment_query().where(P.portal_id == portal_id)
    if dossier_code:
        query = query.where(P.dossier_code == dossier_code)
    if status:
        query = query.where(P.status == status)
    rows, next_cursor = await pages.newest_first(conn, query, P.id, cursor or None, limit)
    return [await _complete(conn, row) for row in rows], next_cursor


def refund_view(row: Row[Any]) -> RefundOut:
    return RefundOut(
        id=row.id,
        payment_id=row.payment_id,
        amount=row.amount,
        reason=row.reason,
        status=row.status,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def view(record: PaymentRecord) -> PaymentOut:
    r = record.row
    return PaymentOut(
        id=r.id,
        status=r.status,
        status_reason=r.status_reason,
        dossier_code=r.dossier_code,
        procedure_code=r.procedure_code,
        procedure_name=r.procedure_name,
        agency_code=record.agency_code,
        reference=r.reference,
        amount=r.amount,
        currency=r.currency,
        fees=[FeeLineOut(kind=KIND_NAMES[x.kind], code=x.code, name=x.name, amount=x.amount) for x in record.lines],  # type: ignore[arg-type]
        payer=PayerOut(
            name=r.payer_name,
            id_number=mask_id_number(r.payer_id_number),
            address=r.payer_address,
            province=r.payer_province,
        ),
        description=r.description,
        return_url=r.return_url,
        checkout_url=r.checkout_url,
        expires_at=r.expires_at,
        paid_at=r.paid_at,
        paid_amount=r.paid_amount,
        refunded_amount=r.refunded_amount,
        hub_transaction_id=r.hub_transaction_id,
        bank_code=r.bank_code,
        refunds=[refund_view(x) for x in record.refunds],
        created_at=r.created_at,
        updated_at=r.updated_at,
    )
