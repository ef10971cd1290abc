"""The dossier view's message and its totals: pure, from the payments and the resources' latest snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from gateway.payments import PaymentOut

AWAITING_PAYMENT = frozenset({"created", "pending"})
COD_NOT_OWED = frozenset({"rejected", "cancelled", "returned"})  # shipments whose COD will never be collected


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
