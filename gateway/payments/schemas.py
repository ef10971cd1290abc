"""The portal API's payment messages: field types from ``gateway.kernel.types``, checked as their receipt will be."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.kernel import receipt_parts
from gateway.kernel.fees import KIND_CODES, FeeKindName
from gateway.kernel.types import Amount, BankCode, Code, Email, IdNumber, Ip, Name, Phone, Province, TaxCode, Text, Url

FeeKind = FeeKindName


class FeeLineIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: FeeKind
    code: Code
    name: Name
    amount: Amount

    def __post_init__(self) -> None:
        receipt_parts.line(KIND_CODES[self.kind], self.code, self.name, self.amount)  # what its receipt line can carry


class PayerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    id_number: IdNumber = ""
    tax_code: TaxCode = ""
    address: Text = ""
    province: Province = ""
    email: Email = ""
    phone: Phone = ""

    def __post_init__(self) -> None:
        receipt_parts.payer(self.name, self.id_number, self.tax_code, self.address)  # what its receipt can carry


class CreatePayment(msgspec.Struct, forbid_unknown_fields=True):
    dossier_code: Code
    procedure_code: Code
    agency_code: Code
    fees: Annotated[list[FeeLineIn], Meta(min_length=1, max_length=50)]
    total: Amount
    payer: PayerIn
    return_url: Url
    description: Text = ""
    bank_code: BankCode = ""
    client_ip: Ip = ""
    language: Literal["vi", "en"] = "vi"
    expires_in: Annotated[int, Meta(ge=1, le=30 * 86400, description="Seconds the citizen has to pay")] | None = None


class CreateRefund(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount
    reason: Name


class CancelPayment(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text = ""


class FeeLineOut(msgspec.Struct):
    kind: FeeKind
    code: str
    name: str
    amount: int


class PayerOut(msgspec.Struct):
    name: str
    id_number: str
    address: str
    province: str


class RefundOut(msgspec.Struct):
    id: str
    payment_id: str
    amount: int
    reason: str
    status: Literal["pending", "processing", "succeeded", "failed", "unknown"]
    created_at: datetime
    completed_at: datetime | None


class PaymentOut(msgspec.Struct):
    id: str
    status: Literal["created", "pending", "paid", "partially_refunded", "refunded", "failed", "cancelled", "expired"]
    status_reason: str
    dossier_code: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    reference: str
    amount: int
    currency: str
    fees: list[FeeLineOut]
    payer: PayerOut
    description: str
    return_url: str
    checkout_url: str | None
    expires_at: datetime
    paid_at: datetime | None
    paid_amount: int
    refunded_amount: int
    hub_transaction_id: str | None
    bank_code: str
    refunds: list[RefundOut]
    created_at: datetime
    updated_at: datetime


class PaymentPage(msgspec.Struct):
    data: list[PaymentOut]
    next_cursor: str | None
