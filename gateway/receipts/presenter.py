"""Showing stored receipts: the one JSON representation for the API and the outbox."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.kernel.fees import kind_name
from gateway.logs import mask_id_number
from receipts import ReceiptData, amount_in_words

from .repository import StoredReceipt
from .schemas import CollectorOut, ReceiptLineOut, ReceiptOut, ReceiptPayerOut


def data_of(row: StoredReceipt) -> ReceiptData:
    """The receipt's content as issued (stored beside the signed XML for rendering)."""
    return msgspec.convert(row.data, ReceiptData)


def view(row: StoredReceipt, data: ReceiptData | None = None) -> ReceiptOut:
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
        lines=[ReceiptLineOut(kind=kind_name(x.kind), code=x.code, name=x.name, amount=x.amount) for x in data.lines],
        total=row.total,
        total_in_words=amount_in_words(row.total),
        replaces_id=row.replaces_id,
        replaced_by_id=row.replaced_by_id,
        cancel_reason=row.cancel_reason,
        cancelled_at=row.cancelled_at,
        xml_url=f"/v1/receipts/{row.id}.xml",
        pdf_url=f"/v1/receipts/{row.id}.pdf",
    )


def payload(row: StoredReceipt, data: ReceiptData | None = None) -> dict[str, Any]:
    """The receipt as an outbox event carries it."""
    return msgspec.to_builtins(view(row, data))  # type: ignore[no-any-return]
