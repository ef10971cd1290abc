"""Building a dossier's combined view from the areas' public surfaces.

Payments come from the payments area (the authority on money). Receipts, shipments and any other resource come
from the snapshot in their latest event: every change of a resource writes one, so the latest is its current
state, in the same shape a portal receives by webhook. A new kind of resource appears here as soon as it writes
events, with no change to this module beyond naming its section.
"""

from __future__ import annotations

from typing import Any

from gateway import events, payments
from gateway.kernel.errors import Refused
from gateway.store.db import Database

from .presenter import DossierOut, LastEvent, totals

SECTIONS = {"receipt": "receipts", "shipment": "shipments"}


async def show(db: Database, portal_id: str, dossier_code: str) -> DossierOut:
    async with db.read() as conn:
        paid = await payments.for_dossier(conn, portal_id, dossier_code)
        happened = await events.of_dossier(conn, portal_id, dossier_code)
    if not paid and not happened:
        raise Refused("not_found", "no payment, receipt or shipment for this dossier")
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in happened:
        latest[(event.resource_type, event.resource_id)] = event.payload
    sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS.values()}
    for (resource_type, _), snapshot in latest.items():
        if resource_type in SECTIONS:
            sections[SECTIONS[resource_type]].append(snapshot)
    last = happened[-1] if happened else None
    return DossierOut(
        dossier_code=dossier_code,
        payments=paid,
        receipts=sections["receipts"],
        shipments=sections["shipments"],
        totals=totals(paid, sections["shipments"]),
        last_event=LastEvent(last.id, last.type, last.sequence, last.created_at) if last else None,
    )
