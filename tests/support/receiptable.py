"""What the gateway makes of an accepted request, through its own functions: the receipt and the post's order."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec

from adapters.postal import CreateOrder
from adapters.postal.addresses import validate_address
from gateway.kernel import receipt_parts
from gateway.kernel.collected import Collected
from gateway.kernel.fees import KIND_CODES
from gateway.payments.collections import collected_payment
from gateway.payments.schemas import CreatePayment
from gateway.payments.service import line_rows, request_columns
from gateway.receipts import corrections
from gateway.receipts.issuance import ReceiptIssuer
from gateway.receipts.keys import AgencyKeys
from gateway.receipts.repository import Agency
from gateway.receipts.schemas import ReplaceReceipt
from gateway.receipts.sources import ReceiptSource, collector_of, receipt_source
from gateway.settings import Settings
from gateway.shipments import booking
from gateway.shipments.collections import collected_on_delivery
from gateway.shipments.schemas import CreateShipment
from receipts import ReceiptData, Related, RelatedKind

AT = datetime(2026, 11, 22, 1, 35, tzinfo=UTC)
AGENCY = {
    "portal_id": "ptl_1",
    "agency_id": "agy_1",
    "agency_code": "000.00.01.H26",
    "agency_name": "Ủy ban nhân dân phường Hoàn Kiếm",
    "agency_tax_code": "0101234567",
    "agency_address": "126 Hàng Trống, phường Hoàn Kiếm, thành phố Hà Nội",
    "agency_treasury_account": "3511.0.1054321",
}
ISSUER = ReceiptIssuer(None, AgencyKeys({}), Settings(payhub_hash_key="x"))  # type: ignore[arg-type]


def with_collector(collected: Collected) -> ReceiptSource:
    """The source with the agency of ``AGENCY`` as its collector, as the issuer reads it from the catalogue."""
    agency = Agency(
        id=AGENCY["agency_id"],
        code=AGENCY["agency_code"],
        name=AGENCY["agency_name"],
        tax_code=AGENCY["agency_tax_code"],
        address=AGENCY["agency_address"],
        treasury_account=AGENCY["agency_treasury_account"],
    )
    return receipt_source(collected, agency.code, collector_of(agency))


def payment_receipt(data: CreatePayment) -> ReceiptData:
    """The receipt of the payment ``data`` creates, once paid: stored columns → receipt source → receipt."""
    row = {
        "id": "pay_1",
        "procedure_code": data.procedure_code,
        "hub_transaction_id": "HUB0001",
        **AGENCY,
        **request_columns(data),
    }
    return ISSUER.compose(with_collector(collected_payment(row, line_rows("pay_1", data))), 1, AT)


def _shipment_row(data: CreateShipment) -> Any:
    agency_address = validate_address("01", "00070", "126 Hàng Trống")
    return SimpleNamespace(
        id="shp_01jz0000000000000000000000",
        agency_name=AGENCY["agency_name"],
        agency_phone="02438253536",
        **booking.address_columns("agency", agency_address),
        **booking.request_columns(data),
    )


def postal_order(data: CreateShipment) -> CreateOrder:
    """The post's order of the shipment ``data`` books (``Problem`` if the API refuses it)."""
    return booking.order_of(_shipment_row(data))


def cod_receipt(data: CreateShipment) -> ReceiptData:
    """The receipt of the COD the post collects for that shipment (its one line when the catalogue has none)."""
    shipment = _shipment_row(data)
    row = SimpleNamespace(
        id="cod_1",
        shipment_id=shipment.id,
        amount=data.cod_amount,
        **AGENCY,
        **{k: v for k, v in vars(shipment).items() if k.startswith("citizen_")},
        dossier_code=shipment.dossier_code,
        procedure_code=shipment.procedure_code,
    )
    lines = [receipt_parts.cod_line(row.dossier_code, row.amount)]
    return ISSUER.compose(with_collector(collected_on_delivery(row, lines)), 1, AT)


def corrected_receipt(before: ReceiptData, data: ReplaceReceipt, now: datetime) -> ReceiptData:
    """The receipt replacing ``before`` with the correction ``data`` (its fee codes taken as in the catalogue)."""
    catalogue = {x.code: SimpleNamespace(kind=KIND_CODES[x.kind], amount=None) for x in data.lines or []}
    payer = corrections.corrected_payer(before.payer, data)
    lines = corrections.corrected_lines(list(before.lines), data, catalogue)
    related = Related(RelatedKind.REPLACE, before.template, before.series, before.number, before.issued_on)
    return msgspec.structs.replace(before, issued_at=now, payer=payer, lines=lines, related=related)
