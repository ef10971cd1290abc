"""Creating and cancelling payments: validation against the catalogue, storing, and the hub's init."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.payhub import (
    Bill,
    BillLine,
    HubRejected,
    HubUnavailable,
    InitOrder,
    Outcome,
    OutcomeUnknown,
    PayhubClient,
    receipt_info,
)
from adapters.vntime import now_utc
from gateway import metrics, portals
from gateway.ids import new_hub_reference, new_id
from gateway.kernel import receipt_parts
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.fees import KIND_CODES
from gateway.kernel.portal import PortalContext
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.uow import LostChange, UnitOfWork, key_taken
from receipts import Line

from . import repository, transitions
from .records import Payment
from .references import stored_with_a_fresh_reference
from .results import MAX_READINGS, HubResults
from .schemas import CreatePayment, FeeLineIn
from .state import UNPAID, Event, Status

log = logging.getLogger("gateway.payments")


class PaymentService:
    def __init__(self, db: Database, hub: PayhubClient, results: HubResults, settings: Settings) -> None:
        self.db = db
        self.hub = hub
        self.results = results
        self.settings = settings
        self.references = new_hub_reference  # where payment references are drawn (random: tests draw their own)

    # ------------------------------------------------------------ create

    async def create(self, portal: PortalContext, attempt: Attempt, data: CreatePayment) -> Payment:
        """Store the payment and send its init to the hub; a retry of the same attempt resumes the payment stored."""
        now = now_utc()
        if attempt.resume_id is not None:
            async with self.db.read() as conn:
                record = await repository.load(conn, attempt.resume_id, portal.portal_id)
                if record is None:  # pragma: no cover - the key row and the payment are written together
                    raise Refused("not_found")
                agency = await portals.agency_by_id(conn, record.agency_id)
        else:
            record, agency = await self._store(portal, attempt, data, now)
        return await self._init_at_hub(record, agency, data.client_ip)

    def _ttl(self, data: CreatePayment) -> int:
        cfg = self.settings
        ttl = data.expires_in or cfg.payment_ttl_seconds
        if not cfg.min_payment_ttl_seconds <= ttl <= cfg.max_payment_ttl_seconds:
            raise Refused(
                "expiry_out_of_range",
                f"expires_in must be between {cfg.min_payment_ttl_seconds} and {cfg.max_payment_ttl_seconds} seconds",
                field="expires_in",
            )
        return ttl

    async def _store(
        self, portal: PortalContext, attempt: Attempt, data: CreatePayment, now: datetime
    ) -> tuple[Payment, Any]:
        """Check the request against the catalogue and store the payment with its lines, bound to its key: on
        PostgreSQL a checked unit (the catalogue read, then one statement of the payment, its lines and the key's
        binding, which fails whole unless the key is there to bind: refused as in progress, and the portal's retry
        resumes what the attempt that took the key over made)."""
        ttl = self._ttl(data)

        async def store() -> tuple[Payment, Any]:
            try:
                async with self.db.checked_unit() as uow:
                    return await self._stored(uow, portal, attempt, data, now, ttl)
            except LostChange as lost:  # the binding is the unit's one kept change: the key was not there to bind
                raise key_taken() from lost

        return await stored_with_a_fresh_reference(store, "payments")

    async def _stored(
        self, uow: UnitOfWork, portal: PortalContext, attempt: Attempt, data: CreatePayment, now: datetime, ttl: int
    ) -> tuple[Payment, Any]:
        agency, procedure, fees = await _catalogue(uow.conn, portal, data)
        _check_lines(data, fees)
        payment_id = new_id("pay")
        record = repository.insert(
            uow,
            dict(
                id=payment_id,
                portal_id=portal.portal_id,
                agency_id=agency.id,
                reference=self.references(),
                procedure_code=procedure.code,
                procedure_name=procedure.name,
                service_code=procedure.service_code,
                service_name=procedure.service_name,
                currency="VND",
                status=Status.CREATED.value,
                expires_at=now + timedelta(seconds=ttl),
                created_at=now,
                updated_at=now,
                **request_columns(data),
            ),
            line_rows(payment_id, data),
            agency.code,
        )
        await uow.bind(attempt, payment_id)
        return record, agency

    async def _init_at_hub(self, record: Payment, agency: Any, client_ip: str) -> Payment:
        if Status(record.status) is not Status.CREATED:  # resumed after the hub already answered
            return record
        try:
            reply = await self.hub.init(_init_order(record, agency, client_ip))
        except HubRejected as exc:
            log.warning("hub refused init", extra={"payment_id": record.id, "hub_code": exc.code})
            async with self.db.unit() as uow:
                current = await repository.lock(uow.conn, payment_id=record.id)
                assert current is not None
                if Status(current.status) is Status.CREATED:
                    await transitions.move(uow, current, Event.INIT_REJECTED, now_utc(), reason=f"hub_init_{exc.code}")
            metrics.PAYMENTS_CREATED.labels(outcome="hub_rejected").inc()
            raise Refused(
                "hub_rejected",
                f"the hub refused the payment ({exc.code})",
                extra={"payment_id": record.id, "hub_code": exc.code},
                settled=True,
            ) from exc
        except (HubUnavailable, OutcomeUnknown) as exc:
            log.warning("hub init outcome unknown", extra={"payment_id": record.id, "error": str(exc)})
            metrics.PAYMENTS_CREATED.labels(outcome="hub_unavailable").inc()
            raise Refused("hub_unavailable", retry_after=5, extra={"payment_id": record.id}) from exc
        known = [record]  # the payment as this request stored it or read it: the first reading of a checked unit

        async def accept(uow: UnitOfWork) -> Payment:
            current = known.pop() if known and uow.checked else await repository.for_change(uow, record.reference)
            assert current is not None
            if Status(current.status) is not Status.CREATED:  # the hub's word or the portal came first
                return current
            return await transitions.move(
                uow, current, Event.INIT_ACCEPTED, now_utc(), values={"checkout_url": reply.checkout_url}
            )

        current = await self.db.checked(accept, readings=MAX_READINGS, what=f"payment {record.reference}")
        metrics.PAYMENTS_CREATED.labels(outcome=current.status).inc()  # pending, or what came first (paid…)
        return current

    # ------------------------------------------------------------ cancel

    async def cancel(self, portal: PortalContext, payment_id: str) -> Payment:
        """Cancel an unpaid payment, after a last query so a payment made meanwhile is recorded, not cancelled."""
        async with self.db.read() as conn:
            record = await repository.load(conn, payment_id, portal.portal_id)
        if record is None:
            raise Refused("not_found")
        if Status(record.status) not in UNPAID:
            if Status(record.status) is Status.CANCELLED:
                return record
            raise Refused("payment_not_cancellable", f"the payment is {record.status}")
        await self.check(record.reference)
        async with self.db.unit() as uow:
            current = await repository.lock(uow.conn, payment_id=payment_id)
            assert current is not None
            if Status(current.status) in UNPAID:
                return await transitions.move(
                    uow, current, Event.PORTAL_CANCEL, now_utc(), reason="cancelled_by_portal"
                )
        if Status(current.status) is Status.CANCELLED:
            return current
        raise Refused("payment_not_cancellable", f"the payment is {current.status}")

    async def check(self, reference: str) -> Outcome:
        """Ask the hub and apply its answer through the callback's code path."""
        try:
            result = await self.hub.query(reference)
        except (HubUnavailable, OutcomeUnknown) as exc:
            raise Refused("hub_unavailable", retry_after=5) from exc
        except HubRejected as exc:
            raise Refused("hub_rejected", f"the hub refused the query ({exc.code})") from exc
        await self.results.apply(result, now_utc())
        return result.outcome


