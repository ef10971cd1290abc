"""A dossier's payments as the dossier view shows them (``GET /v1/dossiers/{code}``): the API's representation,
oldest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.tables import payments as pt

from . import views
from .schemas import PaymentOut

P = pt.payments.c


async def for_dossier(conn: AsyncConnection, portal_id: str, dossier_code: str) -> list[PaymentOut]:
    query = select(P.id).where(P.portal_id == portal_id, P.dossier_code == dossier_code).order_by(P.created_at, P.id)
    payment_ids = list((await conn.execute(query)).scalars())
    payments = []
    for payment_id in payment_ids:
        record = await views.load(conn, payment_id, portal_id)
        if record is not None:
            payments.append(views.view(record))
    return payments
