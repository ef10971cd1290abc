"""Building a dossier's combined view.

Payments come from their own tables (the authority on money). Receipts, shipments and any other resource come
from the snapshot in their latest outbox event: every change of a resource writes one, so the latest is its
current state, in the same shape a portal receives by webhook. A new kind of resource appears here as soon as
it writes events, with no change to this module beyond naming its section.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.payments import presenter as payment_presenter
from gateway.payments import repository as payment_views
from gateway.payments.schemas import PaymentOut
from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt

OB = ot.outbox.c
P = pt.payments.c

AWAITING_PAYMENT = frozenset({"created", "pending"})
COD_NOT_OWED = frozenset({"rejected", "cancelled", "returned"})  # shipments whose COD will never be collected
SECTIONS = {"receipt": "receipts", "shipment": "shipments"}


class Totals(msgspec.Struct):
    due: int  # payments waiting to be paid
    paid: int
    refunded: int
    net_paid: int  # paid - refunded
    cod_due: int  # to be collected by the post on delivery, not yet collected
    cod_collected: int
    cod_held: int  # reported by the post but not taken as received: held for reconciliation, in no other total


class LastEvent(msgspec.Struct):
    id: str
    type: str
    sequence: int
    created_at: datetime


class DossierOut(msgspec.Struct):
    dossier_code: str
    payments: list[PaymentOut]
    receipts: list[dict[str, Any]]
    shipments: list[dict[str, Any]]
    totals: Totals
    last_event: LastEvent | None


def _amount(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def totals(payments: list[PaymentOut], shipments: list[dict[str, Any]]) -> Totals:
    paid = sum(p.paid_amount for p in payments)
    refunded = sum(p.refunded_amount for p in payments)
    cod_collected = 0
    cod_due = 0
    cod_held = 0
    for shipment in shipments:
        collection = shipment.get("cod_collection")
        collected = _amount(collection.get("amount")) if isinstance(collection, dict) else 0
        cod_collected += collected
        held = shipment.get("cod_exceptions")
        for exception in held if isinstance(held, list) else []:
            if isinstance(exception, dict) and exception.get("status") == "open":
                cod_held += _amount(exception.get("reported_amount"))
        if shipment.get("status") not in COD_NOT_OWED and not collected:
            cod_due += _amount(shipment.get("cod_amount"))
    return Totals(
        due=sum(p.amount for p in payments if p.status in AWAITING_PAYMENT),
        paid=paid,
        refunded=refunded,
        net_paid=paid - refunded,
        cod_due=cod_due,
        cod_collected=cod_collected,
        cod_held=cod_held,
    )


async def load(conn: AsyncConnection, portal_id: str, dossier_code: str) -> DossierOut | None:
    payment_ids = (
        await conn.execute(
            select(P.id).where(P.portal_id == portal_id, P.dossier_code == dossier_code).order_by(P.created_at, P.id)
        )
    ).scalars()
    payments = []
    for payment_id in list(payment_ids):
        record = await payment_views.load(conn, payment_id, portal_id)
        if record is not None:
            payments.append(payment_presenter.view(record))
    events = (
        await conn.execute(
            select(OB.id, OB.type, OB.sequence, OB.created_at, OB.resource_type, OB.resource_id, OB.payload)
            .where(OB.portal_id == portal_id, OB.dossier_code == dossier_code)
            .order_by(OB.sequence)
        )
    ).all()
    if not payments and not events:
        return None
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        latest[(event.resource_type, event.resource_id)] = event.payload
    sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS.values()}
    for (resource_type, _), snapshot in latest.items():
        if resource_type in SECTIONS:
            sections[SECTIONS[resource_type]].append(snapshot)
    last = events[-1] if events else None
    return DossierOut(
        dossier_code=dossier_code,
        payments=payments,
        receipts=sections["receipts"],
        shipments=sections["shipments"],
        totals=totals(payments, sections["shipments"]),
        last_event=LastEvent(last.id, last.type, last.sequence, last.created_at) if last else None,
    )
