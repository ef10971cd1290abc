"""Fees the post collected from citizens on delivery (COD): recorded once per shipment, or held for reconciliation.

A collection is money received only when the post reports, for a shipment that can still collect, the amount that
was booked (``state.cod_verdict``). Anything else the post reports (another amount, a collection on a shipment booked
without COD, cancelled or returned) is a ``cod_exceptions`` row: recorded with the reported amount and the reason,
shown on the shipment and the dossier, announced (``shipment.cod_exception``) and counted for operators, but never a
collection: no receipt, no ``shipment.cod_collected``, nothing in the dossier's collected total.

Collections reach the receipt issuer through ``collections.CodCollections``. Reconciling against the post's COD
statements is separate: these rows are what the post told us it collected.
"""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

from adapters.postal import StatusEvent
from gateway.store.uow import UnitOfWork

from . import presenter, repository, transitions
from .records import Shipment
from .state import dedupe_key

log = logging.getLogger("gateway.shipments")


async def record(uow: UnitOfWork, shipment: Shipment, event: StatusEvent, now: datetime) -> Shipment | None:
    """Record the collection a delivered event reports; the shipment with it, or None if it already has one."""
    _refuse_checked(uow)
    collection_id = await repository.insert_collection(uow.conn, shipment, event.cod_amount, event.time, now)
    if collection_id is None:
        return None
    await repository.touch(uow.conn, shipment.id, now)
    fresh = await repository.load(uow.conn, shipment.id, timeline=False)
    assert fresh is not None and fresh.collection is not None
    await transitions.announce(
        uow,
        fresh,
        "shipment.cod_collected",
        now,
        {"cod_collection": msgspec.to_builtins(presenter.collection_view(fresh.collection))},
    )
    return fresh


async def hold(
    uow: UnitOfWork,
    shipment: Shipment,
    event: StatusEvent,
    reason: str,
    status: str,
    source: str,
    now: datetime,
) -> Shipment | None:
    """Hold the collection an event reports for reconciliation, once per event; the shipment with the held report,
    or None if it was already held."""
    _refuse_checked(uow)
    exception_id = await repository.insert_exception(
        uow.conn,
        {
            "shipment_id": shipment.id,
            "portal_id": shipment.portal_id,
            "agency_id": shipment.agency_id,
            "dossier_code": shipment.dossier_code,
            "reason": reason,
            "booked_amount": shipment.cod_amount,
            "reported_amount": event.cod_amount,
            "shipment_status": status,
            "event_key": dedupe_key(event),
            "raw_code": event.code,
            "reported_at": event.time,
            "source": source,
            "created_at": now,
        },
    )
    if exception_id is None:
        return None
    log.warning(
        "COD report held for reconciliation",
        extra={
            "shipment_id": shipment.id,
            "reason": reason,
            "booked": shipment.cod_amount,
            "reported": event.cod_amount,
            "status": status,
            "source": source,
        },
    )
    await repository.touch(uow.conn, shipment.id, now)
    fresh = await repository.load(uow.conn, shipment.id, timeline=False)
    assert fresh is not None
    held = next(x for x in fresh.cod_exceptions if x.id == exception_id)
    await transitions.announce(
        uow,
        fresh,
        "shipment.cod_exception",
        now,
        {"cod_exception": msgspec.to_builtins(presenter.exception_view(held))},
    )
    return fresh


def _refuse_checked(uow: UnitOfWork) -> None:
    """A report of money is recorded under the shipment's lock: its rows are written at once and read back."""
    if uow.checked:
        raise ValueError("a COD report is recorded in a unit that locks its shipment, not in a checked unit")
