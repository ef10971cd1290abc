"""The portal API's receipt messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.kernel import receipt_parts
from gateway.kernel.fees import KIND_CODES
from gateway.kernel.fees import FeeKindName as FeeKind
from gateway.kernel.types import REQUIRED_TEXT, Amount, Code, IdNumber, Name, TaxCode, Text

Reason = Annotated[
    str, Meta(min_length=1, max_length=255, pattern=REQUIRED_TEXT, description="Why, in words the citizen may read")
]


class CollectorOut(msgspec.Struct):
    name: str
    tax_code: str
    address: str
    treasury_account: str


class ReceiptPayerOut(msgspec.Struct):
    name: str
    id_number: str  # masked: the last four digits only
    tax_code: str
    address: str


class ReceiptLineOut(msgspec.Struct):
    kind: FeeKind
    code: str
    name: str
    amount: int


class ReceiptOut(msgspec.Struct):
    id: str
    status: Literal["issued", "cancelled"]
    source_type: Literal["payment", "cod"]
    source_id: str
    dossier_code: str
    template: str
    series: str
    number: int
    issued_at: datetime
    lookup_code: str
    lookup_url: str
    payment_method: str
    collector: CollectorOut
    payer: ReceiptPayerOut
    lines: list[ReceiptLineOut]
    total: int
    total_in_words: str
    replaces_id: str | None
    replaced_by_id: str | None
    cancel_reason: str
    cancelled_at: datetime | None
    xml_url: str
    pdf_url: str


class ReceiptPage(msgspec.Struct):
    data: list[ReceiptOut]
    next_cursor: str | None


class CancelReceipt(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class PayerCorrection(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    id_number: IdNumber = ""
    tax_code: TaxCode = ""
    address: Text = ""

    def __post_init__(self) -> None:
        receipt_parts.payer(self.name, self.id_number, self.tax_code, self.address)  # what the receipt can carry


class LineCorrection(msgspec.Struct, forbid_unknown_fields=True):
    kind: FeeKind
    code: Code
    name: Name
    amount: Amount

    def __post_init__(self) -> None:
        receipt_parts.line(KIND_CODES[self.kind], self.code, self.name, self.amount)  # what the receipt can carry


class ReplaceReceipt(msgspec.Struct, forbid_unknown_fields=True):
    """A corrected receipt: left-out parts are copied from the original; the total collected cannot change."""

    reason: Reason
    payer: PayerCorrection | None = None
    lines: Annotated[list[LineCorrection], Meta(min_length=1, max_length=50)] | None = None
