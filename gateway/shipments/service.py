"""Booking and cancelling shipments: validation, storing, and the post's CreateOrder and orderCancel.

Booking mirrors the payment's init at the hub: the shipment is stored first (its id is the post's
``saleOrderCode``), then the post is asked. When the post cannot be reached or does not answer in time, the
shipment stays ``booking`` and the Idempotency-Key is released: a retry with the same key sends the same
``saleOrderCode`` again, which the post answers with the order it may already have made, so a parcel is booked
once. The worker does the same for shipments a portal never retried.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from adapters.postal import OutcomeUnknown, PostalClient, PostalError, PostalRejected, PostalUnavailable
from adapters.postal import codes as post_codes
from adapters.vntime import now_utc
from gateway import portals
from gateway.ids import new_id
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.store.db import Database

from . import booking, repository, transitions
from .records import Shipment
from .schemas import CreateShipment
from .state import BOOKING, REJECTED, STATUSES, cancellable
from .tracking import PostalTracking

log = logging.getLogger("gateway.shipments")

# The post's refusals that say nothing about the parcel: our login, or the post's own trouble. The shipment
# stays ``booking`` for a retry instead of being marked rejected.
NOT_ABOUT_THE_PARCEL = frozenset({post_codes.LOGIN_FAILED, post_codes.TOKEN_EXPIRED})


class ShipmentService:
    def __init__(self, db: Database, post: PostalClient, tracking: PostalTracking | None = None) -> None:
        self.db = db
        self.post = post
        self.tracking = tracking or PostalTracking(db)

    # ------------------------------------------------------------ read

    async def get(self, portal: PortalContext, shipment_id: str) -> Shipment:
        async with self.db.read() as conn:
            record = await repository.load(conn, shipment_id, portal.portal_id)
        if record is None:
            raise Refused("not_found")
        return record

    async def page(
        self, portal: PortalContext, *, dossier_code: str | None, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Shipment], str | None]:
        if status is not None and status not in STATUSES:
            raise Refused("invalid_request", f"status must be one of {', '.join(STATUSES)}", field="status")
        async with self.db.read() as conn:
            return await repository.list_page(
                conn, portal.portal_id, dossier_code=dossier_code, status=status, cursor=cursor, limit=limit
            )

    # ------------------------------------------------------------ create

    async def create(self, portal: PortalContext, attempt: Attempt, data: CreateShipment) -> Shipment:
        """Store the shipment and book it at the post; a retry of the same attempt resumes the shipment stored."""
        if attempt.resume_id is not None:
            async with self.db.read() as conn:
                record = await repository.load(conn, attempt.resume_id, portal.portal_id)
            if record is None:  # pragma: no cover - the key row and the shipment are written together
                raise Refused("not_found")
        else:
            record = await self._store(portal, attempt, data, now_utc())
        try:
            await self.book(record.id)
        except PostalRejected as exc:
            raise Refused(
                "postal_rejected",
                f"the post refused the order ({exc.code}: {exc.message})",
                extra={"shipment_id": record.id, "postal_code": exc.code},
                settled=True,
            ) from exc
        except PostalError as exc:
            raise Refused("postal_unavailable", retry_after=5, extra={"shipment_id": record.id}) from exc
        async with self.db.read() as conn:
            fresh = await repository.load(conn, record.id)
        assert fresh is not None
        return fresh

    async def _store(self, portal: PortalContext, attempt: Attempt, data: CreateShipment, now: datetime) -> Shipment:
        columns = booking.request_columns(data)
        async with self.db.unit() as uow:
            tx = uow.conn
            agency = await portals.agency_of(tx, portal, data.agency_code)
            agency_phone, agency_address = booking.agency_party(agency)
            await portals.check_postal(tx, agency, data.procedure_code)
            shipment_id = new_id("shp")
            await repository.insert(
                tx,
                {
                    "id": shipment_id,
                    "portal_id": portal.portal_id,
                    "agency_id": agency.id,
                    "status": BOOKING,
                    "agency_name": agency.name,
                    "agency_phone": agency_phone,
                    **booking.address_columns("agency", agency_address),
                    "created_at": now,
                    "updated_at": now,
                    **columns,
                },
            )
            await uow.bind(attempt, shipment_id)
            record = await repository.load(tx, shipment_id)
        assert record is not None
        return record

    async def book(self, shipment_id: str) -> None:
        """Send the shipment's order to the post (again, if need be) and record the answer.

        ``PostalRejected`` for a refusal of the parcel (the shipment is then ``rejected``); any other
        ``PostalError`` when the outcome is unknown (the shipment stays ``booking``).
        """
        async with self.db.read() as conn:
            record = await repository.load(conn, shipment_id)
        assert record is not None
        if record.status == REJECTED or (record.status != BOOKING and record.postage is not None):
            return  # settled; a shipment an event of the post booked is asked once more, for its postage
        try:
            created = await self.post.create_order(booking.order_of(record))
        except PostalRejected as exc:
            if exc.code in NOT_ABOUT_THE_PARCEL or exc.code.startswith("HTTP_"):
                log.warning("post refused our call", extra={"shipment_id": shipment_id, "postal_code": exc.code})
                raise PostalUnavailable(f"the post refused our call ({exc.code})") from exc
            log.warning("post refused the order", extra={"shipment_id": shipment_id, "postal_code": exc.code})
            await self._settle(shipment_id, REJECTED, {"status_reason": f"post_{exc.code}"[:64]})
            raise
        except (PostalUnavailable, OutcomeUnknown) as exc:
            log.warning("post booking outcome unknown", extra={"shipment_id": shipment_id, "error": str(exc)})
            raise
        booked_at = now_utc()
        await self._settle(
            shipment_id,
            "created",
            {
                "original_id": created.originalId,
                "item_code": created.itemCode,
                "postage": created.totalFee,
                "status_code": created.status,
                "status_text": post_codes.status(created.status).name_vi,
                "status_at": booked_at,
                "booked_at": booked_at,
            },
        )

    async def _settle(self, shipment_id: str, status: str, values: dict[str, Any]) -> None:
        """Record the post's answer to the booking, unless an event of the post already moved the shipment on."""
        now = now_utc()
        async with self.db.unit() as uow:
            current = (await transitions.lock(uow.conn, [shipment_id]))[shipment_id]
            if current.status == BOOKING:
                await transitions.move(uow, current, status, now, values=values)
            elif status != REJECTED and current.postage is None:
                booked = {k: values[k] for k in ("original_id", "item_code", "postage", "booked_at")}
                await repository.set_values(uow.conn, shipment_id, booked, now)

    async def book_stale(self, older_than: timedelta, limit: int = 50) -> int:
        """Book shipments left ``booking`` (the post did not answer and the portal never retried)."""
        cutoff = now_utc() - older_than
        async with self.db.read() as conn:
            ids = await repository.stale_bookings(conn, cutoff, limit)
        booked = 0
        for shipment_id in ids:
            try:
                await self.book(shipment_id)
                booked += 1
            except PostalRejected:
                booked += 1  # settled: rejected
            except PostalError:
                break  # the post is still away; try again next time
        return booked

    # ------------------------------------------------------------ cancel

    async def cancel(self, portal: PortalContext, shipment_id: str) -> Shipment:
        """Cancel before pickup. The post's word decides: after the cancel, its order history is recorded through
        the same path as its events, so the timeline shows the cancellation exactly once."""
        async with self.db.read() as conn:
            record = await repository.load(conn, shipment_id, portal.portal_id)
        if record is None:
            raise Refused("not_found")
        if record.status == "cancelled":
            return record
        if not cancellable(record.status, record.status_code):
            raise Refused("shipment_not_cancellable", f"the shipment is {record.status}")
        try:
            if record.status == BOOKING:  # find out whether the post has the parcel, booking it if need be
                await self.book(shipment_id)
                async with self.db.read() as conn:
                    record = await repository.load(conn, shipment_id)
                assert record is not None
            await self.post.cancel(record.original_id)
        except PostalRejected as exc:
            if exc.code == post_codes.CANNOT_CANCEL:
                await self.refresh(shipment_id)
                raise Refused("shipment_not_cancellable", "the post has already picked the parcel up") from exc
            detail = f"the post refused ({exc.code})"
            raise Refused("postal_rejected", detail, extra={"postal_code": exc.code}) from exc
        except PostalError as exc:
            raise Refused("postal_unavailable", retry_after=5) from exc
        await self.refresh(shipment_id)
        async with self.db.read() as conn:
            fresh = await repository.load(conn, shipment_id)
        assert fresh is not None
        return fresh

    async def refresh(self, shipment_id: str) -> None:
        """Record the post's history of one order (getOrder); a failure here leaves it to the feed."""
        async with self.db.read() as conn:
            record = await repository.load(conn, shipment_id)
        if record is None or record.original_id is None:
            return
        try:
            detail = await self.post.get_order(record.original_id)
        except PostalError as exc:
            log.warning("post order detail unavailable", extra={"shipment_id": shipment_id, "error": str(exc)})
            return
        await self.tracking.record(detail.history, "order")
