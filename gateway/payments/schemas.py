"""The portal API's payment messages. Field constraints here are the first line of validation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

MAX_AMOUNT = 1_000_000_000_000  # one trillion đồng: far above any fee; catches unit mistakes

Amount = Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description="Whole đồng, positive")]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/\-]+$")]
Name = Annotated[str, Meta(min_length=1, max_length=255)]
Text = Annotated[str, Meta(max_length=255)]
Url = Annotated[str, Meta(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")]
FeeKind = Literal["phi", "le_phi"]
IdNumber = Annotated[str, Meta(pattern=r"^(\d{9}|\d{12})?$", description="CCCD (12 digits) or CMND (9 digits)")]
TaxCode = Annotated[str, Meta(pattern=r"^(\d{10}|\d{10}-\d{3})?$")]
Ip = Annotated[str, Meta(max_length=45, pattern=r"^[0-9A-Fa-f:.]*$")]

KIND_CODES: dict[str, int] = {"phi": 1, "le_phi": 2}
KIND_NAMES: dict[int, str] = {v: k for k, v in KIND_CODES.items()}


class FeeLineIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: FeeKind
    code: Code
    name: Name
    amount: Amount


class PayerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    id_number: IdNumber = ""
    tax_code: TaxCode = ""
    address: Text = ""
    province: Annotated[str, Meta(max_length=100)] = ""
    email: Annotated[str, Meta(max_length=255, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")] = ""
    phone: Annotated[str, Meta(max_length=20, pattern=r"^[0-9+ ]*$")] = ""


class CreatePayment(msgspec.Struct, forbid_unknown_fields=True):
    dossier_code: Code
    procedure_code: Code
    agency_code: Code
    fees: Annotated[list[FeeLineIn], Meta(min_length=1, max_length=50)]
    total: Amount
    payer: PayerIn
    return_url: Url
    description: Text = ""
    bank_code: Annotated[str, Meta(max_length=16, pattern=r"^[A-Z0-9]*$")] = ""
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
