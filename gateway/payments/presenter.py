"""Payments as the portal API, the outbox and the pages show them: one representation."""

from __future__ import annotations

from gateway.kernel.fees import kind_name
from gateway.logs import mask_id_number

from .records import Payment, Refund
from .schemas import FeeLineOut, PayerOut, PaymentOut, RefundOut


def refund_view(row: Refund) -> RefundOut:
    return RefundOut(
        id=row.id,
        payment_id=row.payment_id,
        amount=row.amount,
        reason=row.reason,
        status=row.status,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def view(record: Payment) -> PaymentOut:
    r = record
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
        fees=[FeeLineOut(kind=kind_name(x.kind), code=x.code, name=x.name, amount=x.amount) for x in record.lines],
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