async def _catalogue(
    tx: AsyncConnection, portal: PortalContext, data: CreatePayment
) -> tuple[Any, Any, dict[str, Any]]:
    agency = await portals.agency_of(tx, portal, data.agency_code)
    procedure, fees = await portals.procedure_and_fees(tx, agency.id, data.procedure_code)
    return agency, procedure, fees


def request_columns(data: CreatePayment) -> dict[str, Any]:
    """The columns a payment takes from its request; its receipt is built from them (``receipts.sources``)."""
    return {
        "dossier_code": data.dossier_code,
        "amount": data.total,
        "description": data.description or f"Nộp phí, lệ phí hồ sơ {data.dossier_code}",
        "payer_name": data.payer.name,
        "payer_id_number": data.payer.id_number,
        "payer_address": data.payer.address,
        "payer_province": data.payer.province,
        "payer_email": data.payer.email,
        "payer_phone": data.payer.phone,
        "client_ip": data.client_ip,
        "return_url": data.return_url,
        "bank_code": data.bank_code,
    }


def line_rows(payment_id: str, data: CreatePayment) -> list[dict[str, Any]]:
    return [
        {
            "payment_id": payment_id,
            "position": i,
            "kind": KIND_CODES[line.kind],
            "code": line.code,
            "name": line.name,
            "amount": line.amount,
        }
        for i, line in enumerate(data.fees)
    ]


def _check_lines(data: CreatePayment, fees: dict[str, Any]) -> None:
    portals.check_fee_lines([line_of(x) for x in data.fees], fees, "fees")
    total = sum(line.amount for line in data.fees)
    if total != data.total:
        raise Refused("total_mismatch", f"the fee lines sum to {total}, not {data.total}", field="total")


def line_of(line: FeeLineIn) -> Line:
    """A requested fee line as its receipt will state it."""
    return receipt_parts.line(KIND_CODES[line.kind], line.code, line.name, line.amount)


def _init_order(record: Payment, agency: Any, client_ip: str) -> InitOrder:
    bill = Bill(
        dossier_code=record.dossier_code,
        agency_code=agency.code,
        agency_name=agency.name,
        lines=tuple(BillLine(x.kind, x.code, x.name, x.amount) for x in record.lines),
        service_code=record.service_code,
        service_name=record.service_name,
        procedure_code=record.procedure_code,
        procedure_name=record.procedure_name,
        treasury_account=agency.treasury_account,
        treasury_bank_code=agency.treasury_bank_code,
        treasury_account_name=agency.treasury_account_name,
        payer_name=record.payer_name,
        payer_id_number=record.payer_id_number,
        payer_address=record.payer_address,
        payer_province=record.payer_province,
        description=record.description,
    )
    return InitOrder(
        reference=record.reference,
        amount=record.amount,
        description=record.description,
        client_ip=client_ip or record.client_ip or "127.0.0.1",
        receipt=receipt_info(bill),
        sent_at=now_utc(),
        bank_code=record.bank_code,
    )
